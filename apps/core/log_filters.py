"""The Logs page's filters and page cursor, read from the query string.

Filters are GET parameters, so a filtered view is a link. A value that cannot be used (an
unknown level, a date that is not one, another user's account, a broken cursor) is dropped
with a sentence saying so; the other filters still apply. Nothing here ever raises on input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django import forms
from django.http import QueryDict

from apps.core.events import CATEGORIES
from apps.core.forms import object_id
from apps.core.keyset import PAGE_SIZE, Cursor, LogFilters
from apps.core.models import Event
from apps.core.scoping import owned

# `positions.positiongroup:12`: a model label and the subject's id, as record_event writes them.
_SUBJECT = re.compile(r"[a-z][a-z0-9_]{0,30}\.[a-z][a-z0-9_]{0,30}:[A-Za-z0-9_-]{1,64}", re.ASCII)
FILTER_PARAMS = ("level", "category", "account", "symbol", "object", "from", "to", "q")


class _AccountChoice(forms.ModelChoiceField):
    """The trader's own account by id; `٣`, `1e9` or 5 000 nines never reach a query."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        pk = object_id(value)
        if pk is None:
            raise forms.ValidationError(self.error_messages["invalid_choice"], "invalid_choice")
        return super().to_python(pk)


class LogFilterForm(forms.Form):
    level = forms.ChoiceField(
        required=False,
        choices=[("", "Any level"), *Event.Level.choices],
        error_messages={"invalid_choice": "There is no level “%(value)s”."},
    )
    category = forms.ChoiceField(
        required=False,
        choices=[("", "Anything"), *sorted(CATEGORIES.items(), key=lambda item: item[1])],
        error_messages={"invalid_choice": "There is no category “%(value)s”."},
    )
    account = _AccountChoice(
        required=False,
        queryset=None,
        empty_label="All accounts",
        error_messages={"invalid_choice": "That account is not one of yours."},
    )
    symbol = forms.CharField(required=False, max_length=64, label="Symbol")
    object = forms.CharField(
        required=False,
        max_length=100,
        label="Object",
        help_text="Set by a link “all events of this …”.",
    )
    q = forms.CharField(required=False, max_length=200, label="Search messages")

    def __init__(self, data: QueryDict, *, user) -> None:
        super().__init__(data)
        account_model = Event._meta.get_field("account").related_model
        self.fields["account"].queryset = owned(account_model, user, owner_field="owner")
        # "from" and "to" are Python keywords, so these two are added by name.
        self.fields["from"] = forms.DateField(
            required=False,
            label="From (UTC)",
            widget=forms.DateInput(attrs={"type": "date"}),
            error_messages={"invalid": "“From” is not a date (use YYYY-MM-DD)."},
        )
        self.fields["to"] = forms.DateField(
            required=False,
            label="To (UTC)",
            widget=forms.DateInput(attrs={"type": "date"}),
            error_messages={"invalid": "“To” is not a date (use YYYY-MM-DD)."},
        )
        self.order_fields(["q", "level", "category", "account", "symbol", "from", "to", "object"])

    def clean_object(self) -> str:
        value = self.cleaned_data["object"].strip()
        if value and not _SUBJECT.fullmatch(value):
            raise forms.ValidationError("That object link is not one the desk makes.")
        return value

    def clean(self):
        data = super().clean()
        start, end = data.get("from"), data.get("to")
        if start and end and start > end:
            self.add_error("to", "“To” is before “From”.")
            data.pop("to", None)
        for name in ("from", "to"):
            day = data.get(name)
            if day is not None and not date(1970, 1, 2) <= day <= date(9998, 12, 31):
                self.add_error(name, f"“{self.fields[name].label}” is out of range.")
        return data

    def filters(self) -> LogFilters:
        """The filters that could be read (call after `is_valid`); bad ones are left out."""
        data = self.cleaned_data
        subject_type, _, subject_id = (data.get("object") or "").partition(":")
        start, end = data.get("from"), data.get("to")
        return LogFilters(
            level=data.get("level") or "",
            category=data.get("category") or "",
            account=data.get("account"),
            symbol=(data.get("symbol") or "").strip().upper(),
            subject_type=subject_type,
            subject_id=subject_id,
            since=datetime.combine(start, time.min, tzinfo=UTC) if start else None,
            until=datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC) if end else None,
            text=(data.get("q") or "").strip(),
        )

    def problems(self) -> list[str]:
        """One sentence per filter that was dropped."""
        return [
            f"{message} That filter is ignored."
            for errors in self.errors.values()
            for message in errors
        ]


@dataclass
class LogQuery:
    """What the page was asked for: its form (to render), the usable filters, the cursor and
    the direction ("before": older rows, "after": newer rows), and what was ignored."""

    form: LogFilterForm
    filters: LogFilters
    cursor: Cursor | None
    direction: str
    problems: list[str]

    def params(self, **changes: str) -> str:
        """The query string of the usable filters, with `changes` (a cursor; an empty value
        drops that parameter)."""
        query = QueryDict(mutable=True)
        for name in FILTER_PARAMS:
            if self.form.cleaned_data.get(name) not in (None, "") and self.form.data.get(name):
                query[name] = self.form.data[name]
        for name, value in changes.items():
            query.pop(name, None)
            if value:
                query[name] = value
        return query.urlencode()


def read_query(query: QueryDict, *, user) -> LogQuery:
    """The Logs page's request, from its query string; never raises."""
    form = LogFilterForm(query, user=user)
    form.is_valid()
    problems = form.problems()
    cursor, direction = None, ""
    for name in ("before", "after"):
        raw = query.get(name)
        if raw:
            cursor = Cursor.parse(raw)
            direction = name if cursor else ""
            if cursor is None:
                problems.append(
                    "That page link is broken or out of date: showing the newest events."
                )
            break
    return LogQuery(form, form.filters(), cursor, direction, problems)


__all__ = ["PAGE_SIZE", "Cursor", "LogFilterForm", "LogFilters", "LogQuery", "read_query"]
