"""A buyer's and a seller's journey through the Python client generated from /api/schema/,
used unchanged, against a running server and the Stripe stand-in (scripts/client-check.sh).

    client_journey.py <dir with the generated package> <api base> <stripe stand-in base> <SMS dir>

Sign up (both), confirm the phone with the code from the SMS, sign in, list nearby, create a
listing, offer, accept, onboard the seller with Stripe Connect, check out, pay at the stand-in
(it delivers the signed webhook) and see the transaction completed. Exits non-zero on the first
answer that is not what the mobile app expects.
"""

from __future__ import annotations

import re
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, sys.argv[1])
API, STRIPE, SMS_DIR = sys.argv[2], sys.argv[3], Path(sys.argv[4])

import httpx  # noqa: E402 (the generated client's own dependency)
from souk_loop_api_client import AuthenticatedClient, Client  # noqa: E402
from souk_loop_api_client.api.auth import (  # noqa: E402
    auth_login_create,
    auth_register_create,
    auth_verify_otp_create,
)
from souk_loop_api_client.api.offers import offers_accept_create, offers_create  # noqa: E402
from souk_loop_api_client.api.payments import (  # noqa: E402
    payments_checkout_create,
    payments_connect_onboard_create,
    payments_connect_status_retrieve,
)
from souk_loop_api_client.api.products import products_create, products_list  # noqa: E402
from souk_loop_api_client.api.transactions import transactions_retrieve  # noqa: E402
from souk_loop_api_client.models import (  # noqa: E402
    CategoryEnum,
    CheckoutInputRequest,
    ConditionEnum,
    LoginRequest,
    OfferCreateRequest,
    ProductWriteRequest,
    RegisterRequest,
    SelfAssignableRoleEnum,
    VerifyOTPRequest,
)

PASSWORD = "Dune-Bashing-At-Dawn-77"
STAND_IN = {"Authorization": "Bearer sk_stand_in"}  # the stand-in's own controls want a key too


def expect(label: str, response: Any, status: int) -> Any:
    if response.status_code != status or response.parsed is None:
        print(f"FAILED {label}: {response.status_code} {response.content[:400]!r}")
        sys.exit(1)
    print(f"{response.status_code}  {label}")
    return response.parsed


def sms_code(phone: str) -> str:
    for _ in range(50):
        for path in sorted(SMS_DIR.glob("*.sms"), reverse=True):
            text = path.read_text()
            if f"To: {phone}" in text and (found := re.search(r"\b(\d{6})\b", text)):
                return found.group(1)
        time.sleep(0.1)
    print(f"FAILED no SMS reached {phone}")
    sys.exit(1)


def person(anonymous: Client, role: SelfAssignableRoleEnum, phone: str) -> AuthenticatedClient:
    run = uuid.uuid4().hex[:6]
    body = RegisterRequest(
        email=f"{role.value}_{run}@example.ae",
        username=f"{role.value}_{run}",
        password=PASSWORD,
        phone=phone,
        role=role,
    )
    expect(f"register a {role.value}", auth_register_create.sync_detailed(client=anonymous, body=body), 201)
    code = sms_code(phone)
    expect(
        "confirm the phone",
        auth_verify_otp_create.sync_detailed(client=anonymous, body=VerifyOTPRequest(otp_code=code, phone=phone)),
        200,
    )
    signed_in = expect(
        "sign in",
        auth_login_create.sync_detailed(client=anonymous, body=LoginRequest(identifier=phone, password=PASSWORD)),
        200,
    )
    return AuthenticatedClient(base_url=API, token=signed_in.access_token, raise_on_unexpected_status=True)


def main() -> None:
    anonymous = Client(base_url=API, raise_on_unexpected_status=True)
    suffix = f"{int(time.time()) % 10_000_000:07d}"
    seller = person(anonymous, SelfAssignableRoleEnum.SELLER, f"+97150{suffix}")
    buyer = person(anonymous, SelfAssignableRoleEnum.BUYER, f"+97155{suffix}")

    listing = expect(
        "create a listing",
        products_create.sync_detailed(
            client=seller,
            body=ProductWriteRequest(
                title="Air Jordan 1, size 43",
                price="900.00",
                category=CategoryEnum.SNEAKERS,
                condition=ConditionEnum.LIKE_NEW,
                latitude=25.2048,
                longitude=55.2708,
            ),
        ),
        201,
    )
    nearby = expect(
        "list nearby",
        products_list.sync_detailed(client=anonymous, lat=25.2, lng=55.27, radius_km=5.0, page_size=20),
        200,
    )
    assert any(item.id == listing.id for item in nearby.results), "the new listing is not nearby"
    offer = expect(
        "make an offer",
        offers_create.sync_detailed(
            client=buyer, body=OfferCreateRequest(product_id=listing.id, offered_price="800.00")
        ),
        201,
    )
    accepted = expect("accept it", offers_accept_create.sync_detailed(offer.id, client=seller), 200)
    assert accepted.status.value == "accepted", accepted.status

    onboarding = expect(
        "seller starts Stripe Connect", payments_connect_onboard_create.sync_detailed(client=seller), 200
    )
    assert onboarding.url.startswith("https://"), onboarding.url
    # the seller fills Stripe's form: the stand-in's link carries the account it is for
    account_id = onboarding.url.split("/setup/e/", 1)[1].split("/", 1)[0]
    completed = httpx.post(f"{STRIPE}/_stand_in/accounts/{account_id}/complete", headers=STAND_IN, timeout=10)
    assert completed.status_code == 200, completed.text
    for _ in range(50):
        status = expect("connect status", payments_connect_status_retrieve.sync_detailed(client=seller), 200)
        if status.charges_enabled:
            break
        time.sleep(0.1)
    assert status.charges_enabled, "account.updated never arrived"

    checkout = expect(
        "check out the accepted offer",
        payments_checkout_create.sync_detailed(client=buyer, body=CheckoutInputRequest(offer_id=offer.id)),
        201,
    )
    assert checkout.amount == "800.00", checkout.amount
    tx = expect("the transaction", transactions_retrieve.sync_detailed(str(checkout.transaction_id), client=buyer), 200)
    paid = httpx.post(
        f"{STRIPE}/_stand_in/payment_intents/{tx.stripe_payment_intent_id}/succeed", headers=STAND_IN, timeout=10
    )
    assert paid.status_code == 200, paid.text
    for _ in range(50):
        tx = expect(
            "the transaction", transactions_retrieve.sync_detailed(str(checkout.transaction_id), client=buyer), 200
        )
        if tx.status.value == "completed":
            break
        time.sleep(0.1)
    assert tx.status.value == "completed", tx.status
    print("journey through the generated client: OK")


if __name__ == "__main__":
    main()
