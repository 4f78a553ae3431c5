from __future__ import annotations

import pytest

from tests.factories import ProductFactory


@pytest.fixture
def product(seller):
    """Omar's sneakers, listed at AED 149.00."""
    return ProductFactory(seller=seller, title="Jordan 1 Retro", image_urls=["http://127.0.0.1:8000/media/p/j1.jpg"])


@pytest.fixture
def buyer_client(auth_client, buyer):
    return auth_client(buyer)


@pytest.fixture
def seller_client(auth_client, seller):
    return auth_client(seller)


@pytest.fixture
def conversation(buyer_client, product):
    """Layla has opened a chat about Omar's sneakers (through the API)."""
    response = buyer_client.post("/api/v1/conversations/", {"product_id": str(product.pk)}, format="json")
    assert response.status_code == 201
    from messaging.models import Conversation

    return Conversation.objects.get(pk=response.json()["id"])
