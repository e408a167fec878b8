"""The Desk's header: the figures a trader checks first (equity, today's PnL, exposure, the
pool, the queue, the guards, the desk's health), live.

Each figure belongs to the app that knows it; core cannot import those apps (they sit above
it), so it offers a hook, `desk_figures`, that each app answers at start-up (in its
`AppConfig.ready`) with its figures for a user. The header is pushed to the user's open pages
after a fill (the engine calls `push_header`) and by the heartbeat, which also carries the
loops' health.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.urls import reverse
from django.utils import timezone

from apps.core.broadcast import broadcast_fragment
from apps.core.hooks import Hook
from apps.core.selectors import loop_statuses

HEADER = "core/desk_header.html"

# Listeners take (user_id, now) and return a list of `Figure`s (or None).
desk_figures = Hook("core.desk_figures")


@dataclass(frozen=True)
class Figure:
    """One figure of the header: `key` is its stable DOM id (`figure-<key>`), `order` its
    place (lower first), `tone` how it reads ("gain", "loss", "warning", "error" or "")."""

    key: str
    label: str
    value: str
    order: int
    detail: str = ""
    tone: str = ""
    url: str = ""
    title: str = ""


def figures_for(*, user_id: int, now: datetime) -> list[Figure]:
    figures = [f for answer in desk_figures.collect(user_id=user_id, now=now) for f in answer]
    return sorted(figures, key=lambda figure: (figure.order, figure.key))


def push_header(user_id: int) -> None:
    """After commit, the user's Desk header, from what was committed."""

    class Figures:
        def __iter__(self):
            return iter(figures_for(user_id=user_id, now=timezone.now()))

    broadcast_fragment(
        user_ids=[user_id],
        template=HEADER,
        context={"figures": Figures(), "oob": True},
        key=f"desk-header-{user_id}",
    )


def health_figures(*, user_id: int, now: datetime) -> list[Figure]:
    """The desk's own health in one line: whether every loop ticks (the Status page has the
    details)."""
    loops = loop_statuses(now=now)
    failing = [loop.name for loop in loops if loop.error]
    stale = [loop.name for loop in loops if loop.stale and not loop.error]
    troubled = failing + stale
    title = ""
    if troubled:
        value = f"{len(troubled)} of {len(loops)} loops need attention"
        # One line on the Desk: the first two by name (failing ones first), the whole list
        # on hover and on the Status page.
        shown = ", ".join(name.split(".")[-1].replace("_", " ") for name in troubled[:2])
        more = len(troubled) - 2
        detail = f"{shown}{f' and {more} more' if more > 0 else ''} · see Status"
        title = ", ".join(troubled)
    else:
        value, detail = "All loops running", f"{len(loops)} loops ticking"
    return [
        Figure(
            key="health",
            label="Desk health",
            value=value,
            detail=detail,
            tone=("error" if failing else "warning") if troubled else "",
            order=90,
            title=title,
            url=reverse("core:status"),
        )
    ]
