from django.apps import AppConfig


class PositionsConfig(AppConfig):
    name = "apps.positions"
    verbose_name = "Positions"
