from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.renderers import OpenApiYamlRenderer, OpenApiYamlRenderer2
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from soukloop import views
from soukloop.health import HealthView, ReadinessView
from soukloop.metrics import metrics_view
from soukloop.schema import CompactOpenApiJsonRenderer, CompactOpenApiJsonRenderer2

api_v1 = [
    path("", include("accounts.urls")),
    path("", include("verification.urls")),
    path("", include("catalog.urls")),
    path("", include("messaging.urls")),
    path("", include("auctions.urls")),
    path("", include("streams.urls")),
    path("", include("payments.urls")),
    path("", include("notifications.urls")),
    path("", include("trust.urls")),
    path("", include("discovery.urls")),
    path("", include("realtime.urls")),
]

urlpatterns = [
    re_path(r"^healthz/?$", HealthView.as_view(), name="healthz"),
    re_path(r"^readyz/?$", ReadinessView.as_view(), name="readyz"),
    re_path(r"^metrics/?$", metrics_view, name="metrics"),
    path("payments/", include("payments.page_urls")),
    re_path(
        r"^api/schema/?$",
        SpectacularAPIView.as_view(
            renderer_classes=[
                OpenApiYamlRenderer,
                OpenApiYamlRenderer2,
                CompactOpenApiJsonRenderer,
                CompactOpenApiJsonRenderer2,
            ]
        ),
        name="schema",
    ),
    re_path(r"^api/docs/?$", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/v1/", include(api_v1)),
    path("admin/", admin.site.urls),
]
# Unknown API paths answer in the contract's error shape even with DEBUG on (Django's
# technical 404 page would otherwise replace handler404).
urlpatterns += [re_path(r"^api/", views.api_not_found)]

if settings.DEBUG and settings.STORAGE_BACKEND == "local":
    # Public listing media only; identity documents live under PRIVATE_MEDIA_ROOT, never routed.
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler400 = "soukloop.views.bad_request"
handler403 = "soukloop.views.permission_denied"
handler404 = "soukloop.views.not_found"
handler500 = "soukloop.views.server_error"

# Titles, two-factor sign-in and the queues index: accounts.admin_site.SoukAdminSite.
