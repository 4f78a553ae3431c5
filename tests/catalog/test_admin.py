"""The moderators' listing screens: search, filters, map widget, mark-sold action."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from catalog.models import Product
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, moderator):
    moderator.user_permissions.add(*Permission.objects.filter(content_type__app_label="catalog"))
    client.force_login(moderator)
    return client


def test_listings_are_searchable_and_filterable(admin_client):
    ProductFactory(title="Yeezy Boost", category="sneakers")
    ProductFactory(title="Sofa bed", category="furniture")
    response = admin_client.get("/admin/catalog/product/", {"q": "yeezy", "category__exact": "sneakers"})
    assert response.status_code == 200
    assert b"Yeezy Boost" in response.content and b"Sofa bed" not in response.content
    hidden = admin_client.get("/admin/catalog/product/", {"hidden": "yes"})
    assert hidden.status_code == 200 and b"Yeezy Boost" not in hidden.content


def test_change_page_has_a_map_widget(admin_client):
    product = ProductFactory()
    response = admin_client.get(f"/admin/catalog/product/{product.pk}/change/")
    assert response.status_code == 200
    assert b"ol.js" in response.content or b"OpenLayers" in response.content or b"olwidget" in response.content.lower()


def test_mark_sold_action_uses_the_service(admin_client):
    product = ProductFactory()
    response = admin_client.post(
        "/admin/catalog/product/", {"action": "mark_sold", "_selected_action": [str(product.pk)]}, follow=True
    )
    assert response.status_code == 200
    product.refresh_from_db()
    assert product.is_available is False and product.sold_at is not None
    assert Product.objects.filter(is_available=True).count() == 0


def test_a_moderator_hides_a_listing_and_it_is_gone_from_every_answer(client, moderator, api_client):
    from django.contrib.admin.models import LogEntry

    product = ProductFactory()
    client.force_login(moderator)

    client.post("/admin/catalog/product/", {"action": "hide_listings", "_selected_action": [str(product.pk)]})

    assert api_client.get(f"/api/v1/products/{product.pk}/").status_code == 404
    assert str(product.pk) not in api_client.get("/api/v1/products/").content.decode()
    assert "Hidden by a moderator" in LogEntry.objects.get(object_id=str(product.pk)).get_change_message()
