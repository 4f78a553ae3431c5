from django.apps import AppConfig


class AuctionsConfig(AppConfig):
    name = "auctions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from auctions.selectors import auction_hold
        from catalog.holds import register_hold_source

        register_hold_source("auction", auction_hold)
