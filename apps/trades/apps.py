from django.apps import AppConfig


class TradesConfig(AppConfig):
    name = "apps.trades"
    verbose_name = "Trades"

    def ready(self) -> None:
        from apps.trades.services.groups import hooks
        from apps.trades.services.tickets import follow_position

        # A ticket's trade is Closed (or in Error) when the position its entry opened is.
        hooks.position_settled.connect(follow_position)
