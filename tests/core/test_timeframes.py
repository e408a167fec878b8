"""Timeframes as traders write them (5m, 4h, 1D), from what signals store ("5", "240")."""

from __future__ import annotations

import pytest
from django.template import Context, Template

from apps.core.timeframes import ccxt_timeframe, timeframe_words


@pytest.mark.parametrize(
    ("stored", "words"),
    [
        ("5", "5m"),
        ("15", "15m"),
        ("60", "1h"),
        ("240", "4h"),
        ("1440", "1D"),
        ("1D", "1D"),
        ("1W", "1W"),
        ("10080", "1W"),
        ("15m", "15m"),
        ("4h", "4h"),
        ("1d", "1D"),
        ("90", "90m"),  # not a whole hour: minutes
        ("45S", "45S"),  # seconds: no chart, shown as stored
        ("", ""),
        (None, ""),
    ],
)
def test_a_timeframe_reads_as_traders_write_it(stored, words):
    assert timeframe_words(stored) == words


def test_the_chart_form_is_ccxts_and_none_for_what_a_chart_cannot_draw():
    assert [ccxt_timeframe(t) for t in ("240", "1D", "15m", "0", "1M", "abc")] == [
        "4h",
        "1d",
        "15m",
        None,
        None,
        None,
    ]


def test_the_timeframe_filter_is_in_every_template():
    assert Template("{{ tf|timeframe }}").render(Context({"tf": "240"})) == "4h"
