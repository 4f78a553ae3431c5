"""GET/PATCH /api/v1/auth/me and PUT /api/v1/auth/me/location."""

from __future__ import annotations

import pytest

from accounts.models import Role, VerificationStatus
from tests.accounts.conftest import ME_URL

pytestmark = pytest.mark.django_db

LOCATION_URL = "/api/v1/auth/me/location/"


def test_me_shows_the_private_profile(auth_client, seller):
    response = auth_client(seller).get(ME_URL)

    assert response.status_code == 200
    data = response.json()
    assert data["id"] == str(seller.pk)
    assert data["email"] == seller.email
    assert data["phone"] == seller.phone
    assert data["role"] == "seller"
    assert data["stripe_onboarded"] is False
    assert data["verification_status"] == "none"
    assert data["location"] == {"latitude": pytest.approx(25.0805), "longitude": pytest.approx(55.1403)}
    assert data["neighborhood"] == "Dubai Marina"
    assert "password" not in data


def test_me_without_a_token_is_401(api_client):
    assert api_client.get(ME_URL).status_code == 401


def test_patch_changes_the_profile_fields(auth_client, buyer, settings):
    avatar = f"{settings.PUBLIC_BASE_URL}/media/avatars/layla.jpg"

    response = auth_client(buyer).patch(
        ME_URL,
        {
            "full_name": "Layla Haddad",
            "bio": "Vintage cameras in JLT",
            "avatar_url": avatar,
            "neighborhood": "JLT",
            "building_name": "Cluster D",
            "role": "both",
        },
        format="json",
    )

    assert response.status_code == 200
    buyer.refresh_from_db()
    assert (buyer.full_name, buyer.bio, buyer.avatar_url, buyer.neighborhood, buyer.building_name, buyer.role) == (
        "Layla Haddad",
        "Vintage cameras in JLT",
        avatar,
        "JLT",
        "Cluster D",
        Role.BOTH,
    )
    assert response.json()["full_name"] == "Layla Haddad"


def test_patch_cannot_mass_assign_privileged_fields(auth_client, buyer):
    # given a buyer who tries to make themselves staff, verified, onboarded, someone else
    response = auth_client(buyer).patch(
        ME_URL,
        {
            "is_staff": True,
            "is_superuser": True,
            "is_verified": True,
            "verification_status": "approved",
            "stripe_connect_account_id": "acct_stolen",
            "stripe_onboarded": True,
            "email": "boss@soukloop.ae",
            "phone": "+971509999999",
            "username": "admin",
            "id": "00000000-0000-0000-0000-000000000000",
            "bio": "hello",
        },
        format="json",
    )

    # then only the bio changed
    assert response.status_code == 200
    buyer.refresh_from_db()
    assert buyer.bio == "hello"
    assert not buyer.is_staff and not buyer.is_superuser
    assert buyer.verification_status == VerificationStatus.NONE
    assert buyer.stripe_connect_account_id == "" and buyer.stripe_onboarded is False
    assert buyer.email == "layla@example.ae" and buyer.username == "layla"


def test_patch_role_admin_is_refused(auth_client, buyer):
    response = auth_client(buyer).patch(ME_URL, {"role": "admin"}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "role"
    buyer.refresh_from_db()
    assert buyer.role == Role.BUYER


def test_patch_is_verified_on_an_unverified_account_does_not_verify_it(auth_client, buyer):
    buyer.is_verified = False
    buyer.save()

    auth_client(buyer).patch(ME_URL, {"is_verified": True}, format="json")

    buyer.refresh_from_db()
    assert buyer.is_verified is False


def test_avatar_from_another_host_is_refused(auth_client, buyer):
    response = auth_client(buyer).patch(ME_URL, {"avatar_url": "https://evil.example/x.jpg"}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "avatar_url"


def test_put_location_saves_point_and_place(auth_client, buyer):
    response = auth_client(buyer).put(
        LOCATION_URL,
        {"latitude": 25.0693, "longitude": 55.1450, "neighborhood": "JLT", "building_name": "Cluster D"},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["location"] == {"latitude": 25.0693, "longitude": 55.145}
    buyer.refresh_from_db()
    assert (round(buyer.location.y, 4), round(buyer.location.x, 4)) == (25.0693, 55.145)
    assert buyer.neighborhood == "JLT"
    assert buyer.building_name == "Cluster D"


def test_put_location_outside_the_uae_is_fine(auth_client, buyer):
    response = auth_client(buyer).put(LOCATION_URL.rstrip("/"), {"latitude": 51.5, "longitude": -0.12})

    assert response.status_code == 200
    buyer.refresh_from_db()
    assert (round(buyer.location.y, 4), round(buyer.location.x, 4)) == (51.5, -0.12)


@pytest.mark.parametrize(
    ("body", "attr"),
    [
        ({"latitude": 91, "longitude": 55}, "latitude"),
        ({"latitude": 25, "longitude": 181}, "longitude"),
        ({"latitude": "north", "longitude": 55}, "latitude"),
        ({"longitude": 55}, "latitude"),
        ({"latitude": "NaN", "longitude": 55}, "latitude"),
    ],
)
def test_put_location_with_bad_coordinates_is_400(auth_client, buyer, body, attr):
    response = auth_client(buyer).put(LOCATION_URL, body, format="json")

    assert response.status_code == 400
    assert attr in {e["attr"] for e in response.json()["errors"]}


def test_timestamps_are_utc(auth_client, buyer):
    created_at = auth_client(buyer).get(ME_URL).json()["created_at"]

    assert created_at.endswith("Z") or created_at.endswith("+00:00")
