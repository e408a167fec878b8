"""Timeframes as the desk stores them and as traders read them. Pure.

A position keeps its timeframe as its signal wrote it: TradingView's interval ("5", "240":
digits are minutes; "1D", "1W") or ccxt's ("15m", "4h"). Charts need ccxt's form; pages show
the one traders write (5m, 4h, 1D, 1W), never a bare number.
"""

from __future__ import annotations

import re

# ccxt's units, largest first, for turning TradingView's minutes into one.
_AS_CCXT = ((10080, "w"), (1440, "d"), (60, "h"), (1, "m"))


def ccxt_timeframe(stored: str | None) -> str | None:
    """`stored` in ccxt's form ("240" -> "4h", "1D" -> "1d", "15m" stays), or None when it
    is empty or not one a chart can draw (seconds, months, text)."""
    text = (stored or "").strip()
    if re.fullmatch(r"\d+[mhdw]", text) and int(text[:-1]) > 0:
        return text
    if re.fullmatch(r"\d+", text) and int(text) > 0:
        minutes = int(text)
        for size, unit in _AS_CCXT:
            if minutes % size == 0:
                return f"{minutes // size}{unit}"
    match = re.fullmatch(r"(\d+)([DW])", text)
    if match and int(match.group(1)) > 0:
        return f"{int(match.group(1))}{match.group(2).lower()}"
    return None


def timeframe_words(stored: str | None) -> str:
    """How a trader writes it: 5m, 4h, 1D, 1W ("5" and "240" from TradingView included);
    one the desk cannot read is shown as stored."""
    ccxt = ccxt_timeframe(stored)
    if ccxt is None:
        return (stored or "").strip()
    return ccxt.upper() if ccxt[-1] in "dw" else ccxt
