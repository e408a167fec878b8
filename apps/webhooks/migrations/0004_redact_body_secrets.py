"""Replace the value of every `secret` field in the raw bodies already stored.

Signals received before the webhook redacted bodies at the door kept the route's body secret in
clear, and the signal page, the CSV and the admin showed it. The rest of each body is kept byte
for byte. A rejected text command quoted itself in its reason, so the reason of a redacted
signal loses its `secret=…` too. (The events that repeated such a reason are append-only and
stay as written.) There is no way back: the secrets are not kept anywhere.
"""

import re

from django.db import migrations

from apps.webhooks.domain.envelope import redact_secret

BATCH = 500
QUOTED_SECRET = re.compile(r"(?i)(\bsecret\s*=\s*)[^\s”…]+")


def redact_body_secrets(apps, schema_editor):
    Signal = apps.get_model("webhooks", "Signal")
    changed = []
    rows = Signal.objects.values_list("pk", "body", "reason").order_by("pk")
    for pk, body, reason in rows.iterator(chunk_size=2000):
        raw = bytes(body)
        redacted = redact_secret(raw)
        if redacted != raw:
            reason = QUOTED_SECRET.sub(r"\1***", reason)
            changed.append(Signal(pk=pk, body=redacted, reason=reason))
        if len(changed) >= BATCH:
            Signal.objects.bulk_update(changed, ["body", "reason"])
            changed = []
    if changed:
        Signal.objects.bulk_update(changed, ["body", "reason"])


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0003_route_duplicate_window"),
    ]

    operations = [
        migrations.RunPython(redact_body_secrets, migrations.RunPython.noop, elidable=True),
    ]
