from django.apps import AppConfig


class PositionsConfig(AppConfig):
    name = "apps.positions"
    verbose_name = "Positions"

    def ready(self) -> None:
        from apps.core.dashboard import desk_figures
        from apps.positions.services.dashboard import desk_figures as engine_figures

        # Open positions, the pool, exposure and unrealised PnL in the Desk's header.
        desk_figures.connect(engine_figures)
