"""One purchase over HTTP against a running server and the Stripe stand-in; prints each step.

    # terminal 1: the stand-in Stripe, delivering signed webhooks to the server
    .venv/bin/python -m payments.testing.fake_stripe --port 18105 \\
        --webhook-url http://127.0.0.1:8105/api/v1/payments/webhook/
    # terminal 2: the server, pointed at it
    STRIPE_API_BASE=http://127.0.0.1:18105 .venv/bin/python manage.py runserver 127.0.0.1:8105 --noreload
    # terminal 3 (same DATABASE_URL as the server): people and a listing via the ORM, the rest over HTTP
    .venv/bin/python bench/payments_walkthrough.py --api http://127.0.0.1:8105 --stripe http://127.0.0.1:18105
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "soukloop.settings")


def call(
    method: str,
    url: str,
    body: dict | None = None,
    token: str | None = None,
    headers: dict | None = None,
    raw: bytes | None = None,
) -> tuple[int, dict]:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def step(label: str, status: int, body: dict, keys: tuple[str, ...] = ()) -> dict:
    shown = {k: body.get(k) for k in keys} if keys else body
    print(f"{status}  {label}  {json.dumps(shown, default=str)}")
    return body


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--api", default="http://127.0.0.1:8105")
    parser.add_argument("--stripe", default="http://127.0.0.1:18105")
    args = parser.parse_args()

    import django

    django.setup()
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.models import Role, User
    from catalog.models import Category, Condition, Product

    run = uuid.uuid4().hex[:6]
    seller = User.objects.create_user(f"seller_{run}", f"seller_{run}@example.ae", role=Role.SELLER)
    buyer = User.objects.create_user(f"buyer_{run}", f"buyer_{run}@example.ae")
    rival = User.objects.create_user(f"rival_{run}", f"rival_{run}@example.ae")
    product = Product.objects.create(
        seller=seller,
        title="Air Jordan 1, size 43",
        price=Decimal("149.00"),
        category=Category.SNEAKERS,
        condition=Condition.LIKE_NEW,
    )
    token = {u: str(AccessToken.for_user(u)) for u in (seller, buyer, rival)}
    api = f"{args.api}/api/v1"
    print(f"setup (ORM): seller, buyer, rival, listing {product.pk} at 149.00 AED")

    step("GET fees?amount=149", *call("GET", f"{api}/payments/fees/?amount=149&feed_type=discover"))
    status, body = call("POST", f"{api}/payments/connect/onboard/", {}, token[seller])
    step("POST connect/onboard (seller)", status, body)
    account_id = User.objects.get(pk=seller.pk).stripe_connect_account_id
    step(
        "stand-in: seller completes onboarding → account.updated",
        *call("POST", f"{args.stripe}/_stand_in/accounts/{account_id}/complete", {}, "sk_stand_in"),
        keys=("type",),
    )
    time.sleep(0.5)  # the stand-in delivers the webhook on its own thread (a demo, not a test)
    step(
        "GET connect/status (seller)",
        *call("GET", f"{api}/payments/connect/status/", token=token[seller]),
        keys=("charges_enabled", "payouts_enabled", "details_submitted"),
    )

    status, checkout = call("POST", f"{api}/payments/checkout/", {"product_id": str(product.pk)}, token[buyer])
    step(
        "POST checkout (buyer)",
        status,
        checkout,
        keys=("transaction_id", "amount", "platform_fee", "seller_payout", "currency"),
    )
    step(
        "POST checkout again (buyer: same transaction)",
        *call("POST", f"{api}/payments/checkout/", {"product_id": str(product.pk)}, token[buyer]),
        keys=("transaction_id",),
    )
    step(
        "POST checkout (another buyer)",
        *call("POST", f"{api}/payments/checkout/", {"product_id": str(product.pk)}, token[rival]),
    )
    tx_url = f"{api}/transactions/{checkout['transaction_id']}/"
    _, tx = call("GET", tx_url, token=token[buyer])
    intent_id = tx["stripe_payment_intent_id"]

    step(
        "POST webhook with a forged signature",
        *call(
            "POST", f"{api}/payments/webhook/", raw=b'{"id":"evt_forged"}', headers={"Stripe-Signature": "t=1,v1=00"}
        ),
    )
    step(
        "stand-in: buyer pays → signed payment_intent.succeeded to the webhook",
        *call("POST", f"{args.stripe}/_stand_in/payment_intents/{intent_id}/succeed", {}, "sk_stand_in"),
        keys=("type",),
    )
    for _ in range(50):
        status, tx = call("GET", tx_url, token=token[buyer])
        if tx.get("status") != "pending":
            break
        time.sleep(0.1)
    step("GET transactions/{id} (buyer)", status, tx, keys=("status", "payout_status", "completed_at"))
    step("GET transactions/{id} (stranger)", *call("GET", tx_url, token=token[rival]))
    step(
        "POST transactions/{id}/confirm-receipt (buyer)",
        *call("POST", f"{tx_url}confirm-receipt/", {}, token[buyer]),
        keys=("status", "payout_status"),
    )
    step("POST transactions/{id}/refund (seller, after release)", *call("POST", f"{tx_url}refund/", {}, token[seller]))
    step(
        "GET transactions/ (seller)",
        *call("GET", f"{api}/transactions/?role=seller", token=token[seller]),
        keys=("count",),
    )


if __name__ == "__main__":
    main()
