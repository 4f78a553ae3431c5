from django.apps import AppConfig
from django.core import checks


class SoukLoopConfig(AppConfig):
    """The shared kernel: errors, pagination, geo, money, health. It knows no domain app."""

    name = "soukloop"
    verbose_name = "Souk Loop"

    def ready(self) -> None:
        from soukloop.production import check_development_defaults

        checks.register(check_development_defaults, checks.Tags.security, deploy=True)

        from django.conf import settings
        from django.core.signals import setting_changed
        from django.db.backends.signals import connection_created

        from soukloop.images import follow_pixel_limit
        from soukloop.pgtypes import use_c_timestamptz

        connection_created.connect(use_c_timestamptz, dispatch_uid="soukloop.pgtypes.use_c_timestamptz")

        follow_pixel_limit()
        setting_changed.connect(follow_pixel_limit, dispatch_uid="soukloop.images.follow_pixel_limit")

        if settings.OTEL_EXPORTER_OTLP_ENDPOINT:  # tracing is opt-in (soukloop/tracing.py)
            from soukloop.tracing import init

            init(service_name=settings.OTEL_SERVICE_NAME)
