"""The execution pool: how many positions an account may hold open, and how many it holds.

Every position in the pool counts, whatever opened it (a ticket's entry or a signal). How the
pool counts (pyramids too, or positions only) and how long an entry may wait for a slot are the
queue's settings: the engine asks for them through `hooks.pool_rules`, which the queue answers
(without it: positions only, no waiting).
"""

from __future__ import annotations

from dataclasses import dataclass

from apps.exchanges.models import ExchangeAccount
from apps.positions.models import PositionGroup, Pyramid
from apps.positions.services import hooks


@dataclass(frozen=True)
class PoolRules:
    pyramids_count: bool = False  # every pyramid takes a slot, not only each position
    expiry_minutes: int = 0  # how long a queued entry may wait (0: it is not queued)


@dataclass(frozen=True)
class Pool:
    """An account's pool: its size, what holds a slot now, and how the queue behaves."""

    account_id: int
    size: int
    used: int
    pyramids_count: bool
    expiry_minutes: int

    @property
    def free(self) -> int:
        # Never negative: a cap lowered below what is open leaves none until enough close.
        return max(self.size - self.used, 0)

    @property
    def is_full(self) -> bool:
        return self.free == 0


def pool_of(account: ExchangeAccount) -> Pool:
    """The account's pool now. Under the account's row lock (the signal, ticket-entry and
    promotion services hold it) the count cannot go stale before the caller acts on it."""
    rules = hooks.pool_rules.ask(account=account) or PoolRules()
    holding = PositionGroup.objects.filter(account_id=account.pk, status__in=PositionGroup.POOL)
    if rules.pyramids_count:
        used = Pyramid.objects.filter(group__in=holding).count()
    else:
        used = holding.count()
    return Pool(
        account_id=account.pk,
        size=account.max_open_groups,
        used=used,
        pyramids_count=rules.pyramids_count,
        expiry_minutes=rules.expiry_minutes,
    )
