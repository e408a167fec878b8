"""Events about positions (and their orders) name their subject by model label: rename
`trades.positiongroup` to `positions.positiongroup` (and the others that moved), so a
position's timeline keeps its history. Content types follow too, which keeps the admin's
permissions and log entries pointing at the same models."""

from django.db import migrations

MOVED = ("positiongroup", "pyramid", "dcaleg", "order")


def relabel(apps, old: str, new: str) -> None:
    Event = apps.get_model("core", "Event")
    for model in MOVED:
        Event.objects.filter(subject_type=f"{old}.{model}").update(subject_type=f"{new}.{model}")
    ContentType = apps.get_model("contenttypes", "ContentType")
    # On a new database the content types are created after the migrations: nothing to move.
    # Where both exist (a half-run upgrade), keep the one that has the permissions.
    for model in MOVED:
        if not ContentType.objects.filter(app_label=new, model=model).exists():
            ContentType.objects.filter(app_label=old, model=model).update(app_label=new)


def forwards(apps, schema_editor) -> None:
    relabel(apps, "trades", "positions")


def backwards(apps, schema_editor) -> None:
    relabel(apps, "positions", "trades")


class Migration(migrations.Migration):
    dependencies = [
        ("positions", "0001_initial"),
        ("core", "0002_event_account"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
