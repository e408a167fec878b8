"""`manage.py createdb`: create the configured PostgreSQL database if it does not exist yet.

`make stack` calls it so a machine with a bare PostgreSQL server runs the stack in one command.
"""

from __future__ import annotations

import psycopg
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from psycopg import sql


class Command(BaseCommand):
    help = "Create the PostgreSQL database named by DATABASE_URL if it is missing."

    def handle(self, *args, **options) -> None:
        if connection.vendor != "postgresql":
            self.stdout.write(f"Nothing to create for {connection.vendor}.")
            return
        params = connection.get_connection_params()
        name = params.pop("dbname")
        params["dbname"] = "postgres"
        params["connect_timeout"] = 5
        try:
            with psycopg.connect(**params, autocommit=True) as conn:
                if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                    return
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.Error as exc:
            raise CommandError(f"PostgreSQL at {params.get('host')}: {exc}") from exc
        self.stdout.write(f"Created database {name}.")
