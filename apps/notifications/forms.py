from __future__ import annotations

from django import forms

from apps.notifications import catalog
from apps.notifications.models import Destination

SAVED_MASK = "•••••••• saved — leave blank to keep"


class DestinationForm(forms.Form):
    kind = forms.ChoiceField(choices=Destination.Kind.choices, label="Send to")
    label = forms.CharField(max_length=60)
    email_address = forms.EmailField(
        required=False, help_text="Email only. Empty: your login's address."
    )
    discord_webhook_url = forms.CharField(
        required=False,
        label="Discord webhook URL",
        help_text="Discord only. Server settings → Integrations → Webhooks → Copy webhook URL.",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    event_kinds = forms.MultipleChoiceField(
        choices=[(kind, label) for kind, (label, _) in catalog.NOTIFIABLE.items()],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Notify me of",
        initial=catalog.DEFAULT_KINDS,
    )

    def __init__(self, *args, destination: Destination | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if destination is not None:
            del self.fields["kind"]  # an email destination does not become a Discord one
            if destination.discord_webhook_url:
                self.fields["discord_webhook_url"].widget.attrs["placeholder"] = SAVED_MASK
