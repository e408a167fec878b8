from decimal import Decimal

import pytest

from apps.core.templatetags.money import plain


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("0.001230000000000000"), "0.00123"),
        (Decimal("10000.000000000000000000"), "10000"),
        (Decimal("1E+3"), "1000"),
        (Decimal("0.00000001"), "0.00000001"),
        (Decimal("-2.50"), "-2.5"),
        (None, ""),
    ],
)
def test_decimals_show_exactly_without_exponent_or_trailing_zeros(value, shown):
    assert plain(value) == shown


def render(source: str, **context) -> str:
    from django.template import Context, Template

    return Template(source).render(Context(context))


def test_the_filters_write_prices_and_amounts_on_the_market_with_its_units():
    from apps.core.formatting import MarketFormat

    market = MarketFormat.of_symbol("SOL/USDT", tick=Decimal("0.01"), step=Decimal("0.001"))
    html = render(
        "{{ p|price:m }} · {{ q|amount:m }} · {{ p|price }} · {{ p|price:tick }}",
        p=Decimal("156.043946684005"),
        q=Decimal("1.235"),
        m=market,
        tick=Decimal("0.5"),
    )
    assert html == "156.04 USDT · 1.235 SOL · 156.04394668 · 156.0"


def test_the_filters_write_quote_values_pnl_and_percentages(settings):
    settings.QUOTE_PLACES = 2
    html = render(
        "{{ v|quote:'USDT' }} · {{ loss|signed:'USDT' }} <{{ loss|tone }}> · {{ c|pct }}"
        " · {{ c|change }} · {{ none|quote:'USDT' }}",
        v=Decimal("10001.4509751616"),
        loss=Decimal("-3.1"),
        c=Decimal("1.2"),
        none=None,
    )
    assert html == "10,001.45 USDT · \u22123.10 USDT <loss> · 1.20 % · +1.20 % · –"
    settings.QUOTE_PLACES = 4
    assert render("{{ v|quote:'USDT' }}", v=Decimal("1.23456")) == "1.2346 USDT"


def test_the_desk_library_is_the_same_filters():
    assert render("{% load desk %}{{ v|signed:'USDT' }}", v=Decimal("2")) == "+2.00 USDT"
