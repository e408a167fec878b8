"""The Performance page's filters: a date range (a preset or custom days, UTC) and an account.

GET parameters, so a view is a link. A value that cannot be used is dropped with a sentence
saying so, and the rest still applies; nothing here raises on input."""

from __future__ import annotations

from datetime import date, timedelta

from django import forms

from apps.core.forms import object_id
from apps.core.scoping import owned
from apps.exchanges.models import ExchangeAccount
from apps.performance.domain.period import Period

RANGES = [
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("90d", "Last 90 days"),
    ("all", "All time"),
    ("custom", "Custom (from / to)"),
]
DAYS = {"7d": 7, "30d": 30, "90d": 90}
DEFAULT_RANGE = "30d"
PARAMS = ("range", "from", "to", "account")


class _AccountChoice(forms.ModelChoiceField):
    """The trader's own account by id; `٣` or 5 000 nines never reach a query."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        pk = object_id(value)
        if pk is None:
            raise forms.ValidationError(self.error_messages["invalid_choice"], "invalid_choice")
        return super().to_python(pk)


class PerformanceFilterForm(forms.Form):
    range = forms.ChoiceField(
        required=False,
        choices=RANGES,
        label="Period",
        error_messages={"invalid_choice": "There is no period “%(value)s”."},
    )
    account = _AccountChoice(
        required=False,
        queryset=ExchangeAccount.objects.none(),
        empty_label="All accounts",
        error_messages={"invalid_choice": "That account is not one of yours."},
    )

    def __init__(self, data, *, user) -> None:
        super().__init__(data)
        self.fields["account"].queryset = owned(ExchangeAccount, user, owner_field="owner")
        # "from" and "to" are Python keywords, so these two are added by name.
        for name, label in (("from", "From (UTC)"), ("to", "To (UTC)")):
            self.fields[name] = forms.DateField(
                required=False,
                label=label,
                widget=forms.DateInput(attrs={"type": "date"}),
                error_messages={"invalid": f"“{label}” is not a date (use YYYY-MM-DD)."},
            )
        self.order_fields(["range", "from", "to", "account"])

    def clean(self):
        data = super().clean()
        start, end = data.get("from"), data.get("to")
        for name in ("from", "to"):
            day = data.get(name)
            if day is not None and not date(1970, 1, 2) <= day <= date(9998, 12, 31):
                self.add_error(name, f"“{self.fields[name].label}” is out of range.")
        if start and end and start > end:
            self.add_error("to", "“To” is before “From”.")
        return data

    def period(self, *, today: date) -> Period:
        """The days asked for (call after `is_valid`). Dates given without a preset mean a
        custom range; no period at all means the last 30 days."""
        data = self.cleaned_data
        start, end = data.get("from"), data.get("to")
        chosen = data.get("range") or ("custom" if start or end else DEFAULT_RANGE)
        # The form shows the period in use: with no period asked for (or one that is not a
        # period), the select would otherwise show its first choice over 30 days of figures.
        self.data = self.data.copy()
        self.data["range"] = chosen
        if chosen == "custom":
            return Period(start, end)
        if chosen == "all":
            return Period(None, None)
        return Period(today - timedelta(days=DAYS[chosen] - 1), today)

    def problems(self) -> list[str]:
        return [
            f"{message} That filter is ignored."
            for errors in self.errors.values()
            for message in errors
        ]
