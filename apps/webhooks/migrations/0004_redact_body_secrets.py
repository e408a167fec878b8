"""Replace the value of every `secret` field in the raw bodies already stored.

Signals received before the webhook redacted bodies at the door kept the route's body secret in
clear, and the signal page, the CSV and the admin showed it. The rest of each body is kept byte
for byte. There is no way back: the secrets are not kept anywhere.
"""

from django.db import migrations

from apps.webhooks.domain.envelope import redact_secret

BATCH = 500


def redact_body_secrets(apps, schema_editor):
    Signal = apps.get_model("webhooks", "Signal")
    changed = []
    for pk, body in (
        Signal.objects.values_list("pk", "body").order_by("pk").iterator(chunk_size=2000)
    ):
        raw = bytes(body)
        redacted = redact_secret(raw)
        if redacted != raw:
            changed.append(Signal(pk=pk, body=redacted))
        if len(changed) >= BATCH:
            Signal.objects.bulk_update(changed, ["body"])
            changed = []
    if changed:
        Signal.objects.bulk_update(changed, ["body"])


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0003_route_duplicate_window"),
    ]

    operations = [
        migrations.RunPython(redact_body_secrets, migrations.RunPython.noop, elidable=True),
    ]
