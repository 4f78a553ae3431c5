"""Examples for the OpenAPI document (attached by soukloop.schema.attach_examples)."""

from typing import Any

EXAMPLES: dict[str, dict[str, dict[str, Any]]] = {
    "transactions_claim_create": {
        "request": {
            "not_as_described": {
                "reason": "not_as_described",
                "description": "The box was missing and the left sole is cracked.",
                "image_urls": ["https://media.soukloop.ae/claims/8d1e/sole.jpg"],
            }
        },
    },
    "claims_respond_create": {
        "request": {
            "offer_a_partial_refund": {
                "action": "propose_partial",
                "amount": "150.00",
                "statement": "Sorry, 150 back?",
            },
            "contest": {"action": "contest", "statement": "Sent as pictured; see the photos before packing."},
        },
    },
}
