from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "apps.webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from apps.core.startup import add_banner
        from apps.webhooks.demo import demo_webhook_banner

        add_banner(demo_webhook_banner)
