"""Queue priority is a total order: every pair of distinct entries is ordered one way, the order
is transitive, and ranking a set gives the same answer whatever order it was read in."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.trade_queue.domain.priority import (
    QueuedEntry,
    loss_pct,
    priority_key,
    ranked,
)

D = Decimal
T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
PROPERTY = settings(max_examples=300, deadline=None, database=None)


def entry(id, *, minutes=0, replacements=0, continuation=False, loss=None, pinned=None):
    return QueuedEntry(
        id=id,
        queued_at=T0 + timedelta(minutes=minutes),
        replacements=replacements,
        continuation=continuation,
        loss_pct=None if loss is None else D(loss),
        pinned_at=None if pinned is None else T0 + timedelta(minutes=pinned),
    )


def outranks(first: QueuedEntry, second: QueuedEntry) -> bool:
    """`first` takes a free slot before `second`, as the queue's ranking orders the two."""
    return ranked([second, first])[0] is first


# --- The criteria, one at a time ------------------------------------------------------------


def test_a_continuation_of_an_open_group_outranks_a_deeper_loss():
    assert outranks(entry(2, continuation=True, loss="-5"), entry(1, loss="9"))


def test_the_deepest_loss_comes_next():
    assert outranks(entry(2, loss="3.5", minutes=9), entry(1, loss="3.4", replacements=7))


def test_a_known_loss_outranks_an_unknown_one_even_a_premium():
    assert outranks(entry(2, loss="-20"), entry(1, loss=None))


def test_then_the_most_replacements():
    assert outranks(entry(2, loss="1", replacements=3, minutes=5), entry(1, loss="1"))


def test_then_the_oldest():
    assert outranks(entry(9, loss="1", minutes=1), entry(1, loss="1", minutes=2))


def test_the_id_breaks_a_tie_on_everything_else():
    assert outranks(entry(1, loss="1"), entry(2, loss="1"))
    assert not outranks(entry(2, loss="1"), entry(1, loss="1"))


def test_the_traders_promote_goes_ahead_of_priority_earliest_first():
    best = entry(1, continuation=True, loss="50", replacements=9)
    assert outranks(entry(3, loss="-9", pinned=5), best)
    assert outranks(entry(3, pinned=5), entry(2, continuation=True, pinned=6))


def test_ranks_follow_the_order():
    entries = [entry(1, loss="1"), entry(2, loss="3"), entry(3, continuation=True)]
    assert [e.id for e in ranked(entries)] == [3, 2, 1]


@pytest.mark.parametrize(
    ("signal", "market", "side", "expected"),
    [
        ("100", "97", "long", D("3")),  # the market 3 % below the signal: a 3 % loss (discount)
        ("100", "104", "long", D("-4")),
        ("100", "104", "short", D("4")),
        ("0.15000", "0.14250", "long", D("5")),
        (None, "1", "long", None),
        ("1", None, "long", None),
    ],
)
def test_loss_pct_is_the_move_against_the_signal_price(signal, market, side, expected):
    got = loss_pct(
        signal_price=None if signal is None else D(signal),
        market_price=None if market is None else D(market),
        side=side,
    )
    assert got == expected
    assert got is None or isinstance(got, Decimal)


def test_free_slots_never_go_negative():
    from apps.positions.services.pool import Pool

    def pool(size: int, used: int) -> Pool:
        return Pool(account_id=1, size=size, used=used, pyramids_count=False, expiry_minutes=0)

    assert (pool(10, 7).free, pool(10, 7).is_full) == (3, False)
    assert (pool(5, 8).free, pool(5, 8).is_full) == (0, True)  # a cap lowered below what is open


# --- Properties ---------------------------------------------------------------------------

losses = st.one_of(
    st.none(),
    st.decimals(min_value=D("-50"), max_value=D("50"), places=4, allow_nan=False),
)


@st.composite
def entries(draw, min_size=1, max_size=25):
    """Distinct ids; the other fields drawn from small ranges so that ties are common."""
    count = draw(st.integers(min_value=min_size, max_value=max_size))
    ids = draw(st.lists(st.integers(1, 10_000), min_size=count, max_size=count, unique=True))
    return [
        QueuedEntry(
            id=id,
            queued_at=T0 + timedelta(seconds=draw(st.integers(0, 3))),
            replacements=draw(st.integers(0, 2)),
            continuation=draw(st.booleans()),
            loss_pct=draw(st.one_of(losses, st.sampled_from([D("1"), D("1.0"), D("-1")]))),
            pinned_at=draw(st.one_of(st.none(), st.just(T0), st.just(T0 + timedelta(1)))),
        )
        for id in ids
    ]


@PROPERTY
@given(entries(min_size=2, max_size=2))
def test_total_exactly_one_of_two_distinct_entries_comes_first(pair):
    first, second = pair
    assert outranks(first, second) != outranks(second, first)


@PROPERTY
@given(entries(min_size=3, max_size=3))
def test_transitive(triple):
    a, b, c = triple
    if outranks(a, b) and outranks(b, c):
        assert outranks(a, c)


@PROPERTY
@given(entries(), st.randoms(use_true_random=False))
def test_deterministic_whatever_order_the_entries_are_read_in(items, rnd):
    shuffled = list(items)
    rnd.shuffle(shuffled)
    assert [e.id for e in ranked(shuffled)] == [e.id for e in ranked(items)]
    assert ranked(items) == ranked(items)  # the same call twice, the same answer


@PROPERTY
@given(entries(), st.data())
def test_stable_adding_or_removing_an_entry_keeps_the_others_in_their_order(items, data):
    order = [e.id for e in ranked(items)]
    removed = data.draw(st.sampled_from(items))
    without = [e.id for e in ranked([e for e in items if e is not removed])]
    assert without == [i for i in order if i != removed.id]


@PROPERTY
@given(entries())
def test_each_neighbour_outranks_the_next_on_the_first_criterion_that_differs(items):
    """The ranking agrees with the criteria read in the design's order."""
    order = ranked(items)
    for higher, lower in itertools.pairwise(order):
        assert priority_key(higher) < priority_key(lower)
        if higher.pinned_at is None and lower.pinned_at is None:
            if higher.continuation != lower.continuation:
                assert higher.continuation
            elif (higher.loss_pct is None) != (lower.loss_pct is None):
                assert lower.loss_pct is None
            elif higher.loss_pct != lower.loss_pct:
                assert higher.loss_pct > lower.loss_pct
            elif higher.replacements != lower.replacements:
                assert higher.replacements > lower.replacements
            elif higher.queued_at != lower.queued_at:
                assert higher.queued_at < lower.queued_at
            else:
                assert higher.id < lower.id


@PROPERTY
@given(entries(min_size=2, max_size=2))
def test_the_key_is_a_strict_order_no_two_distinct_entries_are_equal(pair):
    assert priority_key(pair[0]) != priority_key(pair[1])
