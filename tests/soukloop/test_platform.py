"""The platform: health, schema, docs, error shape, languages, admin screens."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_healthz_reports_each_dependency_ok(api_client):
    response = api_client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok"}}


def test_healthz_answers_with_trailing_slash_too(api_client):
    assert api_client.get("/healthz/").status_code == 200


def test_healthz_is_503_naming_the_cache_when_the_cache_is_down(api_client, monkeypatch):
    from soukloop import health

    def broken() -> None:
        raise ConnectionError("redis down")

    monkeypatch.setitem(health.CHECKS, "cache", broken)

    response = api_client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "error", "checks": {"database": "ok", "cache": "error"}}


def test_healthz_is_503_naming_the_database_when_it_is_down(api_client, monkeypatch):
    """A real connection to a database that cannot be reached (closed port / missing file)."""
    from django.db import connection

    from soukloop import health

    broken_settings = {**connection.settings_dict}
    if connection.vendor == "sqlite":
        broken_settings["NAME"] = "/nonexistent/dir/x.sqlite3"
    else:
        broken_settings["PORT"] = "1"
        broken_settings["OPTIONS"] = {**broken_settings.get("OPTIONS", {}), "connect_timeout": 1}
    broken = type(connection)(broken_settings, alias="healthz-broken")
    monkeypatch.setitem(health.CHECKS, "database", lambda: health.check_database(broken))

    response = api_client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "error", "checks": {"database": "error", "cache": "ok"}}


def test_healthz_is_503_when_redis_is_unreachable(api_client, monkeypatch):
    """A real django-redis cache pointed at a closed port, not a mock."""
    from django_redis.cache import RedisCache

    from soukloop import health

    unreachable = RedisCache(
        "redis://127.0.0.1:1/0", {"OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2}}
    )
    monkeypatch.setattr(health, "cache", unreachable)

    response = api_client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "cache": "error"}


def test_openapi_schema_generates(api_client):
    response = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Souk Loop API"


def test_swagger_ui_is_served(api_client):
    response = api_client.get("/api/docs/")

    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


def test_unknown_api_path_is_404_in_the_contract_error_shape(api_client):
    response = api_client.get("/api/v1/no-such-thing/")

    assert response.status_code == 404
    assert response.json() == {
        "type": "client_error",
        "errors": [{"code": "not_found", "detail": "Not found.", "attr": None}],
    }


def test_unknown_path_404_is_in_arabic_when_asked(api_client):
    response = api_client.get("/api/v1/no-such-thing/", HTTP_ACCEPT_LANGUAGE="ar")

    assert response.status_code == 404
    assert response.json()["errors"][0]["detail"] == "غير موجود."


def _admin_changelist_urls() -> list[str]:
    return [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist") for model in admin.site._registry
    ]


def test_every_admin_changelist_loads_for_a_superuser(client, django_user_model):
    from tests.factories import ProductFactory, UserFactory

    ProductFactory()
    boss = UserFactory(username="boss", is_staff=True, is_superuser=True)
    client.force_login(boss)

    urls = _admin_changelist_urls()
    assert len(urls) >= 10
    for url in urls:
        response = client.get(url, follow=True)  # the report queue opens on its open reports
        assert response.status_code == 200, url


def test_moderators_reach_the_admin_without_being_superusers(client, moderator):
    client.force_login(moderator)

    assert not moderator.is_superuser
    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get(reverse("admin:catalog_product_changelist")).status_code == 200


def test_routes_answer_with_and_without_trailing_slash():
    from django.urls import resolve

    from soukloop.routers import OptionalSlashRouter

    router = OptionalSlashRouter()

    assert router.trailing_slash == "/?"
    assert resolve("/healthz").url_name == resolve("/healthz/").url_name == "healthz"


def test_api_timestamps_are_utc_while_the_admin_keeps_dubai_time(rf):
    import datetime

    from django.utils import timezone

    from soukloop.middleware import ApiTimezoneMiddleware

    seen: dict[str, str] = {}

    def view(request):
        seen[request.path] = timezone.get_current_timezone_name()
        return None

    middleware = ApiTimezoneMiddleware(view)
    middleware(rf.get("/api/v1/products/"))
    middleware(rf.get("/admin/"))

    assert seen["/api/v1/products/"] == str(datetime.UTC)
    assert seen["/admin/"] == "Asia/Dubai"


def test_unknown_api_path_is_json_even_with_debug_on(api_client, settings):
    settings.DEBUG = True

    response = api_client.get("/api/v1/nothing/here")

    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"


def test_private_documents_have_no_url():
    from django.core.files.storage import storages

    with pytest.raises(ValueError, match="no public URL"):
        storages["private"].url("verification/x/doc")


def test_openapi_schema_is_valid_and_has_no_warnings(tmp_path):
    """Every app's views describe themselves fully; name clashes between apps show here."""
    from django.core.management import call_command

    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))

    assert "/api/v1/products/" in target.read_text()


def test_readyz_checks_database_cache_and_migrations(api_client, db):
    response = api_client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok", "migrations": "ok"}}


def test_readyz_is_503_naming_unapplied_migrations(api_client, db, monkeypatch):
    from soukloop import health

    def pending() -> None:
        raise RuntimeError("unapplied migrations")

    # the executor's plan is what a new release sees before `migrate`; stand in for it here
    monkeypatch.setitem(health.READINESS_CHECKS, "migrations", pending)

    response = api_client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == "error"


@pytest.mark.django_db
def test_the_schema_is_served_compact_unless_a_client_asks_for_indentation(api_client):
    compact = api_client.get("/api/schema/", HTTP_ACCEPT="application/json")
    pretty = api_client.get("/api/schema/", HTTP_ACCEPT="application/json; indent=2")
    assert compact.status_code == pretty.status_code == 200
    assert len(compact.content) < 400 * 1024
    assert b"\n" not in compact.content
    assert compact.json() == pretty.json()
