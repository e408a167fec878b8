from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "apps.tickets"
    # The label the app had as `apps.trades`: it names the tables, the migrations and the
    # content types of every installed desk, and `trades.trade` in their events.
    label = "trades"
    verbose_name = "Tickets"

    def ready(self) -> None:
        from apps.positions.services import hooks
        from apps.tickets.services import live
        from apps.tickets.services.tickets import follow_position

        # A ticket's trade is Closed (or in Error) when the position its entry opened is.
        hooks.position_settled.connect(follow_position)
        # Its Desk row shows the position's size and entry: a fill pushes the table again.
        hooks.position_changed.connect(live.push_table_of)
