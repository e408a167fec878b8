"""The kill -9 drill's checks (`drill_resting_stops.py`): what the desk and the paper exchange
hold once every position should be closed. Import it after `django.setup()`."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from django.db.models import Count

from apps.exchanges.models import ExchangeAccount, PaperBalance, PaperOrder
from apps.exchanges.paper.catalog import catalog_market
from apps.positions.models import Order, PositionGroup

D = Decimal


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def step_of(symbol: str) -> Decimal:
    return catalog_market(symbol).rules.step_size


def bought_net(position: PositionGroup) -> Decimal:
    """The base the position's buys brought in, fees paid in base taken off."""
    base = position.symbol.split("/")[0]
    total = D(0)
    for order in position.orders.filter(side="buy"):
        total += order.filled - (order.fee_cost if order.fee_currency == base else D(0))
    return total


def paper_orders_of(position: PositionGroup) -> dict[str, PaperOrder]:
    ids = list(position.orders.values_list("client_order_id", flat=True))
    return {
        o.client_order_id: o
        for o in PaperOrder.objects.filter(account=position.account, client_order_id__in=ids)
    }


# A desk order's status against its paper order's. An order the desk never sent (a sell
# dropped because the stop sold first) or the exchange refused has no paper order.
STATUS_MAP = {
    Order.Status.FILLED: {PaperOrder.Status.CLOSED},
    Order.Status.CANCELLED: {PaperOrder.Status.CANCELED, PaperOrder.Status.EXPIRED},
    Order.Status.OPEN: {PaperOrder.Status.OPEN},
}


def position_row(position: PositionGroup) -> tuple[list[str], list[str]]:
    """The position's table row, and what is wrong with it."""
    problems = []
    step = step_of(position.symbol)
    net = bought_net(position)
    sells = list(position.orders.filter(side="sell", filled__gt=0))
    sold = sum((o.filled for o in sells), D(0))
    paper = paper_orders_of(position)
    paper_sold = sum((o.filled for o in paper.values() if o.side == "sell"), D(0))
    stop = position.orders.filter(protective=True).order_by("-pk").first()
    if position.status != PositionGroup.Status.CLOSED:
        problems.append(f"#{position.pk} is {position.status}")
    if position.exit_reason != "initial_stop":
        problems.append(f"#{position.pk} exit reason {position.exit_reason!r}")
    if not position.realised_pnl < 0:
        problems.append(f"#{position.pk} realised PnL {position.realised_pnl} is not a loss")
    if len(sells) != 1 or sells[0] != stop:
        problems.append(f"#{position.pk} {len(sells)} sells filled, not its stop alone")
    if not (sold == paper_sold == (net / step).to_integral_value(ROUND_DOWN) * step):
        problems.append(f"#{position.pk} sold {sold} (paper {paper_sold}) of {net} bought")
    trigger = stop.trigger_price if stop else None
    entry_price = position.orders.filter(purpose="entry").values_list("average", flat=True).first()
    row = [
        f"#{position.pk}",
        position.symbol,
        f"{trigger / entry_price * 100 - 100:.0f} %" if trigger and entry_price else "-",
        f"{net.normalize():f}",
        f"{sold.normalize():f}",
        f"{(net - sold).normalize():f}",
        f"{sells[0].average.normalize():f}" if len(sells) == 1 else "?",
        position.exit_reason or "-",
        f"{position.realised_pnl.quantize(D('0.01'))}",
        position.status,
    ]
    return row, problems


def desk_and_paper_agree(account: ExchangeAccount) -> list[Check]:
    desk_orders = list(Order.objects.filter(account=account))
    paper = {o.client_order_id: o for o in PaperOrder.objects.filter(account=account)}
    mismatches, unsent = [], 0
    for order in desk_orders:
        on_paper = paper.get(order.client_order_id)
        if on_paper is None:
            if order.status == Order.Status.CANCELLED and order.attempts == 0:
                unsent += 1
                continue
            if order.status == Order.Status.REJECTED:
                continue  # refused at placement: the exchange wrote nothing
            mismatches.append(f"{order.client_order_id} {order.status}: no paper order")
        elif on_paper.status not in STATUS_MAP.get(order.status, set()):
            mismatches.append(
                f"{order.client_order_id} desk {order.status}, paper {on_paper.status}"
            )
        elif on_paper.filled != order.filled:
            mismatches.append(
                f"{order.client_order_id} filled {order.filled}, on paper {on_paper.filled}"
            )
    strangers = sorted(set(paper) - {o.client_order_id for o in desk_orders})
    duplicated_desk = (
        Order.objects.values("client_order_id").annotate(n=Count("pk")).filter(n__gt=1).count()
    )
    duplicated_paper = (
        PaperOrder.objects.values("account_id", "client_order_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    live = [o.client_order_id for o in desk_orders if o.status in Order.LIVE]
    open_on_paper = [c for c, o in paper.items() if o.status == PaperOrder.Status.OPEN]
    held = {b.asset: b.used for b in PaperBalance.objects.filter(account=account) if b.used != 0}
    return [
        Check(
            "no client order id used twice",
            duplicated_desk == duplicated_paper == 0,
            f"desk {duplicated_desk}, paper {duplicated_paper}",
        ),
        Check(
            "every desk order has its paper order (status, filled)",
            not mismatches and not strangers,
            "; ".join(
                [f"{len(desk_orders) - unsent} matched, {unsent} never sent (dropped sells)"]
                + mismatches[:3]
                + [f"paper only: {c}" for c in strangers[:3]]
            ),
        ),
        Check("no desk order live", not live, ", ".join(live[:5]) or "none"),
        Check("no paper order open", not open_on_paper, ", ".join(open_on_paper[:5]) or "none"),
        Check(
            "nothing held on the paper exchange",
            not held,
            str(held) if held else "used 0, every asset",
        ),
    ]


def money_agrees(account: ExchangeAccount, initial: Decimal) -> list[Check]:
    """The exchange's balances against the desk's books: the quote left is the deposit less
    every position's entry cost plus its exit proceeds; each base left free is the dust the
    positions hold below the step."""
    positions = list(PositionGroup.objects.filter(account=account))
    balances = {b.asset: b for b in PaperBalance.objects.filter(account=account)}
    quote = account.quote_currency
    books = initial - sum((p.entry_cost - p.exit_proceeds for p in positions), D(0))
    on_paper = balances[quote].free + balances[quote].used
    dust: dict[str, Decimal] = {}
    for position in positions:
        base = position.symbol.split("/")[0]
        dust[base] = dust.get(base, D(0)) + position.quantity
    wrong_base = {
        asset: (held, balances[asset].free + balances[asset].used if asset in balances else None)
        for asset, held in dust.items()
        if asset not in balances or balances[asset].free + balances[asset].used != held
    }
    return [
        Check(
            f"{quote} on the paper exchange = the desk's books",
            on_paper == books,
            f"paper {on_paper.normalize():f}, books {books.normalize():f}",
        ),
        Check(
            "each base left on the paper exchange = the positions' dust",
            not wrong_base,
            str(wrong_base)
            if wrong_base
            else ", ".join(f"{a} {q.normalize():f}" for a, q in dust.items()),
        ),
    ]
