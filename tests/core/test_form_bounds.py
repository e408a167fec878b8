"""The bounds a trader's numbers stay within: the forms and the model fields' validators agree,
so the admin refuses what the pages refuse; `1_000`, `٣` and a bigint are refused by name."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.forms import formsets

from apps.core.forms import PlainDecimalField, PlainIntegerField, integer_limits, object_id
from apps.exchanges.models import PaperSettings
from apps.risk.forms import RiskSettingsForm
from apps.risk.models import MAX_GROUP_AGE_MINUTES, RiskSettings
from apps.strategies.forms import LegFormSet
from tests.accounts.factories import OperatorFactory
from tests.tickets.conftest import paper  # noqa: F401  (the paper account fixture)
from tests.tickets.factories import StrategyFactory

pytestmark = pytest.mark.django_db

RISK = {
    "loss_threshold_pct": "-5",
    "timer_start": "dca_filled",
    "wait_minutes": "30",
    "max_winners": "2",
    "shortfall": "skip",
    "breaker_errors": "5",
    "breaker_window_minutes": "10",
    "breaker_cooldown_minutes": "15",
}


def test_every_number_of_the_risk_form_is_bounded_by_its_model_fields_validators():
    form = RiskSettingsForm()
    for field in RiskSettings._meta.fields:
        if field.name not in form.fields or field.choices:
            continue
        form_field = form.fields[field.name]
        if isinstance(form_field, PlainIntegerField):
            assert (form_field.min_value, form_field.max_value) == integer_limits(field)
        else:
            assert isinstance(form_field, PlainDecimalField | type(form.fields["enabled"]))
    age = form.fields["min_group_age_minutes"]
    assert (age.min_value, age.max_value) == (0, MAX_GROUP_AGE_MINUTES)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "min_group_age_minutes",
            "9223372036854775807",
            "Minimum position age (min) must be a whole number from 0 to 525600",
        ),
        ("wait_minutes", "1_000", "must be a whole number from 0 to 43200, not 1_000"),
        ("max_winners", "٣", "Maximum winners to use must be a whole number from 1 to 10"),
        ("breaker_errors", "5 5", "errors in a row must be a whole number from 0 to 100"),
        ("max_drawdown_pct", "1e999999999", "Maximum drawdown % must be a plain number"),
        ("max_drawdown_pct", "1e20", "Maximum drawdown % is too large"),
        ("daily_loss_limit_pct", "NaN", "Daily loss limit % must be a plain number"),
        ("daily_loss_limit_pct", "101", "Daily loss limit % must be from 0 to 100, not 101"),
    ],
)
def test_a_risk_setting_beyond_its_bound_is_refused_by_name(name, value, message):
    form = RiskSettingsForm(RISK | {name: value})

    assert not form.is_valid()
    assert any(message in error for error in form.errors[name]), form.errors[name]


def test_surrounding_spaces_are_trimmed_and_inner_ones_refused():
    assert RiskSettingsForm(RISK | {"wait_minutes": " 45 "}).is_valid()
    assert not RiskSettingsForm(RISK | {"wait_minutes": "4 5"}).is_valid()


@pytest.mark.parametrize("count", ["٣", "1_0", "-1", "9" * 4400, "1e3"])
def test_a_formset_row_count_that_is_not_plain_is_refused(count):
    data = {"legs-TOTAL_FORMS": count, "legs-INITIAL_FORMS": "0"}
    legs = LegFormSet(data, prefix="legs")

    assert not legs.is_valid()
    assert "row count is not valid" in str(legs.non_form_errors())
    assert legs.management_form.cleaned_data[formsets.TOTAL_FORM_COUNT] == 0


@pytest.mark.parametrize("raw", ["²", "٣", "9" * 4400, "-1", "0", "1e3", "", None, " 7"])
def test_an_id_that_is_not_plain_is_no_id(raw):
    assert object_id(raw) is None


def test_a_plain_id_is_read():
    assert object_id("42") == 42


# --- The admin ----------------------------------------------------------------------------


@pytest.fixture
def operator(client, db):
    client.force_login(OperatorFactory())
    return client


def _admin_post(client, url: str, data: dict) -> str:
    response = client.post(url, data)
    assert response.status_code == 200  # the change form again, with its errors
    return response.content.decode()


def test_the_admin_refuses_a_group_age_that_would_overflow_the_risk_loop(operator, paper):  # noqa: F811
    settings = RiskSettings.objects.create(account=paper)
    data = {"account": paper.pk, **RISK, "min_group_age_minutes": "9223372036854775807"}

    html = _admin_post(operator, f"/admin/risk/risksettings/{settings.pk}/change/", data)

    assert "525600" in html
    settings.refresh_from_db()
    assert settings.min_group_age_minutes is None


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("taker_fee_rate", "2", "from 0 to 1"),
        ("latency_ms", "100000000", "10000"),
        ("error_rates", '{"RateLimited": "1e999999999"}', "RateLimited must be a plain number"),
        ("error_rates", '{"Nope": "0.1"}', "Unknown error"),
    ],
)
def test_the_admin_refuses_paper_settings_beyond_their_bounds(
    operator,
    paper,  # noqa: F811
    name,
    value,
    message,
):
    settings = PaperSettings.objects.get(account=paper)
    data = {
        "account": paper.pk,
        "price_source": "simulated",
        "live_exchange": "",
        "maker_fee_rate": "0.001",
        "taker_fee_rate": "0.001",
        "slippage_rate": "0",
        "max_fill_fraction": "1",
        "latency_ms": "0",
        "error_rates": "{}",
        "timeout_after_placing_rate": "0",
        "seed": "1",
        "fault_draws": "0",
    } | {name: value}

    html = _admin_post(operator, f"/admin/exchanges/papersettings/{settings.pk}/change/", data)

    assert message in html
    settings.refresh_from_db()
    assert (settings.taker_fee_rate, settings.latency_ms, settings.error_rates) == (
        Decimal("0.001"),
        0,
        {},
    )


def test_the_admin_refuses_a_grid_the_strategy_page_would_refuse(operator, paper):  # noqa: F811
    strategy = StrategyFactory(owner=paper.owner, name="Dip buyer")
    data = {
        "name": strategy.name,
        "side": "long",
        "sizing_kind": strategy.sizing_kind,
        "sizing_value": "100",
        "dca_legs": '[{"gap_pct": "0", "weight_pct": "1e999999999", "tp_pct": "1"}]',
        "tp_mode": "aggregate",
        "group_tp_pct": "2",
        "pyramid_limit": "5",
    }

    html = _admin_post(operator, f"/admin/strategies/strategy/{strategy.pk}/change/", data)

    assert "Leg 1: The weight must be a number above 0 %." in html
    strategy.refresh_from_db()
    assert strategy.dca_legs == []


@pytest.mark.parametrize("value", ["٣", "1_000", "1e3", " 5 0"])
def test_the_admin_reads_whole_numbers_as_the_pages_do(operator, paper, value):  # noqa: F811
    settings = RiskSettings.objects.create(account=paper)
    data = {"account": paper.pk, **RISK, "min_group_age_minutes": value}

    html = _admin_post(operator, f"/admin/risk/risksettings/{settings.pk}/change/", data)

    assert "must be a whole number from 0 to 525600" in html
    settings.refresh_from_db()
    assert settings.min_group_age_minutes is None
