"""A seller's best-ranked live Discover listings, for the personal feed's affinity sellers
(discovery.feed._seller_tops). Reversible."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0007_live_walk_carries_filters"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="product",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True), ("feed_type", "discover"), ("is_available", True)),
                fields=["seller", "-hot_score", "-id"],
                name="catalog_seller_discover_idx",
            ),
        ),
    ]
