"""The kill -9 drill: resting stops protect positions while every desk process is dead.

    .venv/bin/python benchmarks/drill_resting_stops.py [--positions 20] [--keep]

What it runs, all real: the Procfile's stack under honcho (daphne, a Celery worker, Celery
beat) on PostgreSQL (`tradedesk_bench_drill`, dropped and migrated each run) and Redis
(database 5, flushed), a demo login and a fresh paper account (zero slippage, 0.1 % fees). The
simulated random walk is held still (PAPER_PRICE_SECONDS=100000 for the stack): only the
drill moves prices, with `set_price`.

1. N tickets, each an immediate entry of 100 USDT with an initial stop of -1 % … -5 %, over
   BTC, ETH, SOL and LTC; wait until every entry has filled and every position has exactly
   one resting stop, open on the desk and on the paper exchange.
2. kill -9 every process of the stack (honcho and all below it), and check none is left.
3. With the desk dead, move every price 10 % down with `set_price`: the paper exchange fills
   every stop by itself, while the desk's rows still say open.
4. Restart the stack and wait (at most RESTART_WAIT_SECONDS) until every position is Closed.
5. Check and print: each position closed by its initial stop at a loss, sold exactly once
   (the sells filled equal what was bought net of fees, down to the step), no client order
   id used twice, every desk order matched by its paper order (status and filled amount), no
   paper order open and no coins still held; and how long the restart took to record it all.

Exits 1 when a check fails, so it can be run by hand in CI.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tradedesk_bench_drill")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/5")
os.environ.setdefault("CHANNEL_PREFIX", "tradedesk-bench-drill")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradedesk.settings")

import django  # noqa: E402

django.setup()

import redis  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.utils import timezone  # noqa: E402

from apps.accounts.services import ensure_user  # noqa: E402
from apps.core.locks import is_held  # noqa: E402
from apps.core.models import Event  # noqa: E402
from apps.exchanges.models import (  # noqa: E402
    ExchangeAccount,
    PaperOrder,
    PaperSettings,
)
from apps.exchanges.paper.catalog import catalog_market  # noqa: E402
from apps.exchanges.paper.services import open_paper_account, set_price  # noqa: E402
from apps.exchanges.services import refresh_balances, refresh_markets  # noqa: E402
from apps.positions.models import Order, PositionGroup  # noqa: E402
from apps.strategies.domain.catalog import RuleKind, Side, parse_rule  # noqa: E402
from apps.strategies.domain.sizing import Sizing, SizingKind  # noqa: E402
from apps.tickets.models import Trade  # noqa: E402
from apps.tickets.services import Ticket, activate_ticket  # noqa: E402
from benchmarks._common import drop_bench_database  # noqa: E402
from benchmarks._drill_checks import (  # noqa: E402
    Check,
    desk_and_paper_agree,
    money_agrees,
    position_row,
)
from tests.servers import BIN, descendants_of, free_port, get, kill_tree, running  # noqa: E402

USERNAME, PASSWORD = "drill", "drill-password-not-secret"
SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "LTC/USDT"]
STOP_PCTS = ["-1", "-2", "-3", "-4", "-5"]
SIZE_USDT = "100"
INITIAL_BALANCE = Decimal("10000")
CRASH = Decimal("0.90")  # every price 10 % down: through every stop
PROTECTED_WAIT_SECONDS = 120
RESTART_WAIT_SECONDS = 120
# Set on every process of the stack, so a survivor can be found by it whatever its parent.
MARKER = "TRADEDESK_DRILL_STACK"
# The loops that record what the exchange did while the desk was dead.
WATCHED_LOOPS = ["trades.sync_orders", "positions.reconcile", "trades.rules"]
D = Decimal


# --- The stack ---------------------------------------------------------------------------------


class Stack:
    """`honcho start` on the Procfile, as `make stack` runs it, in a session of its own."""

    def __init__(self, logs: Path) -> None:
        self.logs, self.port = logs, free_port()
        self.process: subprocess.Popen | None = None

    def start(self, name: str) -> None:
        env = {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
            "PYTHONUNBUFFERED": "1",
            "WEB_PORT": str(self.port),
            "BEAT_SCHEDULE_FILE": str(self.logs / "celerybeat-schedule"),
            # The walk holds still: the drill alone moves prices.
            "PAPER_PRICE_SECONDS": "100000",
            MARKER: "1",
        }
        with (self.logs / f"{name}.log").open("w") as sink:
            self.process = subprocess.Popen(
                [str(BIN / "honcho"), "--procfile", "Procfile", "start"],
                cwd=ROOT,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(lambda: self.healthy(), 60, "the stack's /healthz")

    def healthy(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise SystemExit(f"The stack exited ({self.process.returncode}); see {self.logs}.")
        try:
            return get(f"http://127.0.0.1:{self.port}/healthz", timeout=2)[0] == 200
        except OSError:
            return False

    def kill_9(self) -> tuple[int, list[int]]:
        """SIGKILL honcho and every process below it; (how many were killed, survivors)."""
        assert self.process is not None
        tree = [self.process.pid, *descendants_of(self.process.pid)]
        kill_tree(self.process.pid)
        self.process.wait()
        survivors = running(tree, within=10) + marked_processes()
        return len(tree), sorted(set(survivors))


def marked_processes() -> list[int]:
    """Every live process of the stack, found by its environment (an orphan's parent is init)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if f"{MARKER}=1".encode() in environ.split(b"\0"):
            found.append(int(entry.name))
    return running(found)


def wait_for(predicate: Callable[[], bool], seconds: float, what: str) -> float:
    """Poll `predicate` until it holds; the seconds it took. SystemExit after `seconds`."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > seconds:
            raise SystemExit(f"Timed out after {seconds} s waiting for {what}.")
        time.sleep(0.2)
    return time.monotonic() - started


# --- The desk's side ---------------------------------------------------------------------------


def setup() -> ExchangeAccount:
    drop_bench_database()
    call_command("createdb")
    call_command("migrate", "--noinput", verbosity=0)
    broker = redis.Redis.from_url(os.environ["REDIS_URL"])
    if broker.connection_pool.connection_kwargs.get("db", 0) == 0:
        raise SystemExit("Refusing to flush Redis database 0: point REDIS_URL at a drill one.")
    broker.flushdb()  # no task, lock or channel of an earlier run
    user = ensure_user(username=USERNAME, password=PASSWORD)
    account = ExchangeAccount.objects.create(owner=user, label="Drill paper", kind="paper")
    ExchangeAccount.objects.filter(pk=account.pk).update(max_open_groups=1000)
    open_paper_account(account, initial_balance=INITIAL_BALANCE)
    PaperSettings.objects.filter(account=account).update(slippage_rate=D(0))
    for symbol in SYMBOLS:
        set_price(symbol=symbol, price=catalog_market(symbol).start_price)
    now = timezone.now()
    refresh_markets(account=account, now=now)
    refresh_balances(account=account, now=now)
    account.refresh_from_db()
    return account


def stop_rule(pct: str) -> dict[str, str]:
    return {
        "primary": "last",
        "condition": "at_or_below",
        "secondary": "entry_price",
        "value": pct,
        "unit": "percent",
    }


def open_tickets(account: ExchangeAccount, count: int) -> list[Trade]:
    """`count` tickets, each an immediate entry with an initial stop, activated as the
    ticket page does; the stack's rules loop fires their entries."""
    trades = []
    for n in range(count):
        raw = {
            RuleKind.ENTRY: {"primary": "immediately", "condition": "at_market"},
            RuleKind.INITIAL_STOP: stop_rule(STOP_PCTS[n % len(STOP_PCTS)]),
        }
        ticket = Ticket(
            account=account,
            symbol=SYMBOLS[n % len(SYMBOLS)],
            side=Side.LONG,
            sizing=Sizing(SizingKind.QUOTE, D(SIZE_USDT)),
            rules={
                kind: parse_rule(kind, Side.LONG, raw[kind]) if kind in raw else None
                for kind in RuleKind
            },
            portfolio=False,
        )
        activation = activate_ticket(
            user=account.owner, ticket=ticket, trade=None, now=timezone.now()
        )
        if not activation.ok:
            raise SystemExit(f"Ticket {n + 1} refused: {activation.plan.problems}")
        trades.append(activation.trade)
    return trades


def positions_of(trades: list[Trade]) -> list[PositionGroup]:
    return list(PositionGroup.objects.filter(trade__in=trades).order_by("pk"))


def all_protected(trades: list[Trade]) -> bool:
    """Every entry filled, and every position with exactly one resting stop: open on the
    desk and on the paper exchange."""
    positions = positions_of(trades)
    if len(positions) != len(trades):
        return False
    for position in positions:
        orders = position.orders.all()
        if not orders.filter(purpose="entry", status=Order.Status.FILLED).exists():
            return False
        stops = list(orders.filter(protective=True, status__in=Order.LIVE))
        if len(stops) != 1 or stops[0].status != Order.Status.OPEN:
            return False
        on_paper = PaperOrder.objects.filter(
            account=position.account,
            client_order_id__in=orders.values("client_order_id"),
            trigger_price__isnull=False,
            status=PaperOrder.Status.OPEN,
        )
        if list(on_paper.values_list("client_order_id", flat=True)) != [stops[0].client_order_id]:
            return False
    return True


def crash_prices() -> dict[str, int]:
    """Every symbol 10 % down, on its tick; the paper exchange's fills per symbol."""
    fills = {}
    for symbol in SYMBOLS:
        market = catalog_market(symbol)
        low = (market.start_price * CRASH).quantize(market.rules.tick_size, rounding=ROUND_DOWN)
        fills[symbol] = set_price(symbol=symbol, price=low)
    return fills


def all_recorded(trades: list[Trade]) -> bool:
    """Every position Closed and none of its orders still live on the desk."""
    positions = PositionGroup.objects.filter(trade__in=trades)
    return not (
        positions.exclude(status="closed").exists()
        or Order.objects.filter(group__in=positions, status__in=Order.LIVE).exists()
    )


def loop_locks_held() -> list[str]:
    """The loops whose single-flight lock a killed worker left behind (it lapses after the
    lock's TTL): a loop tick in flight at the kill delays that loop's first tick after it."""
    return [name for name in WATCHED_LOOPS if is_held(f"loop:{name}")]


def print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |")


# --- The drill ---------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", type=int, default=20, help="protected positions (20)")
    parser.add_argument("--keep", action="store_true", help="keep the bench database after the run")
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="tradedesk-drill-"))
    timings: list[list[str]] = []
    checks: list[Check] = []

    account = setup()
    stack = Stack(logs)
    started = time.monotonic()
    try:
        stack.start("stack-1")
        timings.append(["stack up (honcho → /healthz)", f"{time.monotonic() - started:.1f} s"])
        trades = open_tickets(account, args.positions)
        waited = wait_for(lambda: all_protected(trades), PROTECTED_WAIT_SECONDS, "resting stops")
        timings.append([f"{args.positions} entries filled, stops resting", f"{waited:.1f} s"])

        killed, survivors = stack.kill_9()
        checks.append(
            Check(
                "kill -9: no process of the stack left",
                not survivors,
                f"{killed} processes killed; survivors {survivors or 'none'}",
            )
        )
        if survivors:
            for pid in survivors:
                os.kill(pid, signal.SIGKILL)
            raise SystemExit(f"Processes survived kill -9: {survivors}")
        stale_locks = loop_locks_held()

        fills = crash_prices()
        positions = positions_of(trades)
        still_open = PositionGroup.objects.filter(trade__in=trades, status="open").count()
        stops_open = Order.objects.filter(
            group__in=positions, protective=True, status=Order.Status.OPEN
        ).count()
        checks.append(
            Check(
                "desk dead: the paper exchange fills every stop itself",
                sum(fills.values()) == args.positions,
                f"{sum(fills.values())} stop fills {fills}",
            )
        )
        checks.append(
            Check(
                "desk dead: its rows still say open",
                still_open == stops_open == args.positions,
                f"{still_open} positions open, {stops_open} stops open on the desk",
            )
        )

        restarted = time.monotonic()
        restart_at = timezone.now()
        stack.start("stack-2")
        up = time.monotonic() - restarted
        try:
            wait_for(lambda: all_recorded(trades), RESTART_WAIT_SECONDS, "every position closed")
        except SystemExit as timeout:
            checks.append(Check("restart: every position recorded closed", False, str(timeout)))
        recorded = time.monotonic() - restarted
        last_close = max(
            (p.closed_at for p in positions_of(trades) if p.closed_at), default=restart_at
        )
        timings.append(["restart: stack up (honcho → /healthz)", f"{up:.1f} s"])
        timings.append(["restart: every position closed, its orders done", f"{recorded:.1f} s"])
        timings.append(
            [
                "restart: last closed_at after restart",
                f"{(last_close - restart_at).total_seconds():.1f} s",
            ]
        )
    finally:
        if stack.process is not None and stack.process.poll() is None:
            stack.kill_9()

    rows, problems = [], []
    for position in positions_of(trades):
        row, wrong = position_row(position)
        rows.append(row)
        problems += wrong
    checks.append(
        Check(
            "each closed by its initial stop at a loss, sold exactly once",
            not problems,
            "; ".join(problems[:5]) or f"{len(rows)} positions",
        )
    )
    checks += desk_and_paper_agree(account)
    checks += money_agrees(account, INITIAL_BALANCE)
    kinds = dict(
        Event.objects.filter(created_at__gte=restart_at)
        .filter(kind__regex=r"^(protection|reconcile|trade\.stop)")
        .values_list("kind")
        .annotate(n=Count("pk"))
    )

    print(
        f"\nkill -9 drill: {args.positions} positions with resting stops, {os.cpu_count()} CPUs\n"
    )
    print_table(
        [
            "pos",
            "symbol",
            "stop",
            "bought net",
            "sold",
            "dust",
            "sell avg",
            "exit",
            "PnL",
            "status",
        ],
        rows,
    )
    print()
    print_table(["step", "time"], timings)
    print()
    print_table(
        ["check", "ok", "detail"], [[c.name, "yes" if c.ok else "NO", c.detail] for c in checks]
    )
    print(f"\nLoop locks the kill left held: {stale_locks or 'none'}")
    print(f"Events after the restart: {kinds}")
    print(f"Stack logs: {logs}")
    if not args.keep:
        drop_bench_database()
    return 0 if all(c.ok for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
