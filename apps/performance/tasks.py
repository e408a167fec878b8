from celery import shared_task

from apps.performance.services.snapshots import equity_loop


@shared_task(name="performance.equity")
def equity() -> bool:
    return equity_loop()
