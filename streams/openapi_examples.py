"""Examples for the OpenAPI document (attached by soukloop.schema.attach_examples)."""

from typing import Any

EXAMPLES: dict[str, dict[str, dict[str, Any]]] = {
    "streams_create": {
        "request": {
            "a_scheduled_show": {
                "title": "Friday sneaker drop",
                "description": "Jordans and Dunks, sizes 40-46.",
                "category": "sneakers",
                "scheduled_for": "2026-12-04T18:00:00Z",
            }
        },
    },
}
