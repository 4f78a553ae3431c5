from django.apps import AppConfig


class SoukLoopConfig(AppConfig):
    """The shared kernel: errors, pagination, geo, money, health. It knows no domain app."""

    name = "soukloop"
    verbose_name = "Souk Loop"
