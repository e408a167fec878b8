from django.apps import AppConfig


class TradeQueueConfig(AppConfig):
    name = "apps.trade_queue"
    verbose_name = "Queue"
