from __future__ import annotations

from django import forms

from apps.core.forms import PlainIntegerField
from apps.exchanges.selectors import accounts_for
from apps.strategies.selectors import strategies_for
from apps.webhooks.domain.access import parse_allowlist
from apps.webhooks.models import (
    DUPLICATE_WINDOW_DEFAULT,
    DUPLICATE_WINDOW_MAX,
    MAX_LAG_MAX,
    RATE_LIMIT_MAX,
    TRADINGVIEW_IPS,
    Signal,
    WebhookRoute,
)

SAVED_MASK = "•••••••• saved — leave blank to keep"


class RouteForm(forms.Form):
    label = forms.CharField(max_length=60)
    account = forms.ModelChoiceField(queryset=None, help_text="The exchange account it trades.")
    strategy = forms.ModelChoiceField(
        queryset=None,
        help_text="What a signal does: sizing, DCA grid, take-profit mode, pyramid limit.",
    )
    secret = forms.CharField(
        label="Body secret",
        required=False,
        strip=True,
        max_length=200,
        help_text='Optional: JSON bodies must then carry it as "secret" (plain-text alerts '
        "cannot). Never shown again after saving; bodies are stored with it replaced by ***.",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    clear_secret = forms.BooleanField(label="Remove the saved secret", required=False)
    ip_allowlist = forms.CharField(
        label="IP allowlist",
        required=False,
        initial=TRADINGVIEW_IPS,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Addresses or networks, one per line; empty accepts any address. "
        "Pre-filled with TradingView's four webhook addresses.",
    )
    max_lag_seconds = PlainIntegerField(
        label="Max lag (seconds)",
        min_value=0,
        max_value=MAX_LAG_MAX,
        initial=300,
        help_text="A signal older than this (from its timenow, else its arrival) is not acted "
        "on; 0 turns the check off.",
    )
    rate_limit_per_minute = PlainIntegerField(
        label="Rate limit (per minute)",
        min_value=0,
        max_value=RATE_LIMIT_MAX,
        initial=60,
        help_text="More requests in one minute are refused with 429; 0 means no limit.",
    )
    duplicate_window_seconds = PlainIntegerField(
        label="Duplicate window (seconds)",
        min_value=1,
        max_value=DUPLICATE_WINDOW_MAX,
        initial=DUPLICATE_WINDOW_DEFAULT,
        help_text="The same body without an id or a timenow within this time is a resend and "
        "is answered duplicate; after it, the alert fired again and is a new signal. "
        "TradingView resends only after an error, 3 times at most, 5 s apart.",
    )

    def __init__(self, *args, owner, route: WebhookRoute | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = accounts_for(owner)
        self.fields["strategy"].queryset = strategies_for(owner)
        if route is None:
            del self.fields["clear_secret"]
        elif route.secret:
            self.fields["secret"].widget.attrs["placeholder"] = SAVED_MASK
            self.fields["secret"].label = "New body secret"
        else:
            del self.fields["clear_secret"]

    def clean_ip_allowlist(self) -> str:
        value = self.cleaned_data["ip_allowlist"].strip()
        try:
            parse_allowlist(value)
        except ValueError as problem:
            raise forms.ValidationError(f"{problem}.") from None
        return value


class SignalFilterForm(forms.Form):
    route = forms.ModelChoiceField(queryset=None, required=False, empty_label="All routes")
    status = forms.ChoiceField(
        choices=[("", "All statuses"), *Signal.Status.choices], required=False
    )

    def __init__(self, *args, owner, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["route"].queryset = WebhookRoute.objects.filter(owner=owner).order_by("label")
