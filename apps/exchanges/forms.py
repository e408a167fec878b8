from __future__ import annotations

from django import forms

from apps.core.forms import MONEY_MAX, PlainDecimalField
from apps.exchanges.domain.types import OrderSide, OrderType
from apps.exchanges.models import ExchangeAccount

# What a saved credential looks like in a form: it is never sent back to the browser.
SAVED_MASK = "•••••••• saved — leave blank to keep"


def secret_field(label: str, help_text: str = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        strip=True,
        help_text=help_text,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )


class ExchangeAccountForm(forms.Form):
    label = forms.CharField(max_length=60)
    kind = forms.ChoiceField(label="Exchange")
    sandbox = forms.BooleanField(
        label="Testnet / demo",
        required=False,
        help_text="Trade on the exchange's test environment.",
    )
    quote_currency = forms.CharField(max_length=12, initial="USDT")
    api_key = secret_field("API key")
    api_secret = secret_field("API secret")
    api_passphrase = secret_field("API passphrase", "OKX only.")

    def __init__(
        self, *args, owner, kinds: list[str], account: ExchangeAccount | None = None, **kw
    ):
        super().__init__(*args, **kw)
        self.owner, self.account = owner, account
        self.fields["kind"].choices = [(kind, kind) for kind in kinds]
        if account is not None:
            # The exchange of an existing account is fixed: its markets and orders belong to it.
            del self.fields["kind"]
            for name in ("api_key", "api_secret", "api_passphrase"):
                if account.is_paper:
                    del self.fields[name]  # the paper exchange needs no keys
                elif getattr(account, name):
                    self.fields[name].widget.attrs["placeholder"] = SAVED_MASK
            if account.is_paper:
                del self.fields["sandbox"]

    def clean_label(self) -> str:
        label = self.cleaned_data["label"]
        others = ExchangeAccount.objects.filter(owner=self.owner, label=label)
        if self.account is not None:
            others = others.exclude(pk=self.account.pk)
        if others.exists():
            raise forms.ValidationError("You already have an account with this label.")
        return label

    def clean_quote_currency(self) -> str:
        return self.cleaned_data["quote_currency"].upper()


class OrderPreviewForm(forms.Form):
    symbol = forms.CharField(max_length=40, initial="BTC/USDT")
    side = forms.ChoiceField(choices=[(s.value, s.value) for s in OrderSide])
    type = forms.ChoiceField(choices=[(t.value, t.value) for t in OrderType])
    size = PlainDecimalField(label="Size", min_value=0, max_value=MONEY_MAX)
    size_in = forms.ChoiceField(
        choices=[("base", "base amount"), ("quote", "quote amount")], initial="base"
    )
    price = PlainDecimalField(
        label="Price",
        min_value=0,
        max_value=MONEY_MAX,
        required=False,
        help_text="Limit price; leave empty for a market order at the last price.",
    )

    def clean(self):
        data = super().clean()
        if data.get("type") == OrderType.LIMIT and not data.get("price"):
            self.add_error("price", "A limit order needs a price.")
        return data
