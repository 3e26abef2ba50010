"""What the user asked for: flags, the process environment and the env file, read strictly.

envfile   the strict .env parser (file:line errors that never echo a value)
config    Settings and load_settings()
flags     parsing of command-line values (sizes, durations, KEY=VALUE)
defaults  the defaults of the command-line options (timeouts, the image budget)
keys      the secret keys
"""
