"""Model fields shared by every app: money, and secrets encrypted at rest."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from apps.core import crypto
from apps.core.forms import MONEY_MAX, PlainDecimalField


class MoneyField(models.DecimalField):
    """Every price, amount, fee and PnL: exact Decimal, 18 digits either side of the point.

    Wide enough for a SHIB balance and a DOGE tick size alike; floats never touch these values.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", 36)
        kwargs.setdefault("decimal_places", 18)
        super().__init__(*args, **kwargs)

    def formfield(self, **kwargs):
        """The bounded plain-number field (`apps.core.forms`), in ModelForms and the admin
        alike, within this field's Min/MaxValueValidators (below MONEY_MAX at most)."""
        limits = {"min_value": None, "max_value": MONEY_MAX}
        for validator in self.validators:
            if isinstance(validator, MinValueValidator):
                limits["min_value"] = validator.limit_value
            elif isinstance(validator, MaxValueValidator):
                limits["max_value"] = validator.limit_value
        return super().formfield(**{**limits, **kwargs, "form_class": PlainDecimalField})

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if kwargs.get("max_digits") == 36:
            del kwargs["max_digits"]
        if kwargs.get("decimal_places") == 18:
            del kwargs["decimal_places"]
        return name, path, args, kwargs


class EncryptedTextField(models.TextField):
    """A secret stored as a Fernet token; Python code sees the plaintext, the database never does.

    Empty stays empty (no secret set). Never render the value: forms show a mask, the admin
    excludes the field, and events and logs must not include it.
    """

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return crypto.encrypt(value)
