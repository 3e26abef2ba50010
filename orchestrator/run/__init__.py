"""The run frame every task goes through: events (human and JSON), phases, interrupts.

    events      Reporter and its sinks (one JSON object a line, or human lines)
    phases      PhaseClock: named phases, their times, errors mapped to the exit code
    interrupts  Ctrl-C handling: a first interrupt stops gracefully, a second at once
    frame       run_command(): settings, reporter, clock and guard around one task body
"""
