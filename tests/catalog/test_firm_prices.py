"""Firm prices and the auto-decline floor on the listing (create, PATCH, detail)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_the_seller_sets_firm_price_and_floor_on_create_and_patch(auth_client, seller, valid_listing):
    client = auth_client(seller)
    created = client.post(
        "/api/v1/products/", {**valid_listing, "is_negotiable": False, "auto_decline_below": "100.00"}, format="json"
    )
    assert created.status_code == 201, created.json()
    assert created.json()["is_negotiable"] is False
    assert created.json()["auto_decline_below"] == "100.00"
    url = f"/api/v1/products/{created.json()['id']}/"

    patched = client.patch(url, {"is_negotiable": True, "auto_decline_below": None}, format="json")

    assert patched.status_code == 200
    assert patched.json()["is_negotiable"] is True
    assert patched.json()["auto_decline_below"] is None
    assert client.post("/api/v1/products/", valid_listing, format="json").json()["is_negotiable"] is True


@pytest.mark.parametrize(
    "change",
    [{"auto_decline_below": "149.00"}, {"auto_decline_below": "200.00"}, {"price": "90.00"}],
)
def test_the_floor_must_stay_below_the_price(auth_client, seller, valid_listing, change):
    client = auth_client(seller)
    created = client.post("/api/v1/products/", {**valid_listing, "auto_decline_below": "100.00"}, format="json")
    assert created.status_code == 201

    response = client.patch(f"/api/v1/products/{created.json()['id']}/", change, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "auto_decline_below"
