"""The Performance page over 1 000 and 10 000 closed positions and a year of equity snapshots:
server time per request. Prints a table.

    .venv/bin/python benchmarks/performance.py [--sizes 1000 10000] [--runs 30] [--seed 17]

What it runs, all real: Django's test Client requesting `/performance/` (the view, its
selectors, the rendered template, every middleware) and `/performance/csv` (its first 2 000
rows, one fetch of its server-side cursor, and the whole file, streamed to its last row) on
PostgreSQL, in its own database `tradedesk_bench_perf`, dropped and rebuilt each run. The
trader has two USDT accounts; each holds a year of equity snapshots at EQUITY_SNAPSHOT_SECONDS
= 300 (105 120 rows per account, each UTC day's first one marked as its open, as the equity
loop writes them), written with COPY. Another trader's account holds the same year of snapshots
and a fifth as many positions, which every query must skip. The closed positions (written with
bulk_create, from a seeded `random.Random`) are spread over the year across both accounts: 8
symbols, 5 timeframes and none, 4 strategies and none, a fifth opened by a ticket, every exit
reason, fees and partial exits in their PnL, some break-even; half carry a PnL % stop, some a
price stop, some none, a few a stop whose value is not a number, most a trailing stop and a
take profit beside it. Ten open positions per account give the open PnL. The ledger grows from
the first size to the next between measurements; the snapshots stay. Each case is requested
once to warm up, then `--runs` times; p50 / p95 / max in milliseconds, the mean CPU time per
request (this process's and its PostgreSQL backend's: what a request costs, which a shared
machine's load inflates far less than wall time) and the database queries per request (two of
them are the session and the user, as for any page). Target: the page's p95 under 150 ms at 10
000 in every view, with the same number of queries whatever the ledger holds (the CSV is
measured, not held to it: its whole file grows with the rows it holds). Needs PostgreSQL on
localhost (or DATABASE_URL).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tradedesk_bench_perf")
os.environ["REDIS_URL"] = ""  # in-memory cache and channel layer: measure the page, not Redis
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradedesk.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from apps.accounts.services import ensure_user  # noqa: E402
from apps.exchanges.models import ExchangeAccount  # noqa: E402
from apps.positions.models import Order, PositionGroup  # noqa: E402
from apps.strategies.models import Strategy  # noqa: E402
from apps.tickets.models import Trade  # noqa: E402
from benchmarks._common import drop_bench_database  # noqa: E402

PASSWORD = "bench-password-not-secret"  # noqa: S105 (a throwaway bench login)
SNAPSHOT_SECONDS = 300  # EQUITY_SNAPSHOT_SECONDS's default
YEAR = timedelta(days=365)
SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "DOGE/USDT", "ADA/USDT",
           "AVAX/USDT", "LINK/USDT"]  # fmt: skip
TIMEFRAMES = ["5", "15", "60", "240", "1D", ""]
EXIT_REASONS = [
    Order.Purpose.INITIAL_STOP,
    Order.Purpose.TRAILING_STOP,
    Order.Purpose.TAKE_PROFIT,
    Order.Purpose.CLOSE,
    Order.Purpose.LEG_TAKE_PROFIT,
    Order.Purpose.GROUP_TAKE_PROFIT,
    Order.Purpose.EXIT_SIGNAL,
    Order.Purpose.RISK,
]
PRICE_STOP = {
    "primary": {"source": "last"},
    "condition": "at_or_below",
    "secondary": {"source": "entry_price"},
    "value": "-20",
    "unit": "percent",
}
TRAILING_STOP = {
    "primary": {"source": "last"},
    "condition": "retraces_from",
    "secondary": {"source": "highest"},
    "value": "3",
    "unit": "percent",
}
TAKE_PROFIT = {
    "primary": {"source": "pnl_pct"},
    "condition": "at_or_above",
    "secondary": {"source": "fixed"},
    "value": "8",
    "unit": "number",
}
CSV_CHUNK = 2000  # rows per fetch of the CSV's server-side cursor (selectors.csv_rows)
FIRST = "_first_chunk"  # a case's marker: read only the CSV's first chunk
SATOSHI = Decimal("0.00000001")


def fresh_database() -> None:
    """An empty bench database: each run starts from nothing."""
    drop_bench_database()
    call_command("createdb")
    call_command("migrate", "--noinput", verbosity=0)


def people():
    """The measured trader (two accounts, four strategies) and another trader (one account)."""
    trader = ensure_user(username="bench-perf-trader", password=PASSWORD)
    other = ensure_user(username="bench-perf-other", password=PASSWORD)
    accounts = [
        ExchangeAccount.objects.create(
            owner=owner, label=label, kind="paper", quote_currency="USDT"
        )
        for owner, label in [(trader, "Main"), (trader, "Swing"), (other, "Theirs")]
    ]
    strategies = [
        Strategy.objects.create(owner=trader, name=name)
        for name in ("Trend", "Breakout", "Mean reversion", "DCA grid")
    ]
    return trader, accounts, strategies


def snapshots(accounts: list[ExchangeAccount], end: datetime, rng: random.Random) -> int:
    """A year of snapshots per account, every SNAPSHOT_SECONDS from the UTC midnight a year
    before `end`: the equity walks by whole cents; each day's first snapshot is its open."""
    start = datetime.combine((end - YEAR).date(), datetime.min.time(), tzinfo=UTC)
    steps = int((end - start).total_seconds()) // SNAPSHOT_SECONDS
    buffer = io.StringIO()
    for account in accounts:
        cents = 10_000_00
        for step in range(steps):
            at = start + timedelta(seconds=step * SNAPSHOT_SECONDS)
            cents = max(1_000_00, cents + rng.randint(-1_500, 1_520))
            day_open = at.hour == 0 and at.minute == 0
            buffer.write(
                f"{account.pk}\t{at.isoformat()}\t{Decimal(cents) / 100}\tUSDT\t[]\t"
                f"{at.date().isoformat()}\t{'t' if day_open else 'f'}\n"
            )
    buffer.seek(0)
    with connection.cursor() as cursor:
        columns = "account_id, at, equity, quote_currency, unpriced, day, day_open"
        with cursor.cursor.copy(f"COPY performance_equitysnapshot ({columns}) FROM STDIN") as copy:
            while chunk := buffer.read(1 << 20):
                copy.write(chunk)
    return steps * len(accounts)


def _exits(rng: random.Random) -> dict:
    """The exit rules a closed position ran with: its initial stop and, for most, a trailing
    stop and a take profit beside it, as a ticket's exit rules are stored."""
    rules = _stop(rng)
    if rng.random() < 0.7:
        rules |= {"trailing_stop": TRAILING_STOP, "take_profit": TAKE_PROFIT}
    return rules


def _stop(rng: random.Random) -> dict:
    """The initial stop a closed position ran with: mostly a PnL % stop, else a price stop,
    none, or (rarely) one whose value is not a usable number."""
    draw = rng.random()
    if draw < 0.5:
        value = str(-Decimal(rng.randint(5, 100)) / 10)
        pnl_stop = {
            "primary": {"source": "pnl_pct"},
            "condition": "at_or_below",
            "secondary": {"source": "fixed"},
            "value": value,
            "unit": "number",
        }
        return {"initial_stop": pnl_stop}
    if draw < 0.7:
        return {"initial_stop": PRICE_STOP}
    if draw < 0.97:
        return {}
    broken = {"primary": {"source": "pnl_pct"}, "condition": "at_or_below"}
    return {"initial_stop": {**broken, "value": rng.choice(["junk", "0", None, "NaN"])}}


def closed_positions(account, strategies, count, end, rng) -> None:
    """`count` closed positions on `account`, closed at random within the year before `end`."""
    tickets = Trade.objects.bulk_create(
        [
            Trade(owner_id=account.owner_id, account=account, symbol=rng.choice(SYMBOLS),
                  status=Trade.Status.CLOSED)
            for _ in range(count // 5)
        ]
    )  # fmt: skip
    rows = []
    for i in range(count):
        closed = end - timedelta(seconds=rng.randint(60, int(YEAR.total_seconds()) - 3600))
        opened = closed - timedelta(minutes=rng.randint(5, 20_000))
        cost = (Decimal(rng.randint(50_00, 5_000_00)) / 100).quantize(SATOSHI)
        # Fees and partial exits are in the PnL already; one in 30 closes at break-even.
        pnl = Decimal(0)
        if rng.random() > 1 / 30:
            pnl = (cost * Decimal(rng.randint(-800, 1_000)) / 10_000).quantize(SATOSHI)
        ticket = tickets[i // 5] if i % 5 == 0 and i // 5 < len(tickets) else None
        rows.append(
            PositionGroup(
                owner_id=account.owner_id,
                account=account,
                symbol=ticket.symbol if ticket else rng.choice(SYMBOLS),
                timeframe="" if ticket else rng.choice(TIMEFRAMES),
                status=PositionGroup.Status.CLOSED,
                strategy=None
                if ticket or not strategies or rng.random() < 0.2
                else rng.choice(strategies),
                trade=ticket,
                exit_rules=_exits(rng),
                entry_cost=cost,
                exit_quantity=Decimal(rng.randint(1, 10_000)) / 1000,
                exit_proceeds=cost + pnl,
                realised_pnl=pnl,
                exit_reason=rng.choice(EXIT_REASONS),
                opened_at=opened,
                closed_at=closed,
            )
        )
    PositionGroup.objects.bulk_create(rows, batch_size=2000)


def open_positions(account, count, end, rng) -> None:
    PositionGroup.objects.bulk_create(
        [
            PositionGroup(
                owner_id=account.owner_id, account=account, symbol=symbol, timeframe="15",
                quantity=Decimal("0.5"), average_entry=Decimal(100), open_cost=Decimal(50),
                entry_cost=Decimal(50), last_price=Decimal(rng.randint(90, 110)),
                opened_at=end - timedelta(hours=rng.randint(1, 48)),
            )
            for symbol in SYMBOLS[:count]
        ]
    )  # fmt: skip


def grow_ledger(accounts, strategies, total: int, end, rng) -> None:
    """Add closed positions until the trader holds `total` (half per account); the other
    trader holds a fifth as many."""
    mine = PositionGroup.objects.filter(
        account__in=accounts[:2], status=PositionGroup.Status.CLOSED
    ).count()
    missing = total - mine
    for account in accounts[:2]:
        closed_positions(account, strategies, missing // 2, end, rng)
    closed_positions(accounts[2], [], missing // 5, end, rng)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE trades_positiongroup")


def cases(accounts) -> list[tuple[str, str, dict]]:
    page, csv = "/performance/", "/performance/csv"
    return [
        ("page, all time", page, {"range": "all"}),
        ("page, 90 d", page, {"range": "90d"}),
        ("page, 30 d", page, {"range": "30d"}),
        ("page, one account, all time", page, {"range": "all", "account": accounts[0].pk}),
        ("CSV, all time (first 2 000 rows)", csv, {"range": "all", FIRST: 1}),
        ("CSV, all time (whole file)", csv, {"range": "all"}),
    ]


def streamed(response, first: bool) -> int:
    """Read a streamed CSV: its first rows (what the trader waits for before the download
    starts: one fetch of the server-side cursor) or to its end. Returns the rows read."""
    rows = -1  # the header
    for _line in response.streaming_content:
        rows += 1
        if first and rows == CSV_CHUNK:
            break
    response.close()
    return rows


class CpuClock:
    """CPU time spent serving a request: this process's and its PostgreSQL backend's (read from
    /proc, so Linux only; elsewhere this process's alone). On a machine shared with other work,
    wall time waits for the CPUs and CPU time does not: it says what the request costs."""

    def __init__(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            self._stat = Path(f"/proc/{cursor.fetchone()[0]}/stat")
        self._tick = 1000 / os.sysconf("SC_CLK_TCK") if self._stat.exists() else 0

    def ms(self) -> float:
        backend = 0.0
        if self._tick:
            user, system = self._stat.read_text().split()[13:15]
            backend = (int(user) + int(system)) * self._tick
        return time.process_time() * 1000 + backend


def measure(client: Client, path: str, params: dict, runs: int, clock: CpuClock):
    times, cpu, queries, rows = [], [], set(), 0
    first = bool(params.pop(FIRST, False))
    for run in range(runs + 1):
        with CaptureQueriesContext(connection) as captured:
            spent = clock.ms()
            started = time.perf_counter()
            response = client.get(path, params)
            if response.streaming:
                rows = streamed(response, first)
            else:
                assert b'id="figure-count"' in response.content, "the page shows no figures"
            elapsed = (time.perf_counter() - started) * 1000
            spent = clock.ms() - spent
        assert response.status_code == 200, (path, params, response.status_code)
        if run:  # the first request warms caches and is not counted
            times.append(elapsed)
            cpu.append(spent)
            queries.add(len(captured))
    times.sort()
    p95 = times[min(len(times) - 1, round(len(times) * 0.95) - 1)]
    # The backend's clock ticks in hundredths of a second: the mean of the runs, not a median.
    return statistics.median(times), p95, times[-1], statistics.mean(cpu), queries, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()

    rng = random.Random(args.seed)  # noqa: S311 (test data, not crypto)
    end = timezone.now()
    fresh_database()
    trader, accounts, strategies = people()
    started = time.perf_counter()
    written = snapshots(accounts, end, rng)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE performance_equitysnapshot")
    print(f"  {written:,} snapshots ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    for account in accounts:
        open_positions(account, 10, end, rng)
    setup_test_environment()
    client = Client()
    client.force_login(trader)
    clock = CpuClock()
    results = []
    for size in sorted(args.sizes):
        grow_ledger(accounts, strategies, size, end, rng)
        for case, path, params in cases(accounts):
            p50, p95, worst, cpu, queries, rows = measure(client, path, params, args.runs, clock)
            label = f"{case[:-1]}, {rows:,} rows)" if "whole" in case else case
            results.append((size, case, label, p50, p95, worst, cpu, queries))
            print(f"  {size:>6} {label}: p95 {p95:.1f} ms", file=sys.stderr)

    # The machine may be shared: the load says how much of it the measurement had.
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(
        f"\nPerformance over a year of snapshots ({written:,} rows, 3 accounts), "
        f"{args.runs} runs each, server time in ms (test Client, PostgreSQL; "
        f"load average {load} on {os.cpu_count()} CPUs):\n"
    )
    print(
        f"| {'N':>6} | {'request':<42} | {'p50':>7} | {'p95':>7} | {'max':>7} | CPU (mean) |"
        " queries |"
    )
    print(f"|{'-' * 8}|{'-' * 44}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 12}|{'-' * 9}|")
    for size, _case, label, p50, p95, worst, cpu, queries in results:
        counts = "–".join(str(n) for n in sorted({min(queries), max(queries)}))
        print(
            f"| {size:>6} | {label:<42} | {p50:>7.1f} | {p95:>7.1f} | {worst:>7.1f} | "
            f"{cpu:>10.1f} | {counts:>7} |"
        )
    largest = max(args.sizes)
    pages = [row for row in results if row[0] == largest and row[1].startswith("page")]
    slowest = max(row[4] for row in pages)
    verdict = "met" if slowest < 150 else "NOT met"
    print(
        f"\nTarget: the page's p95 under 150 ms at {largest:,}, every view: {verdict} "
        f"(slowest {slowest:.1f} ms)."
    )
    by_case: dict[str, set[int]] = {}
    for _size, case, *_, queries in results:
        by_case.setdefault(case, set()).update(queries)
    constant = all(len(counts) == 1 for counts in by_case.values())
    print(f"Queries constant in N: {'yes' if constant else 'NO'}.")


if __name__ == "__main__":
    main()
