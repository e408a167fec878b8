"""Form fields for numbers a person types, read by the one bounded parser (`apps.core.numbers`).

Django's own DecimalField and IntegerField read `1_000`, `٣` and `1e999999999` (Python's
`Decimal` and `int` do), and an IntegerField without a maximum takes any bigint. These fields
accept plain notation within the field's bounds and say which bound a value broke. Surrounding
spaces are trimmed, as in every Django text field; spaces inside a number are refused.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.forms import formsets
from django.utils.functional import cached_property

from apps.core.numbers import (
    BIGINT_MAX,
    MAX_PLACES,
    Bounds,
    NumberError,
    parse_decimal,
    parse_int,
)

# Below the 18 integer digits a MoneyField stores.
MONEY_MAX = Decimal(10**15)


class PlainDecimalField(forms.CharField):
    def __init__(
        self,
        *,
        min_value: Decimal | int | None = None,
        max_value: Decimal | int | None = None,
        decimal_places: int = MAX_PLACES,
        max_digits: int | None = None,  # given by a model DecimalField; the bounds rule here
        **kwargs,
    ) -> None:
        self.bounds = Bounds(
            minimum=None if min_value is None else Decimal(min_value),
            maximum=None if max_value is None else Decimal(max_value),
            places=decimal_places,
        )
        kwargs.setdefault(
            "widget", forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})
        )
        super().__init__(**kwargs)

    def to_python(self, value):
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        try:
            return parse_decimal(text, field=_name(self), bounds=self.bounds)
        except NumberError as error:
            raise forms.ValidationError(str(error), code="number") from None


class PlainIntegerField(forms.CharField):
    def __init__(self, *, min_value: int = 0, max_value: int = BIGINT_MAX, **kwargs) -> None:
        self.min_value, self.max_value = min_value, max_value
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "numeric"}))
        super().__init__(**kwargs)

    def to_python(self, value):
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        try:
            return parse_int(
                text, field=_name(self), minimum=self.min_value, maximum=self.max_value
            )
        except NumberError as error:
            raise forms.ValidationError(str(error), code="number") from None


# More rows than any page of the desk shows; Django caps a formset at 1000 itself.
MAX_FORMSET_ROWS = 1000


def _row_count(required: bool = True) -> PlainIntegerField:
    return PlainIntegerField(
        required=required, max_value=MAX_FORMSET_ROWS, widget=forms.HiddenInput
    )


class PlainManagementForm(formsets.ManagementForm):
    """A formset's row counts through the bounded parser: Django's own reads `٣` as 3 rows,
    `1_0` as 10 and a negative count as none at all."""

    TOTAL_FORMS = _row_count()
    INITIAL_FORMS = _row_count()
    MIN_NUM_FORMS = _row_count(required=False)
    MAX_NUM_FORMS = _row_count(required=False)


class PlainFormSet(forms.BaseFormSet):
    """A formset whose row counts are read by PlainManagementForm; a bad count is one
    message, not Django's note about tampering and bug reports."""

    default_error_messages = {
        "missing_management_form": "The row count of this form is not valid; reload the page "
        "and try again."
    }

    @cached_property
    def management_form(self) -> PlainManagementForm:
        if self.is_bound:
            form = PlainManagementForm(
                self.data, auto_id=self.auto_id, prefix=self.prefix, renderer=self.renderer
            )
            form.full_clean()
            return form
        initial = {
            formsets.TOTAL_FORM_COUNT: self.total_form_count(),
            formsets.INITIAL_FORM_COUNT: self.initial_form_count(),
            formsets.MIN_NUM_FORM_COUNT: self.min_num,
            formsets.MAX_NUM_FORM_COUNT: self.max_num,
        }
        return PlainManagementForm(
            auto_id=self.auto_id, prefix=self.prefix, initial=initial, renderer=self.renderer
        )


def object_id(raw: object) -> int | None:
    """An id a page sent back (a query string, a hidden field, a select): the row's pk, or
    None when it is not one. `str.isdigit()` is true of `²` and `٣`, and `int()` of 5 000
    nines raises; neither may reach a query."""
    try:
        return parse_int(raw, field="id", minimum=1)
    except NumberError:
        return None


def integer_limits(model_field: models.IntegerField) -> tuple[int, int]:
    """The narrowest range a model integer field's validators allow (its own Min/Max
    validators and the column's range, which Django adds), within the bigint."""
    minimum, maximum = -BIGINT_MAX - 1, BIGINT_MAX
    for validator in model_field.validators:
        if isinstance(validator, MinValueValidator):
            minimum = max(minimum, int(validator.limit_value))
        elif isinstance(validator, MaxValueValidator):
            maximum = min(maximum, int(validator.limit_value))
    return minimum, maximum


def plain_numbers(model_field: models.Field, **kwargs) -> forms.Field | None:
    """A ModelForm's `formfield_callback` (and the admin's): an integer model field becomes a
    PlainIntegerField within its validators, so `1_000`, `٣` and a bigint are refused with the
    field's bound rather than read by `int()`. Money is a PlainDecimalField already
    (`MoneyField.formfield`); every other field keeps its own form field."""
    plain_integer = (
        isinstance(model_field, models.IntegerField)
        and not isinstance(model_field, models.AutoField)
        and not model_field.choices
    )
    if not plain_integer:
        return model_field.formfield(**kwargs)
    minimum, maximum = integer_limits(model_field)
    kwargs = {"min_value": minimum, "max_value": maximum, **kwargs, "form_class": PlainIntegerField}
    return model_field.formfield(**kwargs)


def _name(field: forms.Field) -> str:
    return str(field.label) if field.label else "This value"
