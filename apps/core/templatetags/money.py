"""`{{ value|plain }}`: a Decimal as a trader reads it: exact, no exponent, no trailing zeros."""

from __future__ import annotations

from decimal import Decimal

from django import template

from apps.core import numbers

register = template.Library()


@register.filter
def plain(value) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, Decimal):
        return str(value)
    return numbers.plain(value)
