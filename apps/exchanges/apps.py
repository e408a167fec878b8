from django.apps import AppConfig


class ExchangesConfig(AppConfig):
    name = "apps.exchanges"
    verbose_name = "Exchanges"

    def ready(self) -> None:
        from apps.core.market_formats import market_formats
        from apps.exchanges.selectors import market_formats as formats_of_markets

        # Every page's prices and amounts on their market's tick and step.
        market_formats.connect(formats_of_markets)
