"""`{{ value|plain }}`: a Decimal as a trader reads it: exact, no exponent, no trailing zeros."""

from __future__ import annotations

from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def plain(value) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, Decimal):
        return str(value)
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
