from celery import shared_task

from apps.risk import services


@shared_task(name="risk.tick")
def tick() -> bool:
    return services.risk_loop()
