"""The pool's settings form on the Queue & Pool page."""

from __future__ import annotations

from django import forms

from apps.core.forms import PlainIntegerField
from apps.exchanges.models import MAX_POOL_SIZE, ExchangeAccount
from apps.trade_queue.models import MAX_EXPIRY_MINUTES, PoolSettings


class PoolSettingsForm(forms.Form):
    max_open_groups = PlainIntegerField(
        label="Pool size (max open groups)",
        min_value=1,
        max_value=MAX_POOL_SIZE,
        help_text="Position groups signals may hold open at once on this account.",
    )
    pyramids_count = forms.BooleanField(
        label="Pyramid adds count toward the pool",
        required=False,
        help_text="Each add to an open group takes a slot too (and waits in the queue when "
        "the pool is full, ranked first).",
    )
    queue_expiry_minutes = PlainIntegerField(
        label="Queued signals expire after (minutes)",
        min_value=1,
        max_value=MAX_EXPIRY_MINUTES,
        help_text="A queued signal not promoted in this time expires (earlier if its route's "
        "max lag runs out first). Applies to signals queued from now on.",
    )

    def __init__(self, *args, account: ExchangeAccount, pool_settings: PoolSettings, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "max_open_groups": account.max_open_groups,
                "pyramids_count": pool_settings.pyramids_count,
                "queue_expiry_minutes": pool_settings.queue_expiry_minutes,
            },
        )
        kwargs.setdefault("auto_id", f"id_pool{account.pk}_%s")
        super().__init__(*args, **kwargs)
        self.account = account
