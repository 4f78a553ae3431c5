"""Encryption at rest for Emirates ID numbers.

MultiFernet over ``settings.FIELD_ENCRYPTION_KEYS``: the first key encrypts, every key
decrypts, so keys rotate by prepending a new one and running ``verification_rotate_keys``.
The digest is an HMAC keyed by ``VERIFICATION_DIGEST_KEY`` (default: derived from
``SECRET_KEY``), so equal numbers can be found without decrypting (one ID on two accounts);
it does not change when encryption keys rotate.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(value: str) -> str:
    return _current().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    """The clear value, or ``""`` if no configured key opens the token (never raises)."""
    if not token:
        return ""
    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken:
        return ""


def rotate(token: str) -> str:
    """Re-encrypt ``token`` under the first (newest) key."""
    return _current().rotate(token.encode()).decode()


def digest(value: str) -> str:
    secret = (settings.VERIFICATION_DIGEST_KEY or settings.SECRET_KEY).encode()
    digest_key = hmac.new(secret, b"soukloop-emirates-id-digest", hashlib.sha256).digest()
    return hmac.new(digest_key, value.encode(), hashlib.sha256).hexdigest()
