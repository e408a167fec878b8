"""A funded paper account with fresh markets, as the trades tests use it."""

from tests.tickets.conftest import paper  # noqa: F401 - a fixture, used by name
