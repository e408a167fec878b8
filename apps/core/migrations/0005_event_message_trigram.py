"""The Logs text search on PostgreSQL: a trigram index on the events' messages.

`message__icontains` compiles to `UPPER(message) LIKE UPPER('%term%')` on PostgreSQL, so the
index is on UPPER(message): a rare term is then found through the index instead of by reading
every event of the user. The embedded desk runs on SQLite, which has neither the extension nor
GIN: there the operations do nothing and the search reads the user's events in order.
"""

from django.db import migrations

CREATE = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS event_message_trgm_idx ON core_event "
    "USING gin (UPPER(message) gin_trgm_ops)",
)
DROP = ("DROP INDEX IF EXISTS event_message_trgm_idx",)


class PostgresOnlySQL(migrations.RunSQL):
    """RunSQL that runs only on PostgreSQL (the SQLite desk skips it, both ways)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [("core", "0004_event_category_symbol_fill")]

    # The extension stays on the way back: other things may use it, and it costs nothing.
    operations = [PostgresOnlySQL(sql=list(CREATE), reverse_sql=list(DROP))]
