"""Migrations are complete and reversible on whichever backend the suite runs on
(CI runs it on PostGIS and on SpatiaLite)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_models_and_migrations_agree():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_domain_migrations_unapply_and_reapply():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    apps = ["payments", "streams", "messaging", "catalog", "verification"]
    executor = MigrationExecutor(connection)
    leaves = [node for node in executor.loader.graph.leaf_nodes() if node[0] in apps]
    try:
        call_command("migrate", "payments", "zero", verbosity=0)
        call_command("migrate", "streams", "zero", verbosity=0)
        call_command("migrate", "messaging", "zero", verbosity=0)
        call_command("migrate", "verification", "zero", verbosity=0)
        call_command("migrate", "catalog", "zero", verbosity=0)
        tables = set(connection.introspection.table_names())
        assert "catalog_product" not in tables
        assert "payments_transaction" not in tables
    finally:
        call_command("migrate", verbosity=0)
    executor = MigrationExecutor(connection)
    assert not executor.migration_plan(leaves)
    assert "catalog_product" in set(connection.introspection.table_names())
