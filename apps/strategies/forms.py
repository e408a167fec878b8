"""The strategy page's form: take-profit settings, the pyramid limit and the DCA grid's legs.

Fields arrive as text; the one judge of what is valid is the domain
(`apps.strategies.domain.dca.grid_problems`), whose messages are put on the leg they concern.
"""

from __future__ import annotations

from django import forms

from apps.core.forms import PlainDecimalField, PlainFormSet, PlainIntegerField
from apps.exchanges.selectors import accounts_for
from apps.strategies.domain import dca
from apps.strategies.models import REST_TAKE_PROFIT_HELP, REST_TAKE_PROFIT_LABEL

# Blank rows under the grid, so a leg can be added without JavaScript.
SPARE_ROWS = 3


class StrategyGridForm(forms.Form):
    tp_mode = forms.ChoiceField(
        label="Take-profit mode",
        choices=list(dca.TP_MODE_LABELS.items()),
        help_text="Per leg: each filled leg sells at its fill + its TP %. Aggregate: the whole "
        "group sells at its average entry + the group TP %. Hybrid: both; the first reached acts.",
    )
    group_tp_pct = PlainDecimalField(
        label="Group take profit %", min_value=0, max_value=dca.MAX_TP_PCT, decimal_places=8
    )
    rest_take_profit = forms.BooleanField(
        label=REST_TAKE_PROFIT_LABEL, required=False, help_text=REST_TAKE_PROFIT_HELP
    )
    pyramid_limit = PlainIntegerField(
        label="Pyramid limit",
        min_value=1,
        max_value=dca.MAX_PYRAMID_LIMIT,
        help_text="Entries one group may take; a signal beyond it is rejected.",
    )
    preview_account = forms.ModelChoiceField(
        label="Check against account", queryset=None, required=False, empty_label="(no check)"
    )
    preview_symbol = forms.CharField(label="and symbol", max_length=40, required=False)
    preview_price = PlainDecimalField(
        label="at price",
        required=False,
        min_value=0,
        help_text="Empty: the market's current ask.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["preview_account"].queryset = accounts_for(user)

    def clean_preview_symbol(self) -> str:
        return self.cleaned_data["preview_symbol"].strip().upper()

    def clean_preview_price(self):
        price = self.cleaned_data["preview_price"]
        if price is not None and price <= 0:
            raise forms.ValidationError("A price above 0, or empty for the market's price.")
        return price


class LegForm(forms.Form):
    gap_pct = forms.CharField(label="Gap %", required=False, max_length=40)
    weight_pct = forms.CharField(label="Weight %", required=False, max_length=40)
    tp_pct = forms.CharField(label="TP %", required=False, max_length=40)

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return not any((data.get(name) or "").strip() for name in self.fields)

    def leg(self) -> dict[str, str]:
        return {name: self.cleaned_data[name].strip() for name in self.fields}


class BaseLegFormSet(PlainFormSet):
    # Django reads a negative TOTAL_FORMS as "no rows", which would save an empty grid, and
    # `٣` as 3 rows; the plain management form refuses both.
    default_error_messages = {
        "missing_management_form": "The grid's row count is not valid; reload the page and "
        "try again."
    }


LegFormSet = forms.formset_factory(
    LegForm,
    formset=BaseLegFormSet,
    extra=SPARE_ROWS,
    max_num=dca.MAX_LEGS + SPARE_ROWS,
    validate_max=True,
)


def grid_rows(formset) -> tuple[list[dict[str, str]], list[LegForm]]:
    """The filled rows as raw legs, in order, and the form each came from (blank rows drop)."""
    legs, forms_used = [], []
    for form in formset.forms:
        if form.is_blank():
            continue
        legs.append(form.leg())
        forms_used.append(form)
    return legs, forms_used
