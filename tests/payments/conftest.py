from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from catalog.models import Product
from payments.models import ConnectAccount, Transaction
from payments.testing.fake_stripe import FakeStripe
from tests.factories import ProductFactory

WEBHOOK_URL = "/api/v1/payments/webhook/"
CHECKOUT_URL = "/api/v1/payments/checkout/"


@pytest.fixture
def fake_stripe(httpserver, settings) -> FakeStripe:
    """The real stripe client, pointed at a local stand-in that records every request."""
    fake = FakeStripe(webhook_secret=settings.STRIPE_WEBHOOK_SECRET)
    httpserver.expect_request(re.compile("^/")).respond_with_handler(fake)
    settings.STRIPE_API_BASE = httpserver.url_for("/").rstrip("/")
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.STRIPE_CONNECT_RETURN_URL = "https://api.soukloop.test/payments/connect/return/"
    settings.STRIPE_CONNECT_REFRESH_URL = "https://api.soukloop.test/payments/connect/refresh/"
    return fake


@pytest.fixture
def product(seller) -> Product:
    return ProductFactory(seller=seller, price=Decimal("149.00"))


@pytest.fixture
def onboarded_seller(seller, fake_stripe) -> User:
    """A seller whose Connect account can receive payouts (known to the stand-in too)."""
    account_id = "acct_onboarded_omar"
    fake_stripe.accounts[account_id] = {
        "id": account_id,
        "object": "account",
        "payouts_enabled": True,
        "capabilities": {"transfers": "active"},
    }
    ConnectAccount.objects.create(
        user=seller,
        stripe_account_id=account_id,
        charges_enabled=True,
        payouts_enabled=True,
        details_submitted=True,
        transfers_capability="active",
    )
    User.objects.filter(pk=seller.pk).update(stripe_connect_account_id=account_id, stripe_onboarded=True)
    return seller


@pytest.fixture
def post_event(api_client) -> Callable[..., object]:
    """Sign an event like Stripe does and POST the raw body to the webhook."""

    def post(fake: FakeStripe, event: dict, *, timestamp: int | None = None, signature: str | None = None):
        payload = json.dumps(event)
        header = signature if signature is not None else fake.sign(payload, timestamp=timestamp)
        return api_client.post(WEBHOOK_URL, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header)

    post.client = api_client
    return post


@pytest.fixture
def checkout(auth_client) -> Callable[..., object]:
    def start(user: User, **body) -> object:
        client: APIClient = auth_client(user)
        # 503s are reported through got_request_exception, which the test client re-raises.
        client.raise_request_exception = False
        return client.post(CHECKOUT_URL, body, format="json")

    return start


@pytest.fixture
def paid(checkout, fake_stripe, post_event, buyer, product):
    """Given a completed purchase of ``product`` by ``buyer`` (through checkout and the webhook)."""
    response = checkout(buyer, product_id=str(product.pk))
    assert response.status_code == 201, response.content
    tx = Transaction.objects.get(pk=response.json()["transaction_id"])
    event = fake_stripe.settle(tx.stripe_payment_intent_id, succeed=True)
    assert post_event(fake_stripe, event).json()["outcome"] == "completed"
    tx.refresh_from_db()
    return tx
