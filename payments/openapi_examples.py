"""Examples for the OpenAPI document (attached by soukloop.schema.attach_examples)."""

from typing import Any

EXAMPLES: dict[str, dict[str, dict[str, Any]]] = {
    "payments_checkout_create": {
        "request": {
            "at_the_list_price": {"product_id": "3f0e6a52-1c1b-4f7e-9a55-1f6e0b7d2c11"},
            "an_accepted_offer": {"offer_id": "9b2d7c1e-5a4f-4e3b-8c6d-2e1f0a9b8c7d"},
        },
        "201": {
            "payment_started": {
                "transaction_id": "c4a1e2f3-6b7d-4c8e-9f0a-1b2c3d4e5f60",
                "client_secret": "pi_3QabcDEF_secret_xyz",
                "amount": "800.00",
                "platform_fee": "80.00",
                "seller_payout": "720.00",
                "currency": "AED",
            }
        },
    },
}
