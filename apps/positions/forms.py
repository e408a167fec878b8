"""The Positions page's filter: status, account and symbol, from the query string."""

from __future__ import annotations

from django import forms

from apps.exchanges.selectors import accounts_for
from apps.positions.selectors import PositionFilter

STATUS_CHOICES = [("active", "Open"), ("closed", "Closed"), ("all", "All")]


class PositionFilterForm(forms.Form):
    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False)
    account = forms.ModelChoiceField(queryset=None, required=False, empty_label="All accounts")
    symbol = forms.CharField(max_length=40, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = accounts_for(user)

    def position_filter(self) -> PositionFilter:
        """The filter asked for; a value that does not validate is ignored, not an error."""
        if not self.is_valid():
            return PositionFilter()
        data = self.cleaned_data
        return PositionFilter(
            status=data["status"] or "active",
            account_id=data["account"].pk if data["account"] else None,
            symbol=data["symbol"].strip().upper(),
        )
