"""Parse and check command-line flag values: a bad flag is an InputError (exit 2) naming the flag,
raised before anything is built or any cluster is contacted."""

from __future__ import annotations

from orchestrator.errors import InputError


def number(flag: str, value: object, default: float, *, minimum: float = 0.0, integer: bool = False) -> float:
    """`value` as a number >= minimum (None: the default)."""
    if value is None or value == "":
        return default
    try:
        parsed = float(str(value))
    except ValueError:
        raise InputError(
            f"--{flag} takes a number, got {str(value)[:40]!r}", f"for example --{flag} {default:g}"
        ) from None
    if parsed != parsed or parsed < minimum or (integer and not parsed.is_integer()):
        kind = "a whole number" if integer else "a number"
        raise InputError(
            f"--{flag} must be {kind} >= {minimum:g}, got {str(value)[:40]!r}", f"for example --{flag} {default:g}"
        )
    return parsed


def choice(flag: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    if value is None or value in allowed:
        return value
    raise InputError(
        f"--{flag} must be one of {', '.join(allowed)}, got {value[:40]!r}", f"for example --{flag} {allowed[0]}"
    )
