"""A whole journey through the API, logged at DEBUG: no line carries an access or refresh token,
a stream key, an Emirates ID number or a phone number (clients and operability issue)."""

# ruff: noqa: F811 (the payments fixtures are imported to be used as parameters)
from __future__ import annotations

import logging

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from accounts.models import VerificationStatus
from payments.models import Transaction
from soukloop.logs import JsonFormatter
from tests.accounts.conftest import (
    LOGIN_URL,
    REGISTER_URL,
    STRONG_PASSWORD,
    VERIFY_OTP_URL,
    last_sms_code,
    sign_up_body,
)
from tests.payments.conftest import fake_stripe, onboarded_seller, post_event  # noqa: F401 (fixtures)
from tests.streams.conftest import rtmp_hook
from tests.streams.factories import StreamFactory
from tests.verification.conftest import image_bytes
from tests.verification.factories import valid_emirates_id

pytestmark = pytest.mark.django_db

PHONE_TYPED, PHONE = "050 765 4321", "+971507654321"


def test_a_full_journey_logs_no_token_stream_key_id_number_or_phone(
    api_client, auth_client, onboarded_seller, fake_stripe, post_event, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)
    # a buyer signs up, confirms the phone with the SMS code and signs in
    body = sign_up_body(username="hamdan_j", email="hamdan@example.ae", phone=PHONE_TYPED, role="buyer")
    with django_capture_on_commit_callbacks(execute=True):
        assert api_client.post(REGISTER_URL, body, format="json").status_code == 201
    code = last_sms_code()
    assert api_client.post(VERIFY_OTP_URL, {"phone": PHONE, "otp_code": code}, format="json").status_code == 200
    signed_in = api_client.post(LOGIN_URL, {"identifier": PHONE, "password": STRONG_PASSWORD}, format="json").json()
    access, refresh = signed_in["access_token"], signed_in["refresh_token"]
    buyer = APIClient()
    buyer.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    refreshed = api_client.post("/api/v1/auth/refresh/", {"refresh_token": refresh}, format="json").json()

    # the seller lists an item; the buyer offers, the seller accepts, the buyer pays
    seller = auth_client(onboarded_seller)
    listing = seller.post(
        "/api/v1/products/",
        {
            "title": "Air Jordan 1",
            "price": "900.00",
            "category": "sneakers",
            "condition": "like_new",
            "latitude": 25.2,
            "longitude": 55.27,
        },
        format="json",
    )
    assert listing.status_code == 201, listing.content
    offer = buyer.post(
        "/api/v1/offers/", {"product_id": listing.json()["id"], "offered_price": "800.00"}, format="json"
    )
    assert offer.status_code == 201, offer.content
    assert seller.post(f"/api/v1/offers/{offer.json()['id']}/accept/").status_code == 200
    checkout = buyer.post("/api/v1/payments/checkout/", {"offer_id": offer.json()["id"]}, format="json")
    assert checkout.status_code == 201, checkout.content
    tx = Transaction.objects.get(pk=checkout.json()["transaction_id"])
    assert post_event(fake_stripe, fake_stripe.settle(tx.stripe_payment_intent_id, succeed=True)).status_code == 200

    # the seller proves who they are with an Emirates ID
    number = valid_emirates_id(serial=7070707)
    submitted = seller.post(
        "/api/v1/verification/",
        {
            "verification_type": "emirates_id",
            "emirates_id_number": number,
            "emirates_id_front": SimpleUploadedFile("f.jpg", image_bytes(), "image/jpeg"),
            "emirates_id_back": SimpleUploadedFile("b.jpg", image_bytes(), "image/jpeg"),
        },
        format="multipart",
    )
    assert submitted.status_code == 201, submitted.content

    # a verified host goes live: the stream key travels to the media server's hooks
    type(onboarded_seller).objects.filter(pk=onboarded_seller.pk).update(
        verification_status=VerificationStatus.APPROVED
    )
    stream = StreamFactory(user=onboarded_seller)
    key = seller.post(f"/api/v1/streams/{stream.pk}/go-live/").json()["stream_key"]
    assert rtmp_hook(APIClient(), "publish", name=key).status_code == 200
    assert rtmp_hook(APIClient(), "publish", name=key[::-1]).status_code == 403  # a wrong key, logged as refused

    records = caplog.records
    assert len(records) > 20  # the journey did log (a request line per call at least)
    text = "\n".join(f"{r.getMessage()}\n{JsonFormatter().format(r)}" for r in records)
    secrets = {
        "access token": access,
        "refresh token": refresh,
        "refreshed access token": refreshed.get("access_token", access),
        "stream key": key,
        "wrong stream key": key[::-1],
        "Emirates ID": number,
        "Emirates ID digits": number.replace("-", ""),
        "phone": PHONE,
        "phone as typed": PHONE_TYPED,
        "phone digits": PHONE[4:],
        "SMS code": code,
    }
    leaked = [what for what, value in secrets.items() if value and value in text]
    assert leaked == []
