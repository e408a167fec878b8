from django.apps import AppConfig


class RiskConfig(AppConfig):
    name = "apps.risk"
    verbose_name = "Risk"

    def ready(self) -> None:
        from apps.core.events import subscribe
        from apps.risk.services.breaker import on_event

        # Every `exchange.error` event counts against the account's circuit breaker.
        subscribe(on_event)
