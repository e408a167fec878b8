"""The Celery app. Configuration comes from Django settings (CELERY_*); tasks from each app."""

from __future__ import annotations

import os

from celery import Celery, signals
from django.db import close_old_connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradedesk.settings")

app = Celery("tradedesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.task_prerun.connect
@signals.task_postrun.connect
def _database_connections_around_a_task(sender=None, **kwargs) -> None:
    """A worker's task, like a request: a connection that broke or outlived its use is dropped
    before, and the task's connection goes back to the pool after (`CELERY_DB_REUSE_MAX`). Not
    for a task run inline, which runs inside its caller's transaction."""
    if sender is not None and not getattr(sender.request, "is_eager", False):
        close_old_connections()
