"""What the ticket is doing: which trade it shows, and what the trader may do with it."""

from __future__ import annotations

from dataclasses import dataclass

from apps.core.templatetags.money import plain
from apps.positions.models import PositionGroup
from apps.tickets.models import Trade, TradeRevision


@dataclass(frozen=True)
class TicketState:
    """Which trade the ticket shows, and what the trader may do with it.

    new: a fresh ticket. edit: a Draft, Saved or Rejected trade, changed in place. running: an
    Active/Pending or Open trade, read-only until Modify. modify: a running trade's next
    revision being edited. error: a trade that needs attention; read-only, and one still
    holding a position may be closed at market. copy: a finished trade's values; saving makes
    a new ticket.
    """

    mode: str
    trade: Trade | None = None

    @classmethod
    def of(cls, trade: Trade | None) -> TicketState:
        if trade is None:
            return cls("new")
        if trade.is_editable:
            return cls("edit", trade)
        if trade.is_running:
            return cls("modify" if trade.next_revision_id else "running", trade)
        if trade.status == Trade.Status.ERROR:
            return cls("error", trade)
        return cls("copy", trade)

    @property
    def editing(self) -> Trade | None:
        """The trade the ticket's actions apply to (posted as `trade`)."""
        return self.trade if self.mode in ("edit", "running", "modify", "error") else None

    @property
    def revision(self) -> TradeRevision | None:
        if self.trade is None:
            return None
        return self.trade.next_revision if self.mode == "modify" else self.trade.revision

    @property
    def locked(self) -> bool:
        return self.mode in ("running", "error")

    @property
    def can_save(self) -> bool:
        return self.mode in ("new", "edit", "modify", "copy")

    can_activate = can_save

    @property
    def can_modify(self) -> bool:
        return self.mode == "running"

    @property
    def can_cancel(self) -> bool:
        if self.mode == "error":
            return holds_position(self.trade)  # Cancel offers to close it at market
        return self.mode in ("edit", "running", "modify")

    @property
    def can_discard(self) -> bool:
        return self.mode == "modify"

    @property
    def notice(self) -> str:
        trade = self.trade
        if trade is None:
            return ""
        if self.mode == "modify":
            return (
                f"Editing revision {trade.next_revision.number}; revision "
                f"{trade.revision.number} keeps running until you Activate."
            )
        if self.mode == "running":
            return (
                f"Revision {trade.revision.number} is running. Modify to edit a new revision; it "
                "takes over only when you Activate it."
            )
        if self.mode == "error":
            held = (
                f" It still holds {plain(trade.position.quantity)} {trade.symbol}: Cancel offers "
                "to close it at market."
                if holds_position(trade)
                else ""
            )
            return f"Trade #{trade.pk} needs attention: its timeline says why.{held}"
        if self.mode == "copy":
            return (
                f"Trade #{trade.pk} is {trade.get_status_display().lower()}. Save or Activate "
                "makes a new ticket from these values."
            )
        if trade.status == Trade.Status.REJECTED:
            return "Activation was refused: fix what is marked, then Activate again."
        return ""


def holds_position(trade: Trade | None) -> bool:
    """A trade whose position is still open (buying, holding, or in error holding what it
    bought): closed at market, not cancelled."""
    if trade is None or trade.status not in (Trade.Status.OPEN, Trade.Status.ERROR):
        return False
    position = trade.position_or_none
    return position is not None and position.status in PositionGroup.POOL


@dataclass(frozen=True)
class Notice:
    text: str
    level: str = "info"  # info, success, warning, error
