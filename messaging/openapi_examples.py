"""Examples for the OpenAPI document (attached by soukloop.schema.attach_examples)."""

from typing import Any

EXAMPLES: dict[str, dict[str, dict[str, Any]]] = {
    "offers_create": {
        "request": {
            "an_offer": {
                "product_id": "3f0e6a52-1c1b-4f7e-9a55-1f6e0b7d2c11",
                "offered_price": "800.00",
                "message": "Can you do 800? I can pick up today in JLT.",
            }
        },
        "409": {
            "held_by_a_checkout": {
                "type": "client_error",
                "errors": [{"code": "product_reserved", "detail": "Someone is buying this item.", "attr": None}],
            }
        },
    },
}
