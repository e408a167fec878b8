from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    verbose_name = "Core"

    def ready(self) -> None:
        from apps.core.dashboard import desk_figures, health_figures

        # The loops' health, last in the Desk's header.
        desk_figures.connect(health_figures)
