from __future__ import annotations

import datetime

import factory
from django.core.files.base import ContentFile

from tests.factories import SellerFactory
from tests.verification.conftest import PDF_BYTES, image_bytes
from verification import crypto
from verification.emirates_id import last4, luhn_check_digit
from verification.models import IssuingAuthority, SubmissionStatus, Verification, VerificationType


def valid_emirates_id(serial: int = 1234567, year: int = 1990) -> str:
    """A well-formed, checksum-valid number: ``784-YYYY-NNNNNNN-C``."""
    payload = f"784{year:04d}{serial:07d}"
    return f"784-{year:04d}-{serial:07d}-{luhn_check_digit(payload)}"


class VerificationFactory(factory.django.DjangoModelFactory):
    """A pending Emirates ID submission with both sides stored, encrypted like the service does."""

    class Meta:
        model = Verification

    class Params:
        number = factory.Sequence(lambda n: valid_emirates_id(serial=1000000 + n))

    # No password hashing (argon2 is slow by design): these people authenticate by token in tests.
    user = factory.SubFactory(SellerFactory, password=None)
    verification_type = VerificationType.EMIRATES_ID
    status = SubmissionStatus.PENDING
    emirates_id_number = factory.LazyAttribute(lambda o: crypto.encrypt(o.number))
    emirates_id_last4 = factory.LazyAttribute(lambda o: last4(o.number))
    emirates_id_digest = factory.LazyAttribute(lambda o: crypto.digest(o.number))
    emirates_id_front = factory.LazyFunction(lambda: ContentFile(image_bytes(), name="front.jpg"))
    emirates_id_back = factory.LazyFunction(lambda: ContentFile(image_bytes(color="navy"), name="back.jpg"))
    document_types = factory.LazyFunction(lambda: {"emirates_id_front": "image/jpeg", "emirates_id_back": "image/jpeg"})


class TradeLicenceVerificationFactory(VerificationFactory):
    verification_type = VerificationType.TRADE_LICENSE
    emirates_id_number = ""
    emirates_id_last4 = ""
    emirates_id_digest = ""
    emirates_id_front = ""
    emirates_id_back = ""
    trade_license_number = factory.Sequence(lambda n: f"DMCC-{100000 + n}")
    issuing_authority = IssuingAuthority.DMCC
    trade_license_expiry = factory.LazyFunction(lambda: datetime.date.today() + datetime.timedelta(days=200))
    trade_license_document = factory.LazyFunction(lambda: ContentFile(PDF_BYTES, name="licence.pdf"))
    document_types = factory.LazyFunction(lambda: {"trade_license_document": "application/pdf"})
