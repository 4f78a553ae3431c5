"""GET /healthz: 200 when the database and the cache answer, 503 naming what failed."""

from __future__ import annotations

import logging
import uuid

from django.core.cache import cache
from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

logger = logging.getLogger(__name__)


def check_database(conn: BaseDatabaseWrapper | None = None) -> None:
    with (conn or connection).cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_cache() -> None:
    key = f"healthz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=5)
    if cache.get(key) != "1":
        raise RuntimeError("cache did not return the value it was given")
    cache.delete(key)


CHECKS = {"database": check_database, "cache": check_cache}


def run_checks(checks: dict | None = None) -> dict[str, str]:
    results: dict[str, str] = {}
    for name, check in (checks if checks is not None else CHECKS).items():
        try:
            check()
        except Exception as exc:  # any failure of a dependency is a failed check
            logger.warning("healthz: %s check failed: %s", name, type(exc).__name__)
            results[name] = "error"
        else:
            results[name] = "ok"
    return results


class HealthView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(
        responses={
            200: inline_serializer(
                "Health",
                {"status": serializers.CharField(), "checks": serializers.DictField(child=serializers.CharField())},
            )
        },
        description="Liveness and readiness: 503 with the failing check named when a dependency is down.",
    )
    def get(self, request: Request) -> Response:
        checks = run_checks()
        healthy = all(v == "ok" for v in checks.values())
        return Response({"status": "ok" if healthy else "error", "checks": checks}, status=200 if healthy else 503)


def check_migrations() -> None:
    """Every migration on disk is applied: a new release's process is not ready before that."""
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        raise RuntimeError("unapplied migrations")


READINESS_CHECKS = {**CHECKS, "migrations": check_migrations}


class ReadinessView(HealthView):
    """GET /readyz: may this process take traffic? The database, the cache and every migration
    applied. /healthz stays the cheap liveness probe."""

    @extend_schema(
        responses={
            200: inline_serializer(
                "Readiness",
                {"status": serializers.CharField(), "checks": serializers.DictField(child=serializers.CharField())},
            )
        },
        description="Readiness: 503 naming the failing check (database, cache, migrations).",
    )
    def get(self, request: Request) -> Response:
        results = run_checks(READINESS_CHECKS)
        ready = all(v == "ok" for v in results.values())
        return Response({"status": "ok" if ready else "error", "checks": results}, status=200 if ready else 503)
