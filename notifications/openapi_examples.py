"""Examples for the OpenAPI document (attached by soukloop.schema.attach_examples)."""

from typing import Any

EXAMPLES: dict[str, dict[str, dict[str, Any]]] = {
    "devices_create": {"request": {"an_android_phone": {"platform": "android", "token": "fcm-registration-token"}}},
}
