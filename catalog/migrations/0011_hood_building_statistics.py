"""Statistics on a resident's (neighbourhood, building) pair, so the community feed's building
tier walks its GiST index (PostgreSQL only).

Migration 0009 gave the planner the neighbourhood's size; the building had none, so PostgreSQL
took "Uptown Mirdif in Mirdif" for 14 listings (at 100k it holds 1,379) and, to find the 21st
nearest, read them all through a bitmap and sorted them: 2.4 ms instead of a 0.5 ms KNN walk of
``catalog_product_community_hood_gist``. A most-common-values list over both expressions gives
it the pair's real size. The next ANALYZE (autovacuum's, or seed_demo's) fills it; not run
here, where it would hold up the deploy on a big table.
"""

from django.db import migrations

CREATE = (
    "CREATE STATISTICS IF NOT EXISTS catalog_product_hood_building_upper (mcv)"
    " ON upper(neighborhood::text), upper(building_name::text) FROM catalog_product",
)
DROP = ("DROP STATISTICS IF EXISTS catalog_product_hood_building_upper",)


def _postgres_only(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("catalog", "0010_live_walk_per_category")]

    operations = [migrations.RunPython(_postgres_only(CREATE), _postgres_only(DROP))]
