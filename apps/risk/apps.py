from django.apps import AppConfig


class RiskConfig(AppConfig):
    name = "apps.risk"
    verbose_name = "Risk"

    def ready(self) -> None:
        from apps.core.dashboard import desk_figures
        from apps.core.events import subscribe
        from apps.positions.services import hooks
        from apps.risk.services import breaker
        from apps.risk.services.controls import reset_timer
        from apps.risk.services.dashboard import desk_figures as risk_figures
        from apps.risk.services.guards import entry_block

        # Every `exchange.error` event counts against the account's circuit breaker, and so
        # does an order the desk's recovery cannot find; an answered call breaks the streak.
        subscribe(breaker.on_event)
        hooks.exchange_failed.connect(breaker.record_exchange_error)
        hooks.exchange_answered.connect(breaker.record_exchange_success)
        # Every new position, whatever opens it, passes the account guards.
        hooks.entry_check.connect(entry_block)
        # A new entry signal for an open position restarts its risk timer.
        hooks.position_added_to.connect(reset_timer)
        # Equity, today's PnL and the guards in the Desk's header.
        desk_figures.connect(risk_figures)
