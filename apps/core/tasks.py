from celery import shared_task

from apps.core import services


@shared_task(name="core.heartbeat")
def heartbeat() -> bool:
    return services.heartbeat()
