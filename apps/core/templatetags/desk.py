"""`{% load desk %}` still works: the number filters are `money`'s (a builtin), one library."""

from __future__ import annotations

from apps.core.templatetags.money import register

__all__ = ["register"]
