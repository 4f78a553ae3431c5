"""The newest-first walk of live listings carries what attribute filters test (category,
attributes, price, condition, feed type), so an attribute-filtered page is an index-only walk
that stops at the page (catalog.selectors.NewestWalk). Reversible: the old index comes back."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0006_attributes_and_search"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="product",
            name="catalog_product_live_new_idx",
        ),
        migrations.AddIndex(
            model_name="product",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True), ("is_available", True)),
                fields=["-created_at", "-id"],
                include=("search_vector", "category", "attributes", "price", "condition", "feed_type"),
                name="catalog_product_live_new_idx",
            ),
        ),
    ]
