"""Reading one value of a signal: numbers, times and timeframes, each failing with a sentence.
Pure."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from apps.core.numbers import NumberError, parse_decimal, parse_int

MAX_LAG_SECONDS = 86_400  # a day: a longer freshness limit is no limit


class BadValue(ValueError):
    """A field that is present but unusable; the message is the reason a trader reads."""


def decimal_of(name: str, value: Any, *, allow_zero: bool = False) -> Decimal | None:
    """A positive Decimal from a JSON number or string, None when absent. Read by the one
    bounded parser (`apps.core.numbers`), so no literal can cost more than its length."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and "{{" in value:
        raise BadValue(f"{name} is the unfilled placeholder {_short(value.strip())}")
    try:
        number = parse_decimal(value.strip() if isinstance(value, str) else value, field=name)
    except NumberError as error:
        if error.kind == "format":
            raise BadValue(f"{name} {_short(str(value))!r} is not a number") from None
        raise BadValue(str(error).rstrip(".")) from None
    if number < 0 or (number == 0 and not allow_zero):
        raise BadValue(f"{name} must be above zero, not {value}")
    return number


def seconds_of(name: str, value: Any) -> int | None:
    """A whole number of seconds from 0 to a day (a `max_lag`), None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        if "{{" in value:
            raise BadValue(f"{name} is the unfilled placeholder {_short(value.strip())}")
        value = value.strip()
    try:
        return parse_int(value, field=name, maximum=MAX_LAG_SECONDS)
    except NumberError as error:
        raise BadValue(str(error).rstrip(".")) from None


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def time_of(name: str, value: Any) -> datetime | None:
    """An aware UTC time from ISO 8601 (TradingView's `{{timenow}}`, `2024-06-12T14:45:01Z`)
    or Unix seconds / milliseconds; None when absent."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if "{{" in text:
        raise BadValue(f"{name} is the unfilled placeholder {text}")
    if re.fullmatch(r"\d{9,13}(\.\d{1,9})?", text, re.ASCII):
        seconds = Decimal(text)
        if seconds > 10**11:  # milliseconds
            seconds /= 1000
        return datetime.fromtimestamp(float(seconds), tz=UTC)
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)  # TradingView's times are UTC
        # A time at the calendar's edge (9999-12-31 at -14:00) overflows when moved to UTC.
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise BadValue(
            f"{name} {_short(text)!r} is not a time (expected e.g. 2024-06-12T14:45:01Z)"
        ) from None


_TIMEFRAME = re.compile(r"(\d{1,4})([SMHDW]?)|([DWM])", re.IGNORECASE)


def timeframe_of(value: Any) -> str:
    """The timeframe as TradingView writes `{{interval}}` ("15", "60", "240", "1D", "1W"):
    digits are minutes, a bare D/W/M gets its 1, letters are upper-cased. Empty when absent."""
    if value is None:
        return ""
    text = str(value).strip()
    if not text:
        return ""
    if "{{" in text:
        raise BadValue(f"timeframe is the unfilled placeholder {text}")
    match = _TIMEFRAME.fullmatch(text)
    if match is None:
        raise BadValue(f"timeframe {text!r} is not a TradingView interval (15, 60, 1D…)")
    if match.group(3):
        return "1" + match.group(3).upper()
    number, unit = match.group(1), match.group(2)
    if unit.upper() == "M" and unit == "m":  # "15m" means minutes, "1M" a month
        return str(int(number))
    if unit.upper() == "H":
        return str(int(number) * 60)
    return str(int(number)) + unit.upper()


def is_timeframe(token: str) -> bool:
    return _TIMEFRAME.fullmatch(token) is not None and token.upper() not in ("M",)
