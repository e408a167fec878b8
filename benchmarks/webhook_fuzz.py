"""Hostile webhook bodies against the stack, on loopback. Prints a table.

    .venv/bin/python benchmarks/webhook_fuzz.py [--bodies 10000] [--senders 16] [--seed 1]

What it runs, all real: daphne, a Celery worker and Celery beat on PostgreSQL (a fresh
`tradedesk_bench_fuzz` database each run) and Redis (database 4), one paper account with a
route (no allowlist, no rate limit, no secret), and `--senders` threads posting `--bodies`
generated bodies to it, bounded and on 127.0.0.1 only.

The bodies, from a seeded generator: valid alerts in every format the desk reads, then each
mutated: wrong types, huge and tiny literals (`1e999999999`, 4 400 nines), NaN and Infinity,
lone surrogate escapes, NUL, random bytes, invalid UTF-8, deep nesting (up to 8 000 levels),
oversized bodies, forms, every content type.

Reported: answers by status, the answer time (p50, p99, max), and the check that must hold:
every 2xx answer is one recorded signal, and no answer is a 5xx (a 5xx would mean a body the
desk could not record, which a hostile body must never cause) or missing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tradedesk_bench_fuzz")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/4")
os.environ.setdefault("CHANNEL_PREFIX", "tradedesk-bench-fuzz")

# After the environment above; it sets Django up.
from benchmarks.webhooks_load import (  # noqa: E402
    Signal,
    percentiles,
    post_raw,
    setup,
    start_stack,
)

SYMBOLS = ["BTCUSDT", "BINANCE:ETHUSDT", "SOL/USDT", "xrpusdt", "DOGE-USDT", "NOPE"]
HOSTILE_NUMBERS = [
    "1e999999999",
    "1e1000000",
    "9" * 4400,
    "-1",
    "0",
    "NaN",
    "Infinity",
    "-Infinity",
    "1_000",
    "٣",
    " 5 ",
    "1e400",
    "1e-400",
    "0x10",
    "",
    "{{close}}",
    "65000.5",
    "\u0000",
]
HOSTILE_STRINGS = ["\ud800", "\udfff", "\x00", "a" * 5000, "<script>", "=HYPERLINK(1)", "﷽"]
CONTENT_TYPES = [
    "application/json",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/octet-stream",
    "",
    "text/html; charset=utf-16",
]


def valid_body(rng: random.Random) -> dict:
    symbol = rng.choice(SYMBOLS)
    return rng.choice(
        [
            {"action": "entry", "symbol": symbol, "timeframe": "15"},
            {"action": "exit", "symbol": symbol},
            {"action": "enter_long", "tv_instrument": symbol, "max_lag": "300"},
            {"action": "close_at_market_price", "pair": "USDT_BTC"},
            {
                "strategy": "x",
                "prev_market_position": "flat",
                "market_position": "long",
                "market_position_size": "1",
                "prev_market_position_size": "0",
                "symbol": symbol,
                "price": "65000",
                "timenow": "2024-06-12T14:45:01Z",
            },
        ]
    )


def hostile_value(rng: random.Random):
    return rng.choice(
        [
            rng.choice(HOSTILE_NUMBERS),
            rng.choice(HOSTILE_STRINGS),
            rng.randint(-(10**30), 10**30),
            rng.random(),
            None,
            True,
            [],
            {"nested": rng.choice(HOSTILE_NUMBERS)},
            "9999-12-31T23:59:59-14:00",
        ]
    )


def mutate_json(rng: random.Random) -> bytes:
    body = valid_body(rng)
    for _ in range(rng.randint(1, 3)):
        key = rng.choice(
            [*body.keys(), "price", "quantity", "max_lag", "timenow", "id", "secret", "symbol"]
        )
        body[key] = hostile_value(rng)
    # ensure_ascii keeps lone surrogates as \ud800 escapes, as a hostile sender writes them.
    text = json.dumps(body, ensure_ascii=True)
    for literal in ("1e999999999", "1e400", "NaN", "Infinity", "9" * 4400):
        if rng.random() < 0.1:
            text = text[:-1] + f', "price": {literal}}}'
    return text.encode()


def generate(rng: random.Random) -> tuple[bytes, str]:
    kind = rng.random()
    content_type = rng.choice(CONTENT_TYPES)
    if kind < 0.45:
        return mutate_json(rng), content_type
    if kind < 0.6:
        command = rng.choice(["buy", "sell", "close", "long", "exit"])
        number = rng.choice(HOSTILE_NUMBERS)
        text = f"{command} {rng.choice(SYMBOLS)} 15 | price {number} | qty={number}"
        return text.encode("utf-8", "surrogatepass"), content_type
    if kind < 0.68:
        depth = rng.choice([10, 100, 1000, 8000])
        return ("[" * depth + "]" * depth).encode(), content_type
    if kind < 0.76:
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 400))), content_type
    if kind < 0.82:
        return b'{"action": "entry", "symbol": "\xff\xfe' + b'"}', content_type
    if kind < 0.9:
        pairs = {"action": "entry", "symbol": rng.choice(SYMBOLS), "price": hostile_value(rng)}
        text = "&".join(f"{k}={v}" for k, v in pairs.items())
        return text.encode("utf-8", "surrogatepass"), "application/x-www-form-urlencoded"
    if kind < 0.93:
        return b"x" * rng.choice([16 * 1024, 16 * 1024 + 1, 40_000]), content_type
    return json.dumps(valid_body(rng)).encode(), "application/json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bodies", type=int, default=10_000)
    parser.add_argument("--senders", type=int, default=16)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)  # noqa: S311 (not a secret)
    bodies = [generate(rng) for _ in range(args.bodies)]
    route = setup(args.bodies, rate_limit_per_minute=0)
    logs = Path(tempfile.mkdtemp(prefix="tradedesk-fuzz-"))
    with start_stack(logs, concurrency=2) as base_url:
        url = f"{base_url}/webhooks/tv/{route.token}/"
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.senders) as pool:
            answers = list(pool.map(lambda item: post_raw(url, *item), bodies))
        elapsed = time.perf_counter() - started
        resent = resend_like_tradingview(url, bodies, answers)
    print(f"Worker and beat logs: {logs}")
    statuses = Counter(status for status, _ in answers)
    latencies = [latency for _, latency in answers]
    p50, p99 = percentiles(latencies)
    ok = sum(n for status, n in statuses.items() if 200 <= status < 300)
    recorded = Signal.objects.filter(route=route).count()
    print(
        f"\nHostile webhook bodies on the stack: {args.bodies} bodies (seed {args.seed}), "
        f"{args.senders} senders, {os.cpu_count()} CPUs; {elapsed:.1f} s "
        f"({args.bodies / elapsed:.0f}/s)\n"
    )
    print(f"| {'answer':<28} | {'count':>6} |")
    print(f"|{'-' * 30}|{'-' * 8}|")
    for status, count in sorted(statuses.items()):
        label = {599: "no answer (timeout/reset)"}.get(status, f"HTTP {status}")
        print(f"| {label:<28} | {count:>6} |")
    print(f"\n| {'answer time':<28} | {'ms':>8} |")
    print(f"|{'-' * 30}|{'-' * 10}|")
    for label, value in (("p50", p50), ("p99", p99), ("max", max(latencies))):
        print(f"| {label:<28} | {value:>8.1f} |")
    examples, kinds = {}, Counter()
    for (body, content_type), (status, _) in zip(bodies, answers, strict=True):
        if status != 200:
            examples.setdefault(status, (content_type, body[:120]))
            kinds[status, content_type.split(";")[0] or "no content type"] += 1
    for status, (_, body) in sorted(examples.items()):
        by_type = ", ".join(
            f"{kind} {n}" for (code, kind), n in sorted(kinds.items()) if code == status
        )
        print(f"\nAnswered {status}, by content type: {by_type}. For example: {body!r}")
    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    ok += sum(1 for status in resent.values() if 200 <= status < 300)
    still = sum(1 for status in resent.values() if status >= 500)
    print(
        f"\n5xx or no answer: {server_errors}; resent as TradingView resends a 5xx (5 s later, up "
        f"to 3 times): {len(resent) - still} then answered 2xx, {still} still 5xx."
    )
    print(
        f"2xx answers: {ok}. Signals recorded: {recorded}. "
        f"{'Equal' if ok == recorded else 'NOT EQUAL'}."
    )


def resend_like_tradingview(url: str, bodies, answers) -> dict[int, int]:
    """Resend every body answered 5xx (or not at all) 5 s later, at most 3 times, as
    TradingView does; the last status of each, by body index. A 5xx the body caused would stay
    a 5xx; one the load caused (the recording deadline) gets its 2xx."""
    last = {i: status for i, (status, _) in enumerate(answers) if status >= 500}
    for _ in range(3):
        waiting = [i for i, status in last.items() if status >= 500]
        if not waiting:
            break
        time.sleep(5)
        for i in waiting:
            last[i] = post_raw(url, *bodies[i])[0]
    return last


if __name__ == "__main__":
    main()
