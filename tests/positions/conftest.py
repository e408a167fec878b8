"""The paper account the ticket tests trade on: positions open on the same one."""

from tests.tickets.conftest import paper  # noqa: F401  (the fixture)
