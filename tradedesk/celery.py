"""The Celery app. Configuration comes from Django settings (CELERY_*); tasks from each app."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradedesk.settings")

app = Celery("tradedesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
