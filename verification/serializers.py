from __future__ import annotations

from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import VerificationStatus
from soukloop.errors import ValidationError as DomainValidationError
from verification.documents import PDF, cleaned_image, validate_document
from verification.emirates_id import normalize_emirates_id
from verification.models import (
    AUTHORITY_EMIRATE,
    IssuingAuthority,
    RejectionReason,
    SubmissionStatus,
    Verification,
    VerificationType,
)
from verification.services import Document

NEEDS_EMIRATES_ID = (VerificationType.EMIRATES_ID, VerificationType.BOTH)
NEEDS_TRADE_LICENSE = (VerificationType.TRADE_LICENSE, VerificationType.BOTH)


class VerificationSubmitSerializer(serializers.Serializer):
    """Multipart input. Which fields are required depends on ``verification_type``."""

    verification_type = serializers.ChoiceField(choices=VerificationType.choices)
    emirates_id_number = serializers.CharField(
        required=False, allow_blank=True, max_length=32, help_text="15 digits, with or without dashes"
    )
    emirates_id_front = serializers.FileField(required=False, help_text="photo: JPEG, PNG or WebP")
    emirates_id_back = serializers.FileField(required=False, help_text="photo: JPEG, PNG or WebP")
    trade_license_number = serializers.CharField(required=False, allow_blank=True, max_length=64)
    issuing_authority = serializers.ChoiceField(choices=IssuingAuthority.choices, required=False, allow_blank=True)
    trade_license_expiry = serializers.DateField(required=False, allow_null=True)
    trade_license_document = serializers.FileField(required=False, help_text="PDF or image")

    def validate(self, attrs: dict) -> dict:
        errors: dict[str, list] = {}

        def fail(attr: str, message, code: str = "required") -> None:
            errors.setdefault(attr, []).append(serializers.ErrorDetail(str(message), code=code))

        def check(attr: str, call) -> object:
            try:
                return call()
            except DomainValidationError as exc:
                fail(attr, exc.detail, exc.code)
                return None

        kind = attrs["verification_type"]
        if kind in NEEDS_EMIRATES_ID:
            number = (attrs.get("emirates_id_number") or "").strip()
            if not number:
                fail("emirates_id_number", _("The Emirates ID number is required."))
            else:
                attrs["emirates_id_number"] = check("emirates_id_number", lambda: normalize_emirates_id(number))
            for side in ("emirates_id_front", "emirates_id_back"):
                if not attrs.get(side):
                    fail(side, _("Both sides of the Emirates ID are required."))
                else:
                    upload = attrs[side]
                    content_type = check(side, lambda up=upload, s=side: validate_document(up, attr=s, allow_pdf=False))
                    cleaned = check(side, lambda up=upload, s=side: cleaned_image(up, attr=s)) if content_type else None
                    attrs[side] = Document(file=cleaned, content_type=content_type) if cleaned else None
        else:
            for field in ("emirates_id_number", "emirates_id_front", "emirates_id_back"):
                attrs.pop(field, None)
        if kind in NEEDS_TRADE_LICENSE:
            if not (attrs.get("trade_license_number") or "").strip():
                fail("trade_license_number", _("The trade licence number is required."))
            else:
                attrs["trade_license_number"] = attrs["trade_license_number"].strip().upper()
            if not attrs.get("issuing_authority"):
                fail("issuing_authority", _("Choose the authority that issued the trade licence."))
            expiry = attrs.get("trade_license_expiry")
            if expiry is None:
                fail("trade_license_expiry", _("The trade licence expiry date is required."))
            # judged by the date in the UAE (the API's own time zone is UTC)
            elif expiry <= timezone.localdate(timezone=ZoneInfo(settings.TIME_ZONE)):
                fail("trade_license_expiry", _("The trade licence has expired."), "licence_expired")
            if not attrs.get("trade_license_document"):
                fail("trade_license_document", _("A copy of the trade licence is required."))
            else:
                upload = attrs["trade_license_document"]
                content_type = check(
                    "trade_license_document",
                    lambda: validate_document(upload, attr="trade_license_document", allow_pdf=True),
                )
                if content_type and content_type != PDF:
                    upload = check(
                        "trade_license_document", lambda: cleaned_image(upload, attr="trade_license_document")
                    )
                attrs["trade_license_document"] = (
                    Document(file=upload, content_type=content_type) if content_type and upload else None
                )
        else:
            for field in (
                "trade_license_number",
                "issuing_authority",
                "trade_license_expiry",
                "trade_license_document",
            ):
                attrs.pop(field, None)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class VerificationSerializer(serializers.ModelSerializer):
    """A person's own submission. The ID number only ever leaves masked; documents are
    never linked (they are reachable only through the moderators' admin)."""

    status = serializers.ChoiceField(choices=VerificationStatus.choices, read_only=True)
    # "" until decided / for an Emirates ID: blank is a value the schema must allow.
    rejection_code = serializers.ChoiceField(choices=RejectionReason.choices, allow_blank=True, read_only=True)
    issuing_authority = serializers.ChoiceField(choices=IssuingAuthority.choices, allow_blank=True, read_only=True)
    emirates_id_number = serializers.SerializerMethodField(help_text="masked: 784-****-*****12-3")
    rejection_reason = serializers.SerializerMethodField()
    emirate = serializers.SerializerMethodField()
    documents = serializers.SerializerMethodField(help_text="which documents were received")

    class Meta:
        model = Verification
        fields = (
            "id",
            "status",
            "verification_type",
            "submitted_at",
            "reviewed_at",
            "rejection_reason",
            "rejection_code",
            "emirates_id_number",
            "trade_license_number",
            "issuing_authority",
            "emirate",
            "trade_license_expiry",
            "documents",
        )
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_emirates_id_number(self, obj: Verification) -> str | None:
        return obj.emirates_id_masked or None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_rejection_reason(self, obj: Verification) -> str | None:
        if obj.status != SubmissionStatus.REJECTED:
            return None
        if obj.rejection_code in RejectionReason.values:
            return str(RejectionReason(obj.rejection_code).label)  # in the reader's language
        return obj.rejection_reason

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_emirate(self, obj: Verification) -> str | None:
        return AUTHORITY_EMIRATE.get(obj.issuing_authority) or None

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_documents(self, obj: Verification) -> list[str]:
        return [
            name for name in ("emirates_id_front", "emirates_id_back", "trade_license_document") if getattr(obj, name)
        ]


def no_submission_data() -> dict:
    """``GET me/`` before any submission: the same shape, ``status: none``."""
    data = dict.fromkeys(VerificationSerializer.Meta.fields)
    data.update(status=VerificationStatus.NONE.value, documents=[])
    return data
