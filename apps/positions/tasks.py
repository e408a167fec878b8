"""The positions' Celery tasks. Their names are the ones the trades app registered: queued
messages and the beat schedule of an installed desk carry them."""

from celery import shared_task
from django.utils import timezone

from apps.positions import services


@shared_task(name="trades.sync_orders")
def sync_orders() -> bool:
    return services.order_sync_loop()


@shared_task(name="trades.send_order")
def send_order(order_id: int) -> None:
    services.send_order(order_id=order_id, now=timezone.now())


@shared_task(name="trades.take_profit")
def take_profit() -> bool:
    return services.take_profit_loop()


@shared_task(name="trades.cancel_order")
def cancel_order(order_id: int) -> None:
    services.cancel_order(order_id=order_id, now=timezone.now())


@shared_task(name="positions.reconcile")
def reconcile() -> bool:
    return services.reconcile_loop()
