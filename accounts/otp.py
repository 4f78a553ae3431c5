"""Staff two-factor (django-otp TOTP): who must use it, and whether they have a device."""

from __future__ import annotations

from typing import Any

DOCUMENT_PERMISSION = "verification.view_verification_document"


def has_confirmed_device(user: Any) -> bool:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def otp_required(user: Any) -> bool:
    """Two-factor is a must for whoever may see identity documents, and for whoever enrolled."""
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return False
    return user.has_perm(DOCUMENT_PERMISSION) or has_confirmed_device(user)
