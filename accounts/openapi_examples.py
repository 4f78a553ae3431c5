"""Examples for the OpenAPI document (attached by soukloop.schema.attach_examples)."""

from typing import Any

EXAMPLES: dict[str, dict[str, dict[str, Any]]] = {
    "auth_register_create": {
        "request": {
            "seller_signing_up": {
                "email": "noura@example.ae",
                "username": "noura_sneakers",
                "password": "Dune-Bashing-At-Dawn-77",
                "phone": "050 123 4567",
                "full_name": "Noura Al Mansoori",
                "role": "seller",
            }
        },
    },
    "auth_login_create": {
        "request": {
            "by_phone": {"identifier": "+971501234567", "password": "Dune-Bashing-At-Dawn-77"},
            "by_username": {"identifier": "noura_sneakers", "password": "Dune-Bashing-At-Dawn-77"},
        },
        "401": {
            "wrong_password": {
                "type": "client_error",
                "errors": [{"code": "invalid_credentials", "detail": "Wrong sign-in details.", "attr": None}],
            }
        },
    },
}
