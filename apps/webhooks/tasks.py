from celery import shared_task

from apps.webhooks import services


@shared_task(
    name="webhooks.process_signal",
    bind=True,
    autoretry_for=(services.LaneBusy,),
    retry_backoff=1,
    retry_backoff_max=10,
    max_retries=30,  # then the sweep loop enqueues it again: a busy lane is never given up on
)
def process_signal(self, signal_id: int) -> None:
    services.process_signal(signal_id=signal_id)


@shared_task(name="webhooks.sweep")
def sweep() -> bool:
    return services.sweep_loop()
