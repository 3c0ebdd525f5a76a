"""UTC time strings of the scene contract: ISO-8601 with a ``Z``.

The contract writes every time as ``YYYY-MM-DDTHH:MM:SS[.fraction]Z``. We
accept exactly that form (``T`` separator, a ``Z`` suffix, 0 to 9 fraction
digits) and nothing looser: no local offsets, no space separator, no missing
seconds. Python's :class:`~datetime.datetime` holds microseconds, so a
fraction finer than that is rounded to the nearest microsecond (at most
0.5 us, a thousandth of a typical 0.6 ms line interval). Parsed values are
tz-aware datetimes in :data:`datetime.timezone.utc`.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

__all__ = ["parse_utc", "format_utc", "UTC_FORMAT_HINT"]

UTC_FORMAT_HINT = "ISO-8601 UTC with a Z, e.g. \"2026-03-01T05:12:03.000000Z\""

_UTC_RE = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})T(?P<h>\d{2}):(?P<m>\d{2}):(?P<s>\d{2})"
    r"(?:\.(?P<frac>\d{1,9}))?Z"
)


def parse_utc(text: str) -> datetime:
    """Parse a contract time string into a tz-aware UTC datetime.

    Parameters
    ----------
    text : str
        ``YYYY-MM-DDTHH:MM:SS[.f]Z`` with 0 to 9 fraction digits.

    Returns
    -------
    datetime
        Tz-aware (UTC); a fraction finer than a microsecond is rounded.

    Raises
    ------
    ValueError
        If ``text`` is not a string of exactly that form or names no real
        date and time (e.g. month 13, second 60).

    Examples
    --------
    >>> parse_utc("2026-03-01T05:12:03.25Z")
    datetime.datetime(2026, 3, 1, 5, 12, 3, 250000, tzinfo=datetime.timezone.utc)
    """
    if not isinstance(text, str):
        raise ValueError(f"expected a string, got {type(text).__name__} {text!r}")
    match = _UTC_RE.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not {UTC_FORMAT_HINT}")
    try:
        whole = datetime.strptime(
            f"{match['date']}T{match['h']}:{match['m']}:{match['s']}", "%Y-%m-%dT%H:%M:%S"
        ).replace(tzinfo=timezone.utc)
    except ValueError as error:
        raise ValueError(f"{text!r} is not a real date and time ({error})") from None
    frac = match["frac"] or ""
    nanoseconds = int(frac.ljust(9, "0")) if frac else 0
    microseconds = (nanoseconds + 500) // 1000
    return whole + timedelta(microseconds=microseconds)


def format_utc(value: datetime) -> str:
    """Format a tz-aware datetime as the contract writes it (microseconds, ``Z``).

    Parameters
    ----------
    value : datetime
        Tz-aware; converted to UTC first.

    Returns
    -------
    str
        ``YYYY-MM-DDTHH:MM:SS.ffffffZ``; :func:`parse_utc` reads it back exactly.

    Raises
    ------
    ValueError
        If ``value`` is naive (no time zone).

    Examples
    --------
    >>> format_utc(datetime(2026, 3, 1, 5, 12, 3, tzinfo=timezone.utc))
    '2026-03-01T05:12:03.000000Z'
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: give it a time zone (UTC)")
    v = value.astimezone(timezone.utc)
    return (f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:"
            f"{v.second:02d}.{v.microsecond:06d}Z")
