"""Shared factories. App-specific ones live in tests/<app>/factories.py."""

from __future__ import annotations

from decimal import Decimal

import factory
from django.contrib.gis.geos import Point
from django.utils import timezone

from accounts.models import Role, User
from catalog.models import Category, Condition, FeedType, Product

# Real Dubai places, (longitude, latitude).
DUBAI_MARINA = (55.1403, 25.0805)
JLT = (55.1450, 25.0693)
DOWNTOWN = (55.2744, 25.1972)
DEIRA = (55.3247, 25.2697)
TEST_PASSWORD = "Souk-Loop-Test-Pass-42"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.ae")
    phone = factory.Sequence(lambda n: f"+97150{n:07d}")
    full_name = factory.Faker("name")
    role = Role.BUYER
    is_verified = True
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class SellerFactory(UserFactory):
    role = Role.SELLER
    location = factory.LazyFunction(lambda: Point(*DUBAI_MARINA, srid=4326))
    neighborhood = "Dubai Marina"


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    seller = factory.SubFactory(SellerFactory)
    title = factory.Sequence(lambda n: f"Listing {n}")
    description = "Barely used, pick up in the Marina."
    price = Decimal("149.00")
    category = Category.SNEAKERS
    condition = Condition.LIKE_NEW
    feed_type = FeedType.DISCOVER
    location = factory.LazyFunction(lambda: Point(*DUBAI_MARINA, srid=4326))
    neighborhood = "Dubai Marina"
    image_urls = factory.LazyFunction(lambda: ["http://127.0.0.1:8000/media/products/a.jpg"])

    @factory.lazy_attribute
    def hot_score(self) -> float:
        # what product_create would give it (the model no longer computes it on save)
        from catalog.ranking import hot_score

        created = getattr(self, "created_at", None) or timezone.now()
        return hot_score(
            created_at=created, like_count=getattr(self, "like_count", 0), view_count=getattr(self, "view_count", 0)
        )
