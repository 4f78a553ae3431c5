"""An offer may carry the platform fee rate of its sale (a live lot's second chance sells at the
live-show rate). Reversible."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0008_seller_discover_index"),
        ("messaging", "0004_report_target_review"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="offer",
            name="fee_percent",
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=5, null=True),
        ),
        migrations.AddConstraint(
            model_name="offer",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("fee_percent__isnull", True),
                    models.Q(("fee_percent__gte", 0), ("fee_percent__lte", 100)),
                    _connector="OR",
                ),
                name="messaging_offer_fee_percent_range",
            ),
        ),
    ]
