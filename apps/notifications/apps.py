from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "apps.notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from apps.core.events import subscribe
        from apps.notifications.services import notify_event

        subscribe(notify_event)
