"""ISO 8601 durations (`PT30S`, `PT4H`, `P2D`, `P1DT12H`), as the contract uses them."""

from __future__ import annotations

import re
from datetime import timedelta

from segments.errors import SegmentError

_DURATION = re.compile(
    r"^P(?!$)(?:(?P<weeks>\d+(?:\.\d+)?)W)?(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


class DurationError(SegmentError, ValueError):
    """A string that is not an ISO 8601 duration this engine understands."""


def parse_duration(text: str) -> timedelta:
    """Parse `PnWnDTnHnMnS` (years and months are refused: their length is ambiguous)."""
    match = _DURATION.match(text.strip().upper()) if isinstance(text, str) else None
    if match is None:
        raise DurationError(
            f"'{text}' is not an ISO 8601 duration; write e.g. 'PT30S', 'PT4H', 'P2D' or 'P1DT12H'"
        )
    parts = {name: float(value) for name, value in match.groupdict().items() if value is not None}
    return timedelta(**parts)


def format_duration(value: timedelta) -> str:
    """The shortest ISO 8601 form of a duration (`PT1H30M`)."""
    total = int(value.total_seconds())
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    out = "P" + (f"{days}D" if days else "")
    clock = (
        (f"{hours}H" if hours else "")
        + (f"{minutes}M" if minutes else "")
        + (f"{seconds}S" if seconds else "")
    )
    if clock or not days:
        out += "T" + (clock or "0S")
    return out
