"""What the benchmark scripts share. Import it after `django.setup()`."""

from __future__ import annotations

import psycopg
from django.db import connection
from psycopg import sql


def drop_bench_database() -> None:
    """Drop the database DATABASE_URL names, so a run starts empty; only a *bench* one (a
    mistyped URL must never drop the desk's own)."""
    params = connection.get_connection_params()
    name = params.pop("dbname")
    if "bench" not in name:
        raise SystemExit(f"Refusing to drop {name!r}: point DATABASE_URL at a *bench* database.")
    connection.close()
    with psycopg.connect(**{**params, "dbname": "postgres"}, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
