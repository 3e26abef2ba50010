"""The run frame every task goes through: events (human and JSON), phases, interrupts.

events      Reporter and the JSON sink; the event contract is events.schema.json
console     the human renderer (rich): live progress on a terminal, plain lines otherwise
phases      PhaseClock: named phases and their times
interrupts  Ctrl-C handling: a first interrupt stops gracefully, a second at once
frame       run_task(): reporter, clock, guard and settings around one task body; one run.finished
"""
