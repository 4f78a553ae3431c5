from __future__ import annotations

import time

import pytest

from accounts.models import User
from payments.models import ConnectAccount
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ONBOARD = "/api/v1/payments/connect/onboard/"
STATUS = "/api/v1/payments/connect/status/"


def test_first_onboard_creates_the_express_account_and_returns_a_link(auth_client, fake_stripe, seller):
    response = auth_client(seller).post(ONBOARD)

    assert response.status_code == 200
    (create,) = fake_stripe.calls("POST", "/v1/accounts")
    assert create.params["type"] == "express"
    assert create.params["country"] == "AE"
    assert create.params["capabilities[transfers][requested]"] == "true"
    assert create.idempotency_key == f"soukloop-connect-account-{seller.pk}"
    account_id = next(iter(fake_stripe.accounts))
    assert response.json()["url"].startswith(f"https://connect.stripe.com/setup/e/{account_id}/")
    (link,) = fake_stripe.calls("POST", "/v1/account_links")
    assert link.params["type"] == "account_onboarding"
    assert User.objects.get(pk=seller.pk).stripe_connect_account_id == account_id
    assert ConnectAccount.objects.get(user=seller).stripe_account_id == account_id


def test_second_onboard_reuses_the_account_with_a_new_link(auth_client, fake_stripe, seller):
    first = auth_client(seller).post(ONBOARD).json()["url"]
    second = auth_client(seller).post(ONBOARD).json()["url"]

    assert first != second
    assert len(fake_stripe.calls("POST", "/v1/accounts")) == 1
    assert len(fake_stripe.calls("POST", "/v1/account_links")) == 2


def test_a_buyer_cannot_onboard(auth_client, fake_stripe, buyer):
    response = auth_client(buyer).post(ONBOARD)

    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "not_a_seller"
    assert not fake_stripe.requests


def test_status_before_onboarding(auth_client, seller):
    body = auth_client(seller).get(STATUS).json()

    assert body["charges_enabled"] is False
    assert body["payouts_enabled"] is False
    assert body["details_submitted"] is False
    assert body["account_created"] is False


def test_account_updated_keeps_status_current_and_ignores_older_events(auth_client, fake_stripe, post_event, seller):
    # given an onboarded account
    auth_client(seller).post(ONBOARD)
    account = next(iter(fake_stripe.accounts.values()))
    now = int(time.time())
    enabled = dict(
        account,
        charges_enabled=True,
        payouts_enabled=True,
        details_submitted=True,
        requirements={"currently_due": [], "past_due": [], "disabled_reason": None},
    )
    older = dict(account, charges_enabled=False, payouts_enabled=False)

    # when the newer event arrives before an older one
    post_event(fake_stripe, fake_stripe.event("account.updated", enabled, created=now))
    stale = post_event(fake_stripe, fake_stripe.event("account.updated", older, created=now - 60))

    # then the status reflects the newer one
    assert stale.json()["outcome"] == "stale_ignored"
    body = auth_client(seller).get(STATUS).json()
    assert (body["charges_enabled"], body["payouts_enabled"], body["details_submitted"]) == (True, True, True)
    assert body["requirements_due"] == []
    assert User.objects.get(pk=seller.pk).stripe_onboarded is True


def test_account_updated_for_unknown_account_is_acknowledged(fake_stripe, post_event):
    response = post_event(fake_stripe, fake_stripe.event("account.updated", {"id": "acct_nobody"}))

    assert response.status_code == 200
    assert response.json()["outcome"] == "unknown_account"


def test_status_needs_login(api_client):
    assert api_client.get(STATUS).status_code == 401
    assert UserFactory() is not None
