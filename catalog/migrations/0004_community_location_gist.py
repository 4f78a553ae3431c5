"""A partial GiST index over the community feed's listings (PostgreSQL only).

The feed walks the location index nearest first (KNN) and skipped every Discover, sold or
hidden listing on the way; over this index it reads community listings only. SpatiaLite
keeps its own spatial index and skips this.
"""

from django.db import migrations

CREATE = """
CREATE INDEX IF NOT EXISTS catalog_product_community_gist ON catalog_product USING gist (location)
WHERE feed_type = 'community' AND is_available AND deleted_at IS NULL;
"""
DROP = "DROP INDEX IF EXISTS catalog_product_community_gist;"


def _postgres_only(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("catalog", "0003_community_tier_index")]

    operations = [migrations.RunPython(_postgres_only(CREATE), _postgres_only(DROP))]
