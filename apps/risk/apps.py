from django.apps import AppConfig


class RiskConfig(AppConfig):
    name = "apps.risk"
    verbose_name = "Risk"
