from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog.models import FeedType
from payments.fees import compute_fees

FEES_URL = "/api/v1/payments/fees/"

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999999999.99"), places=2)


@given(amount=amounts, feed_type=st.sampled_from(FeedType.values))
def test_fee_plus_payout_is_always_the_amount(amount, feed_type):
    fees = compute_fees(amount=amount, feed_type=feed_type)

    assert fees.platform_fee + fees.seller_payout == amount
    assert fees.platform_fee >= 0
    assert fees.seller_payout >= 0
    assert fees.platform_fee.as_tuple().exponent == -2
    assert fees.seller_payout.as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("amount", "feed_type", "fee"),
    [
        ("149.00", FeedType.DISCOVER, "14.90"),
        ("0.05", FeedType.DISCOVER, "0.01"),  # 0.005 rounds half-up, not to even
        ("0.25", FeedType.DISCOVER, "0.03"),  # 0.025 → 0.03
        ("0.10", FeedType.COMMUNITY, "0.01"),  # 0.005 → 0.01
        ("99.99", FeedType.COMMUNITY, "5.00"),  # 4.9995 → 5.00
    ],
)
def test_fee_is_rounded_half_up_to_the_fils(amount, feed_type, fee):
    assert compute_fees(amount=Decimal(amount), feed_type=feed_type).platform_fee == Decimal(fee)


def test_fees_follow_the_settings(settings):
    settings.PLATFORM_FEE_PERCENT_COMMUNITY = Decimal("7.5")

    fees = compute_fees(amount=Decimal("200.00"), feed_type=FeedType.COMMUNITY)

    assert (fees.platform_fee, fees.seller_payout, fees.fee_percent) == (Decimal("15.00"), Decimal("185.00"), 7.5)


@pytest.mark.django_db
def test_fees_endpoint(api_client):
    response = api_client.get(FEES_URL, {"amount": "149", "feed_type": "community"})

    assert response.status_code == 200
    assert response.json() == {
        "amount": "149.00",
        "platform_fee": "7.45",
        "seller_payout": "141.55",
        "fee_percent": "5.00",
        "currency": "AED",
    }


@pytest.mark.django_db
def test_fees_endpoint_defaults_to_discover(api_client):
    assert api_client.get(FEES_URL, {"amount": "10.00"}).json()["platform_fee"] == "1.00"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [{}, {"amount": "abc"}, {"amount": "0"}, {"amount": "-5"}, {"amount": "1.234"}, {"amount": "1", "feed_type": "x"}],
)
def test_fees_endpoint_rejects_bad_input(api_client, query):
    response = api_client.get(FEES_URL, query)

    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"
