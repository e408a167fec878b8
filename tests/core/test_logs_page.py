"""The Logs page: filters, search, keyset paging, isolation, CSV, and what bad input gets."""

from __future__ import annotations

import csv
import importlib
import io
import re
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.apps import apps as django_apps
from django.http import StreamingHttpResponse
from django.urls import reverse

from apps.core import selectors
from apps.core.events import Facts, record_event
from apps.core.models import Event
from tests.accounts.factories import UserFactory
from tests.exchanges.factories import ExchangeAccountFactory

pytestmark = pytest.mark.django_db

LOGS = "/logs/"
T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def event_at(when: datetime, **kwargs) -> Event:
    """An event recorded at `when` (created_at is set by the database field on insert)."""
    kwargs.setdefault("message", "Something happened.")
    kwargs.setdefault("kind", "trade.activated")
    with mock.patch("django.utils.timezone.now", return_value=when):
        return record_event(**kwargs)


def shown_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr id="event-(\d+)" class="event">', html)]


@pytest.fixture
def desk():
    """Alice with two accounts and a varied history; Bob with his own account and events."""
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    main = ExchangeAccountFactory(owner=alice, label="Main")
    spare = ExchangeAccountFactory(owner=alice, label="Spare")
    bobs = ExchangeAccountFactory(owner=bob, label="Bob's")
    events = {
        "activated": event_at(
            T0,
            kind="trade.activated",
            message="BTC trade activated.",
            user=alice,
            account=main,
            facts=Facts(symbol="BTC/USDT"),
        ),
        "filled": event_at(
            T0 + timedelta(days=1),
            kind="group.opened",
            message="Position opened at 65000.",
            user=alice,
            account=main,
            level=Event.Level.SUCCESS,
            subject=main,
            data={"symbol": "ETH/USDT", "price": "3400.10"},
        ),
        "rejected": event_at(
            T0 + timedelta(days=2),
            kind="signal.rejected",
            message="Signal rejected: stale webhook.",
            user=alice,
            account=spare,
            level=Event.Level.WARNING,
            symbol="SOL/USDT",
        ),
        "error": event_at(
            T0 + timedelta(days=3),
            kind="exchange.error",
            message="Exchange timed out.",
            user=alice,
            account=spare,
            level=Event.Level.ERROR,
        ),
        "bobs": event_at(
            T0 + timedelta(days=1),
            kind="trade.activated",
            message="Bob's BTC trade activated.",
            user=bob,
            account=bobs,
            facts=Facts(symbol="BTC/USDT"),
        ),
    }
    return alice, bob, main, spare, bobs, events


def page_of(client, user, **params):
    client.force_login(user)
    response = client.get(LOGS, params)
    assert response.status_code == 200
    return response.content.decode()


def test_record_event_derives_the_category_and_the_symbol(desk):
    _, _, _, _, _, events = desk
    assert (events["activated"].category, events["activated"].symbol) == ("trade", "BTC/USDT")
    # The engine's group.* events are about positions; the symbol came from data.
    assert (events["filled"].category, events["filled"].symbol) == ("position", "ETH/USDT")
    assert (events["rejected"].category, events["rejected"].symbol) == ("signal", "SOL/USDT")
    assert events["error"].symbol == ""


@pytest.mark.parametrize(
    "params, expected",
    [
        ({}, ["error", "rejected", "filled", "activated"]),
        ({"level": "warning"}, ["rejected"]),
        ({"category": "position"}, ["filled"]),
        ({"category": "trade"}, ["activated"]),
        ({"symbol": "btc/usdt"}, ["activated"]),
        ({"q": "STALE"}, ["rejected"]),
        ({"from": "2026-03-11", "to": "2026-03-12"}, ["rejected", "filled"]),
        ({"to": "2026-03-10"}, ["activated"]),
        ({"level": "error", "category": "exchange", "q": "timed"}, ["error"]),
        ({"level": "error", "category": "trade"}, []),
    ],
)
def test_each_filter_narrows_the_view_to_the_matching_events(client, desk, params, expected):
    alice, *_, events = desk
    html = page_of(client, alice, **params)
    assert shown_ids(html) == [events[name].pk for name in expected]


def test_the_account_filter_shows_only_that_accounts_events(client, desk):
    alice, _, main, spare, _, events = desk
    assert shown_ids(page_of(client, alice, account=main.pk)) == [
        events["filled"].pk,
        events["activated"].pk,
    ]
    assert shown_ids(page_of(client, alice, account=spare.pk)) == [
        events["error"].pk,
        events["rejected"].pk,
    ]


def test_the_object_filter_shows_one_subjects_events_and_names_it(client, desk):
    alice, _, main, _, _, events = desk
    html = page_of(client, alice, object=f"exchanges.exchangeaccount:{main.pk}")
    assert shown_ids(html) == [events["filled"].pk]
    assert "Events of account" in html
    assert f'href="{reverse("exchanges:account-detail", args=[main.pk])}"' in html


def test_another_users_events_never_appear_whatever_the_filter(client, desk):
    alice, _, _, _, _, events = desk
    for params in [{}, {"symbol": "BTC/USDT"}, {"q": "Bob"}, {"category": "trade"}]:
        html = page_of(client, alice, **params)
        assert events["bobs"].pk not in shown_ids(html)
        assert "Bob&#x27;s BTC trade" not in html


def test_another_users_account_in_the_filter_is_ignored_with_a_message(client, desk):
    alice, _, _, _, bobs, events = desk
    html = page_of(client, alice, account=bobs.pk)
    assert "That account is not one of yours. That filter is ignored." in html
    assert events["bobs"].pk not in shown_ids(html)
    assert len(shown_ids(html)) == 4  # all of Alice's, unfiltered by account
    assert "Bob&#x27;s" not in html  # not even offered in the account dropdown


@pytest.mark.parametrize(
    "params, message",
    [
        ({"from": "2026-13-45"}, "“From” is not a date (use YYYY-MM-DD). That filter is ignored."),
        ({"to": "yesterday"}, "“To” is not a date"),
        ({"level": "panic"}, "There is no level “panic”."),
        ({"category": "<script>"}, "There is no category “&lt;script&gt;”."),
        ({"account": "٣"}, "That account is not one of yours."),
        ({"account": "9" * 5000}, "That account is not one of yours."),
        ({"before": "9" * 16 + "_" + "9" * 19}, "That page link is broken or out of date"),
        ({"before": "99999999999999999_1"}, "That page link is broken or out of date"),
        ({"after": "garbage"}, "That page link is broken or out of date"),
        ({"object": "'; drop table--"}, "That object link is not one the desk makes."),
        ({"from": "2026-03-12", "to": "2026-03-10"}, "“To” is before “From”."),
        ({"from": "0001-01-01"}, "is out of range"),
        ({"q": "x" * 500}, "Ensure this value has at most 200 characters"),
    ],
)
def test_a_bad_filter_value_gets_a_message_and_the_safe_view(client, desk, params, message):
    alice, *_ = desk
    html = page_of(client, alice, **params)
    assert message in html
    assert len(shown_ids(html)) >= 1  # the events are still there, the bad filter ignored


def test_the_good_filters_still_apply_beside_a_bad_one(client, desk):
    alice, *_, events = desk
    html = page_of(client, alice, level="warning", to="not-a-date")
    assert shown_ids(html) == [events["rejected"].pk]


def test_keyset_pages_have_no_duplicates_or_gaps_even_with_equal_timestamps(client):
    trader = UserFactory()
    # 127 events on 9 distinct instants: page edges fall inside runs of equal created_at.
    made = [
        event_at(T0 + timedelta(seconds=n // 15), message=f"Event {n}.", user=trader).pk
        for n in range(127)
    ]
    expected = [
        event.pk for event in Event.objects.filter(pk__in=made).order_by("-created_at", "-id")
    ]
    client.force_login(trader)
    seen, pages, url = [], [], LOGS
    while url:
        html = client.get(url).content.decode()
        pages.append(shown_ids(html))
        seen += pages[-1]
        older = re.search(r'<a rel="next" href="([^"]+)"', html)
        url = LOGS + older[1].replace("&amp;", "&") if older else None
    assert [len(page) for page in pages] == [50, 50, 27]
    assert seen == expected
    # And back: "Newer" from the last page gives the middle page again, exactly.
    newer = re.search(r'<a rel="prev" href="([^"]+)"', html)[1].replace("&amp;", "&")
    assert shown_ids(client.get(LOGS + newer).content.decode()) == pages[1]


def test_paging_keeps_the_filters_in_its_links(client):
    trader = UserFactory()
    for n in range(60):
        event_at(T0 + timedelta(minutes=n), level="warning" if n % 2 else "info", user=trader)
    client.force_login(trader)
    html = client.get(LOGS, {"level": "warning"}).content.decode()
    assert len(shown_ids(html)) == 30
    assert 'rel="next"' not in html  # 30 warnings fit on one page


def test_only_the_newest_unfiltered_page_is_live(client, desk):
    alice, *_ = desk
    live = page_of(client, alice)
    assert 'id="event-rows"' in live and "New events appear at the top" in live
    filtered = page_of(client, alice, level="error")
    assert "Live updates paused while filtering — " in filtered
    assert "clear filters to follow live" in filtered
    # The push's target is there but hidden: new events do not land among filtered rows.
    assert '<table hidden><tbody id="event-rows"></tbody></table>' in filtered
    older = page_of(client, alice, before=f"{10**15}_1")
    assert "Live updates paused on older pages" in older


def test_an_events_kind_reads_as_words_and_a_group_is_a_position(client, desk):
    alice, *_ = desk
    page = page_of(client, alice)

    assert '<span class="log-kind" title="group.opened">Position opened</span>' in page
    assert '<span class="log-kind" title="trade.activated">Trade activated</span>' in page
    assert "Group opened" not in page


def test_htmx_gets_only_the_results_and_every_link_has_an_href(client, desk):
    alice, *_ = desk
    client.force_login(alice)
    html = client.get(
        LOGS, {"level": "error"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="log-results"
    ).content.decode()
    assert html.lstrip().startswith('<div id="log-results"')
    assert "<form" not in html
    for link in re.findall(r"<a [^>]*>", html):
        assert "href=" in link


def test_the_csv_streams_every_column_of_the_filtered_view(client, desk):
    alice, _, main, *_ = desk
    client.force_login(alice)
    response = client.get(reverse("core:logs-csv"), {"account": main.pk})
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == [
        "time_utc",
        "level",
        "kind",
        "category",
        "account",
        "symbol",
        "subject_type",
        "subject_id",
        "message",
        "data",
    ]
    page = shown_ids(page_of(client, alice, account=main.pk))
    assert [Event.objects.get(message=row[8]).pk for row in rows[1:]] == page
    filled = rows[1]
    assert filled[:8] == [
        "2026-03-11T12:00:00+00:00",
        "success",
        "group.opened",
        "Positions",
        "Main",
        "ETH/USDT",
        "exchanges.exchangeaccount",
        str(main.pk),
    ]
    assert '"price": "3400.10"' in filled[9]


def test_the_csv_neutralises_a_message_a_spreadsheet_would_run(client):
    trader = UserFactory()
    record_event(kind="signal.rejected", message='=HYPERLINK("http://evil")', user=trader)
    client.force_login(trader)
    body = b"".join(client.get(reverse("core:logs-csv")).streaming_content).decode()
    assert list(csv.reader(io.StringIO(body)))[1][8] == '\'=HYPERLINK("http://evil")'


def test_the_migration_fills_category_and_symbol_of_older_events():
    trader = UserFactory()
    # As recorded before the columns existed: written directly, without record_event.
    old = Event.objects.create(
        kind="group.sold", message="Sold.", user=trader, data={"symbol": "BTC/USDT"}
    )
    bare = Event.objects.create(kind="markets.loaded", message="Loaded.", user=trader)
    migration = importlib.import_module("apps.core.migrations.0004_event_category_symbol_fill")
    migration.fill(django_apps, None)
    old.refresh_from_db()
    bare.refresh_from_db()
    assert (old.category, old.symbol) == ("position", "BTC/USDT")
    assert (bare.category, bare.symbol) == ("markets", "")


def test_the_csv_reads_every_event_once_across_its_keyset_chunks():
    trader = UserFactory()
    for n in range(23):  # equal timestamps in threes: chunk edges fall inside them
        event_at(T0 + timedelta(seconds=n // 3), message=f"Event {n}.", user=trader)
    everything = list(
        Event.objects.filter(user=trader)
        .order_by("-created_at", "-id")
        .values_list("pk", flat=True)
    )
    chunked = [event.pk for event in selectors.iter_filtered_events(trader, chunk=4)]
    assert chunked == everything
