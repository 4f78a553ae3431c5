"""Examples for the OpenAPI document (attached by soukloop.schema.attach_examples). The number is
a made-up one with a valid check digit; the files travel as multipart parts."""

from typing import Any

EXAMPLES: dict[str, dict[str, dict[str, Any]]] = {
    "verification_create": {
        "request": {
            "emirates_id": {
                "verification_type": "emirates_id",
                "emirates_id_number": "784-1990-1234567-0",
                "emirates_id_front": "(binary: a JPEG, PNG or PDF of the front)",
                "emirates_id_back": "(binary: a JPEG, PNG or PDF of the back)",
            }
        },
    },
}
