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
