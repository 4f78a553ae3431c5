from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from catalog.models import Product
from soukloop.errors import Conflict


@transaction.atomic
def product_mark_sold(*, product: Product, sold_at: datetime | None = None) -> Product:
    """Take a listing off the market. Conditional UPDATE, so two callers cannot both sell it."""
    sold_at = sold_at or timezone.now()
    updated = Product.objects.filter(pk=product.pk, is_available=True).update(
        is_available=False, sold_at=sold_at, updated_at=timezone.now()
    )
    if not updated:
        raise Conflict("This item has already been sold.", code="product_sold")
    product.refresh_from_db(fields=["is_available", "sold_at", "updated_at"])
    return product
