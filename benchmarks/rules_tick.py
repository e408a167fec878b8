"""One rules-loop tick over 1 000 active trades on the paper exchange. Prints a table.

    .venv/bin/python benchmarks/rules_tick.py [--trades 1000] [--ticks 20]

What it runs, all real: `apps.tickets.services.evaluate_rules` on PostgreSQL (its own database,
`tradedesk_bench`) with a paper account. Half the trades are tickets waiting for their entry,
half are open: each holds its position, which carries a stop, a trailing stop and a take
profit; the price moves before every tick, so every ticket's and position's memory and last
price are written and its cells are pushed to the owner's channel group (in-memory layer: no
Redis round trip is counted). Exchange I/O — the one ticker batch per
account — is timed separately and subtracted: the target (under 200 ms) is for the desk's own
work. Needs PostgreSQL on localhost (or DATABASE_URL).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tradedesk_bench")
os.environ["REDIS_URL"] = ""  # in-memory channel layer and cache: measure the tick, not Redis
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradedesk.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Q  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from apps.accounts.services import ensure_user  # noqa: E402
from apps.exchanges.models import ExchangeAccount  # noqa: E402
from apps.exchanges.paper.services import open_paper_account, set_price  # noqa: E402
from apps.exchanges.services import market_data, refresh_balances, refresh_markets  # noqa: E402
from apps.positions.models import PositionGroup  # noqa: E402
from apps.tickets.models import Trade  # noqa: E402
from apps.tickets.services import engine, evaluate_rules  # noqa: E402
from tests.tickets.bulk import delete_running, running_trades  # noqa: E402

USERNAME, PASSWORD = "bench-rules", "bench-password-not-secret"
SYMBOLS = {"BTC/USDT": Decimal("65000.00"), "ETH/USDT": Decimal("3400.00")}


class Timed:
    """Wraps a real function and adds up the time spent in it."""

    def __init__(self, function) -> None:
        self.seconds = 0.0
        self._function = function

    def __call__(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return self._function(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - started


def setup(count: int) -> ExchangeAccount:
    call_command("createdb")
    call_command("migrate", "--noinput", verbosity=0)
    user = ensure_user(username=USERNAME, password=PASSWORD)
    delete_running(owner=user)
    account, _ = ExchangeAccount.objects.get_or_create(
        owner=user, label="Bench paper", defaults={"kind": "paper"}
    )
    open_paper_account(account)
    now = timezone.now()
    refresh_markets(account=account, now=now)
    refresh_balances(account=account, now=now)
    for index, symbol in enumerate(SYMBOLS):
        share = count // len(SYMBOLS) + (1 if index < count % len(SYMBOLS) else 0)
        running_trades(account, share, symbol=symbol, price=SYMBOLS[symbol])
    return account


def move_prices(step: int) -> None:
    for symbol, start in SYMBOLS.items():
        # Small moves on the tick: nothing fires, every trade's memory changes.
        set_price(symbol=symbol, price=start + Decimal(step % 7) / 100)


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return statistics.median(ordered), p95, ordered[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=1000)
    parser.add_argument("--ticks", type=int, default=20)
    args = parser.parse_args()

    account = setup(args.trades)
    waiting = Trade.objects.filter(account=account, status=Trade.Status.PENDING).count()
    held = (
        PositionGroup.objects.filter(account=account, status=PositionGroup.Status.OPEN)
        .filter(*(Q(exit_rules__has_key=kind) for kind in engine.EXITS))
        .count()
    )
    assert waiting + held == args.trades, (waiting, held)
    # The phases of a tick, each timed by wrapping the real function where the engine calls it.
    phases = {
        "exchange I/O (ticker batches)": Timed(market_data.tickers),
        "evaluating rules (pure)": Timed(engine._evaluate),
        "writing changes (1 UPDATE a kind)": Timed(engine.bulk_set),
        "pushing Desk cells to the browser": Timed(engine.live.push_rows),
        "pushing position rows": Timed(engine.positions_live.push_rows),
    }
    tickers, evaluating, writing, pushing, pushing_positions = phases.values()
    engine.market_data.tickers = tickers
    engine._evaluate = evaluating
    engine.bulk_set = writing
    engine.live.push_rows = pushing
    engine.positions_live.push_rows = pushing_positions
    move_prices(0)
    evaluate_rules(now=timezone.now())  # the first look records every rule's outcome

    samples: dict[str, list[float]] = {label: [] for label in ("tick, total", *phases)}
    desk, queries = [], []
    for step in range(1, args.ticks + 1):
        move_prices(step)
        for phase in phases.values():
            phase.seconds = 0.0
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            report = evaluate_rules(now=timezone.now())
            elapsed = time.perf_counter() - started
        assert report.evaluated == args.trades and not report.fired, report
        samples["tick, total"].append(elapsed * 1000)
        for label, phase in phases.items():
            samples[label].append(phase.seconds * 1000)
        desk.append((elapsed - tickers.seconds) * 1000)
        queries.append(len(captured))
    samples["tick excluding exchange I/O"] = desk

    print(
        f"\nRules tick over {args.trades} active trades on the paper exchange, "
        f"{args.ticks} ticks, {os.cpu_count()} CPUs (milliseconds): {waiting} tickets waiting "
        f"for their entry, {held} open positions with a stop, a trailing stop and a take "
        "profit\n"
    )
    print(f"| {'measurement':<34} | {'p50':>8} | {'p95':>8} | {'max':>8} |")
    print(f"|{'-' * 36}|{'-' * 10}|{'-' * 10}|{'-' * 10}|")
    for label, values in samples.items():
        p50, p95, worst = percentiles(values)
        print(f"| {label:<34} | {p50:>8.1f} | {p95:>8.1f} | {worst:>8.1f} |")
    print(f"\nDatabase queries per tick: {min(queries)}–{max(queries)}. Target: under 200 ms.")


if __name__ == "__main__":
    main()
