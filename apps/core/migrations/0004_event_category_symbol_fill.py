"""Fill the new category and symbol of the events recorded before they existed.

One UPDATE per distinct kind prefix (a few dozen) and one for the symbol, through the plain
base manager (the append-only guard is the app's queryset, not the migration's):
cheap on a large table, and nothing to undo on the way back, since reversing 0003 drops both
columns.
"""

from django.db import migrations
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Left

# The same aliases as apps.core.events.CATEGORY_ALIASES, frozen here as migrations must be.
ALIASES = {"group": "position"}


def fill(apps, schema_editor):
    events = apps.get_model("core", "Event")._base_manager
    prefixes = {kind.split(".")[0] for kind in events.values_list("kind", flat=True).distinct()}
    for prefix in prefixes:
        events.filter(kind__startswith=prefix + ".", category="").update(
            category=ALIASES.get(prefix, prefix)[:32]
        )
    events.filter(data__has_key="symbol", symbol="").update(
        symbol=Left(KeyTextTransform("symbol", "data"), 64)
    )


class Migration(migrations.Migration):
    dependencies = [("core", "0003_event_category_symbol")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop, elidable=True)]
