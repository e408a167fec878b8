from django.apps import AppConfig


class RiskConfig(AppConfig):
    name = "apps.risk"
    verbose_name = "Risk"

    def ready(self) -> None:
        from apps.core.events import subscribe
        from apps.risk.services.breaker import on_event
        from apps.risk.services.guards import entry_block
        from apps.trades.services.groups.opening import register_entry_check

        # Every `exchange.error` event counts against the account's circuit breaker.
        subscribe(on_event)
        # Every new position, whatever opens it, passes the account guards.
        register_entry_check(entry_block)
