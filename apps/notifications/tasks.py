from celery import shared_task
from django.utils import timezone

from apps.core.loops import run_loop
from apps.notifications import services


@shared_task(name="notifications.deliver")
def deliver(destination_id: int) -> None:
    services.deliver(destination_id=destination_id)


@shared_task(name="notifications.retry_due")
def retry_due() -> bool:
    return run_loop("notifications.retry_due", lambda: services.deliver_due(now=timezone.now()))


@shared_task(name="notifications.warn_owner_by_email")
def warn_owner_by_email(destination_id: int) -> None:
    services.warn_owner_by_email(destination_id=destination_id)
