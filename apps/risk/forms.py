"""The Risk page's form: an account's risk settings. (The kill switch and Resume are confirmed
the way every action that sells or removes is: `apps.core.confirm`.)"""

from __future__ import annotations

from decimal import Decimal

from django import forms

from apps.core.forms import plain_numbers
from apps.risk.models import RiskSettings


class RiskSettingsForm(forms.ModelForm):
    class Meta:
        model = RiskSettings
        # Every number through the bounded parser, within the model fields' validators.
        formfield_callback = plain_numbers
        fields = [
            "enabled",
            "loss_threshold_pct",
            "require_all_pyramids",
            "timer_start",
            "wait_minutes",
            "replacement_resets_timer",
            "min_group_age_minutes",
            "max_winners",
            "shortfall",
            "daily_loss_limit",
            "daily_loss_limit_pct",
            "max_drawdown_pct",
            "max_symbol_exposure_pct",
            "breaker_errors",
            "breaker_window_minutes",
            "breaker_cooldown_minutes",
        ]
        labels = {
            "enabled": "Risk engine on",
            "loss_threshold_pct": "Loss threshold %",
            "require_all_pyramids": "Require all pyramids filled",
            "timer_start": "Timer starts",
            "wait_minutes": "Wait after the timer starts (min)",
            "replacement_resets_timer": "A replacement signal resets the timer",
            "min_group_age_minutes": "Minimum position age (min)",
            "max_winners": "Maximum winners to use",
            "shortfall": "When winners cannot cover the whole loss",
            "daily_loss_limit": "Daily loss limit (quote)",
            "daily_loss_limit_pct": "Daily loss limit %",
            "max_drawdown_pct": "Maximum drawdown %",
            "max_symbol_exposure_pct": "Maximum exposure per symbol %",
            "breaker_errors": "Circuit breaker: errors in a row",
            "breaker_window_minutes": "within (min)",
            "breaker_cooldown_minutes": "pause entries for (min)",
        }

    def clean_loss_threshold_pct(self) -> Decimal:
        value = self.cleaned_data["loss_threshold_pct"]
        if value >= 0 or value <= -100:
            raise forms.ValidationError("A loss threshold is a negative % above -100, e.g. -5.")
        return value

    def _positive(self, name: str, *, at_most: Decimal | None = None) -> Decimal | None:
        value = self.cleaned_data.get(name)
        if value is None:
            return None
        if value <= 0:
            raise forms.ValidationError("Must be above 0 (leave it empty to turn it off).")
        if at_most is not None and value > at_most:
            raise forms.ValidationError(f"Must be at most {at_most}.")
        return value

    def clean_daily_loss_limit(self):
        return self._positive("daily_loss_limit")

    def clean_daily_loss_limit_pct(self):
        return self._positive("daily_loss_limit_pct", at_most=Decimal(100))

    def clean_max_drawdown_pct(self):
        return self._positive("max_drawdown_pct", at_most=Decimal(100))

    def clean_max_symbol_exposure_pct(self):
        return self._positive("max_symbol_exposure_pct", at_most=Decimal(100))

    def clean(self):
        data = super().clean()
        if data.get("breaker_errors") and not data.get("breaker_window_minutes"):
            self.add_error("breaker_window_minutes", "A breaker needs a window of 1 min or more.")
        return data
