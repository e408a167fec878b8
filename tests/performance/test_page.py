"""The Performance page: the known ledger's figures, filters, isolation, the empty state and
the CSV (every field, Decimals unrounded)."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.performance.selectors import CSV_FIELDS
from apps.positions.models import Order
from tests.performance.ledger import PRECISE_PROCEEDS, RANGE, build_ledger

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger(client):
    built = build_ledger()
    client.force_login(built.user)
    return built


def figure(html: str, key: str) -> str:
    match = re.search(rf'id="figure-{key}".*?class="figure-value">(.*?)</span>', html, re.S)
    assert match, key
    return match.group(1)


def detail(html: str, key: str) -> str:
    match = re.search(
        rf'id="figure-{key}".*?class="figure-detail">(.*?)</span>\s*</div>', html, re.S
    )
    return re.sub(r"<[^>]+>", "", match.group(1)) if match else ""


def test_the_known_ledgers_figures(client, ledger):
    html = client.get("/performance/", RANGE).content.decode()
    assert figure(html, "closed-pnl") == "+6.85 USDT"  # 14.785 - 10.39 + 4.95 - 2.50
    assert detail(html, "closed-pnl").startswith("+0.68 % of starting equity")
    assert figure(html, "count") == "4"
    assert figure(html, "win-rate") == "50.00 %"
    assert figure(html, "profit-factor") == "1.53"  # 19.735 / 12.89
    assert figure(html, "expectancy") == "+1.71 USDT"  # 6.845 / 4
    assert "+0.96 R over 2 with a stop" in detail(html, "expectancy")
    assert figure(html, "average-win") == "+9.87 USDT"
    assert figure(html, "average-loss") == "\u22126.45 USDT"
    assert figure(html, "best") == "+14.79 USDT"
    assert figure(html, "worst") == "\u221210.39 USDT"
    assert figure(html, "holding") == "9 h 00 min"  # (6 + 2 + 24 + 4) / 4
    assert figure(html, "drawdown") == "51.00 USDT · 5.00 %"
    assert detail(html, "drawdown") == "from 2026-03-02 to 2026-03-04"
    assert figure(html, "starting-equity") == "1,000.00 USDT"
    assert 'id="figure-closed-pnl" class="figure gain"' in html
    assert 'id="figure-worst" class="figure loss"' in html
    # Breakdowns in the database: BTC/USDT is A + C.
    by_symbol = html.split('id="breakdown-symbol"')[1].split("</section>")[0]
    assert "BTC/USDT" in by_symbol and "+19.74 USDT" in by_symbol
    by_origin = html.split('id="breakdown-origin"')[1].split("</section>")[0]
    assert "Ticket" in by_origin and "Signal" in by_origin
    by_reason = html.split('id="breakdown-exit_reason"')[1].split("</section>")[0]
    assert "Group take profit" in by_reason and "Exit signal" in by_reason
    assert "Trend" in html.split('id="breakdown-strategy"')[1].split("</section>")[0]


def test_another_traders_positions_never_show(client, ledger):
    html = client.get("/performance/", {"range": "all"}).content.decode()
    assert "DOGE/USDT" not in html and "999.99" not in html and "50,000" not in html
    other = ledger.other_user.exchange_accounts.get()
    html = client.get("/performance/", {"range": "all", "account": other.pk}).content.decode()
    assert "That account is not one of yours." in html
    assert "DOGE/USDT" not in html


def test_the_period_filter_narrows_the_ledger(client, ledger):
    html = client.get("/performance/", {"from": "2026-03-04", "to": "2026-03-04"}).content.decode()
    # Only C (closed 03-04 09:00) and D (03-04 13:00) closed that day.
    assert figure(html, "count") == "2"
    assert figure(html, "closed-pnl") == "+2.45 USDT"


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ({}, "30d"),
        ({"range": "bogus"}, "30d"),
        ({"from": "2026-03-01"}, "custom"),
        ({"range": "all"}, "all"),
    ],
)
def test_the_period_box_shows_the_period_in_use(client, ledger, query, shown):
    html = client.get("/performance/", query).content.decode()
    selected = re.findall(r'<option value="([^"]*)" selected>', html)
    assert selected[0] == shown
    if query.get("range") == "bogus":
        assert "There is no period “bogus”. That filter is ignored." in html


def test_an_empty_range_explains_itself(client, ledger):
    html = client.get("/performance/", {"range": "7d"}).content.decode()
    assert "No closed positions in this range yet" in html
    assert 'id="figure-count"' not in html


def test_queries_do_not_grow_with_the_ledger(client, ledger):
    with CaptureQueriesContext(connection) as few:
        client.get("/performance/", RANGE)
    build_more = ledger.positions[0]
    for _ in range(20):
        build_more.pk = None
        build_more.save()
    with CaptureQueriesContext(connection) as many:
        client.get("/performance/", RANGE)
    assert len(many) == len(few)


def _order(position, n: int, side: str, fee: str, currency: str) -> Order:
    return Order.objects.create(
        group=position, account=position.account, purpose=Order.Purpose.ENTRY,
        symbol=position.symbol, side=side, type="market", amount=D("0.5"),
        client_order_id=f"perfcsv{position.pk}n{n}", status=Order.Status.FILLED,
        fee_cost=D(fee), fee_currency=currency,
    )  # fmt: skip


def test_the_csv_holds_every_field_unrounded(client, ledger):
    # A (BTC/USDT) paid its buys' fees in BTC and its sells' in USDT, and one in BNB.
    a = ledger.positions[0]
    for n, (side, fee, currency) in enumerate(
        [("buy", "0.0005", "BTC"), ("buy", "0.00025", "BTC"), ("sell", "0.05744", "USDT"),
         ("sell", "0.0575", "USDT"), ("sell", "0.001", "BNB")]
    ):  # fmt: skip
        _order(a, n, side, fee, currency)
    response = client.get("/performance/csv", RANGE)
    assert response.streaming
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == [*CSV_FIELDS, "average_exit", "fees_quote", "fees_base"]
    assert len(rows) == 5
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["exit_proceeds"] == str(PRECISE_PROCEEDS)
    assert first["realised_pnl"] == "14.785" and first["symbol"] == "BTC/USDT"
    # Sold 1 for 114.885…: its average exit; the fees by currency (BNB in neither).
    assert D(first["average_exit"]) == PRECISE_PROCEEDS
    assert D(first["fees_quote"]) == D("0.11494") and D(first["fees_base"]) == D("0.00075")
    second = dict(zip(rows[0], rows[2], strict=True))  # no orders recorded, nothing sold
    assert D(second["fees_quote"]) == 0 and D(second["fees_base"]) == 0
    assert second["average_exit"] == ""
    assert not any("DOGE/USDT" in row for row in rows)  # another trader's position
