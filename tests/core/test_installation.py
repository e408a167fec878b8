"""The installation prefix: generated once, stored, and at the start of every client order id."""

from __future__ import annotations

import re

import pytest

from apps.core import installation
from apps.core.models import Installation

pytestmark = pytest.mark.django_db


@pytest.fixture
def fresh_process(monkeypatch):
    """As a process that has not read the code yet."""
    monkeypatch.setattr(installation, "_code", None)


def test_the_code_is_generated_once_stored_and_short(fresh_process):
    Installation.objects.all().delete()

    prefix = installation.order_id_prefix()

    assert re.fullmatch(r"td[a-z2-9]{4}", prefix)
    assert list(Installation.objects.values_list("code", flat=True)) == [prefix[2:]]


def test_another_process_reads_the_stored_code_instead_of_making_one(fresh_process, monkeypatch):
    Installation.objects.all().delete()
    Installation.objects.create(pk=1, code="ab23")

    assert installation.order_id_prefix() == "tdab23"
    monkeypatch.setattr(installation, "_code", None)  # a second process
    assert installation.order_id_prefix() == "tdab23"
    assert Installation.objects.count() == 1
