"""What the user asked for: flags, the process environment and the env file, read strictly.

    envfile   the strict .env parser (file:line errors that never echo a value)
    config    Settings, the one home for defaults and the secret keys; load_settings()
    flags     parsing of command-line values (sizes, durations, KEY=VALUE)
"""
