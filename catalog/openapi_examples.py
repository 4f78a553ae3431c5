"""Examples for the OpenAPI document (attached by soukloop.schema.attach_examples)."""

from typing import Any

EXAMPLES: dict[str, dict[str, dict[str, Any]]] = {
    "products_create": {
        "request": {
            "sneakers_in_jlt": {
                "title": "Air Jordan 1 Retro High, size 43",
                "description": "Worn twice, original box.",
                "price": "900.00",
                "original_price": "1200.00",
                "category": "sneakers",
                "condition": "like_new",
                "latitude": 25.0693,
                "longitude": 55.1412,
                "neighborhood": "JLT",
                "image_urls": ["https://media.soukloop.ae/products/2f1c/aj1-front.jpg"],
                "tags": ["jordan", "nike"],
            }
        },
        "400": {
            "bad_price": {
                "type": "validation_error",
                "errors": [{"code": "min_value", "detail": "Ensure this value is at least 1.", "attr": "price"}],
            }
        },
    },
}
