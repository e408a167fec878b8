from celery import shared_task

from apps.webhooks import services


@shared_task(name="webhooks.process_signal")
def process_signal(signal_id: int) -> None:
    services.process_signal(signal_id=signal_id)


@shared_task(name="webhooks.sweep")
def sweep() -> bool:
    return services.sweep_loop()
