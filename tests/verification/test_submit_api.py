"""POST /api/v1/verification/ and GET /api/v1/verification/me/ through the URL."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import VerificationStatus
from soukloop.errors import Conflict
from tests.factories import UserFactory
from tests.verification.conftest import PDF_BYTES, image_bytes, pdf_bytes
from tests.verification.factories import TradeLicenceVerificationFactory, VerificationFactory, valid_emirates_id
from verification import crypto, services
from verification.models import SubmissionStatus, Verification, VerificationAuditLog

URL = "/api/v1/verification/"
ME_URL = "/api/v1/verification/me/"


def id_sides() -> dict:
    return {
        "emirates_id_front": SimpleUploadedFile("front.jpg", image_bytes("JPEG"), content_type="image/jpeg"),
        "emirates_id_back": SimpleUploadedFile("back.png", image_bytes("PNG"), content_type="image/png"),
    }


def licence(**overrides) -> dict:
    data = {
        "trade_license_number": "dmcc-123456",
        "issuing_authority": "dmcc",
        "trade_license_expiry": (datetime.date.today() + datetime.timedelta(days=300)).isoformat(),
        "trade_license_document": SimpleUploadedFile("licence.pdf", PDF_BYTES, content_type="application/pdf"),
    }
    return {**data, **overrides}


def error_codes(response) -> dict[str, str]:
    return {e["attr"]: e["code"] for e in response.json()["errors"]}


@pytest.mark.django_db
def test_emirates_id_submission_is_pending_and_masked(auth_client, seller):
    # given a seller with a valid number typed without dashes
    number = valid_emirates_id(serial=4455612)
    client = auth_client(seller)
    # when they submit both sides
    response = client.post(
        URL,
        {"verification_type": "emirates_id", "emirates_id_number": number.replace("-", ""), **id_sides()},
        format="multipart",
    )
    # then the submission is pending, the number comes back masked, the profile says pending
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "pending"
    assert body["verification_type"] == "emirates_id"
    assert body["emirates_id_number"] == f"784-****-*****12-{number[-1]}"
    assert body["documents"] == ["emirates_id_front", "emirates_id_back"]
    assert number.replace("-", "")[3:12] not in response.content.decode()
    seller.refresh_from_db()
    assert seller.verification_status == VerificationStatus.PENDING
    # and the number is stored encrypted, readable with the key only
    stored = Verification.objects.get(pk=body["id"])
    assert number not in stored.emirates_id_number and number.replace("-", "") not in stored.emirates_id_number
    assert crypto.decrypt(stored.emirates_id_number) == number
    assert stored.document_types == {"emirates_id_front": "image/jpeg", "emirates_id_back": "image/png"}
    assert VerificationAuditLog.objects.filter(verification=stored, action="submitted", actor=seller).exists()


@pytest.mark.django_db
def test_me_returns_the_latest_submission_masked(auth_client, seller):
    VerificationFactory(user=seller, number=valid_emirates_id(serial=9876512))
    response = auth_client(seller).get(ME_URL)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "pending"
    assert body["emirates_id_number"].startswith("784-****-*****12-")
    assert body["rejection_reason"] is None
    assert set(body) >= {"status", "verification_type", "submitted_at", "reviewed_at", "rejection_reason"}


@pytest.mark.django_db
def test_me_before_any_submission_says_none(auth_client, buyer):
    for path in (ME_URL, ME_URL.rstrip("/")):
        response = auth_client(buyer).get(path)
        assert response.status_code == 200
        assert response.json()["status"] == "none"
        assert response.json()["verification_type"] is None


@pytest.mark.django_db
def test_submission_needs_a_token(api_client):
    assert api_client.post(URL, {"verification_type": "emirates_id"}, format="multipart").status_code == 401
    assert api_client.get(ME_URL).status_code == 401


@pytest.mark.django_db
def test_both_needs_every_document_and_licence_detail(auth_client, seller):
    # given a "both" submission with nothing but the type
    response = auth_client(seller).post(URL, {"verification_type": "both"}, format="multipart")
    # then every missing field is named
    assert response.status_code == 400
    assert set(error_codes(response)) == {
        "emirates_id_number",
        "emirates_id_front",
        "emirates_id_back",
        "trade_license_number",
        "issuing_authority",
        "trade_license_expiry",
        "trade_license_document",
    }
    assert not Verification.objects.exists()


@pytest.mark.django_db
def test_emirates_id_without_the_back_side_is_refused(auth_client, seller):
    sides = id_sides()
    del sides["emirates_id_back"]
    response = auth_client(seller).post(
        URL,
        {"verification_type": "emirates_id", "emirates_id_number": valid_emirates_id(), **sides},
        format="multipart",
    )
    assert response.status_code == 400
    assert error_codes(response) == {"emirates_id_back": "required"}


@pytest.mark.django_db
def test_a_wrong_check_digit_is_a_400_on_the_field(auth_client, seller):
    number = valid_emirates_id()
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    response = auth_client(seller).post(
        URL, {"verification_type": "emirates_id", "emirates_id_number": wrong, **id_sides()}, format="multipart"
    )
    assert response.status_code == 400
    assert error_codes(response) == {"emirates_id_number": "emirates_id_checksum"}


@pytest.mark.django_db
def test_the_checksum_message_is_in_arabic_on_request(auth_client, seller):
    wrong = valid_emirates_id()[:-1] + str((int(valid_emirates_id()[-1]) + 1) % 10)
    response = auth_client(seller).post(
        URL,
        {"verification_type": "emirates_id", "emirates_id_number": wrong, **id_sides()},
        format="multipart",
        HTTP_ACCEPT_LANGUAGE="ar",
    )
    assert response.status_code == 400
    detail = response.json()["errors"][0]["detail"]
    assert "رقم الهوية" in detail


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "upload", "code"),
    [
        # text renamed .jpg: the name and the declared type lie, the bytes do not
        ("emirates_id_front", SimpleUploadedFile("front.jpg", b"just some text" * 10, "image/jpeg"), "file_type"),
        # a PDF is fine for a licence, not for a photo of the card
        ("emirates_id_back", SimpleUploadedFile("back.pdf", PDF_BYTES, "application/pdf"), "file_type"),
        ("emirates_id_front", SimpleUploadedFile("front.gif", image_bytes("GIF"), "image/gif"), "file_type"),
        ("emirates_id_front", SimpleUploadedFile("front.jpg", b"", "image/jpeg"), "empty"),
    ],
)
def test_id_photos_are_sniffed_by_content(auth_client, seller, field, upload, code):
    sides = {**id_sides(), field: upload}
    response = auth_client(seller).post(
        URL,
        {"verification_type": "emirates_id", "emirates_id_number": valid_emirates_id(), **sides},
        format="multipart",
    )
    assert response.status_code == 400
    assert error_codes(response) == {field: code}


@pytest.mark.django_db
def test_an_image_with_too_many_pixels_is_refused(auth_client, seller, settings):
    # a decompression bomb is small on the wire and huge in memory: the pixel cap stops it
    settings.MAX_IMAGE_PIXELS = 5000  # the 64x40 back side passes, 200x200 does not
    huge = SimpleUploadedFile("front.png", image_bytes("PNG", size=(200, 200)), "image/png")
    response = auth_client(seller).post(
        URL,
        {
            "verification_type": "emirates_id",
            "emirates_id_number": valid_emirates_id(),
            **{**id_sides(), "emirates_id_front": huge},
        },
        format="multipart",
    )
    assert response.status_code == 400
    assert error_codes(response) == {"emirates_id_front": "file_type"}


@pytest.mark.django_db
def test_an_oversized_document_is_refused(auth_client, seller, settings):
    settings.MAX_DOCUMENT_UPLOAD_BYTES = 1024
    big = SimpleUploadedFile("licence.pdf", PDF_BYTES + b"0" * 2048, "application/pdf")
    response = auth_client(seller).post(
        URL, {"verification_type": "trade_license", **licence(trade_license_document=big)}, format="multipart"
    )
    assert response.status_code == 400
    assert error_codes(response) == {"trade_license_document": "file_too_large"}


@pytest.mark.django_db
def test_trade_licence_submission(auth_client, seller):
    response = auth_client(seller).post(URL, {"verification_type": "trade_license", **licence()}, format="multipart")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["trade_license_number"] == "DMCC-123456"
    assert body["issuing_authority"] == "dmcc"
    assert body["emirate"] == "dubai"
    assert body["emirates_id_number"] is None
    assert body["documents"] == ["trade_license_document"]
    assert Verification.objects.get().document_types == {"trade_license_document": "application/pdf"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "attr", "code"),
    [
        ({"trade_license_expiry": datetime.date.today().isoformat()}, "trade_license_expiry", "licence_expired"),
        ({"trade_license_expiry": "2020-01-01"}, "trade_license_expiry", "licence_expired"),
        ({"trade_license_expiry": "not-a-date"}, "trade_license_expiry", "invalid"),
        ({"issuing_authority": "narnia_free_zone"}, "issuing_authority", "invalid_choice"),
    ],
)
def test_licence_details_are_checked(auth_client, seller, overrides, attr, code):
    response = auth_client(seller).post(
        URL, {"verification_type": "trade_license", **licence(**overrides)}, format="multipart"
    )
    assert response.status_code == 400
    assert error_codes(response) == {attr: code}


@pytest.mark.django_db
def test_unknown_type_is_refused(auth_client, seller):
    response = auth_client(seller).post(URL, {"verification_type": "passport"}, format="multipart")
    assert response.status_code == 400
    assert error_codes(response) == {"verification_type": "invalid_choice"}


@pytest.mark.django_db
def test_a_pending_submission_cannot_be_replaced(auth_client, seller):
    VerificationFactory(user=seller)
    response = auth_client(seller).post(URL, {"verification_type": "trade_license", **licence()}, format="multipart")
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "verification_pending"
    assert Verification.objects.filter(user=seller).count() == 1


@pytest.mark.django_db
def test_an_approved_person_cannot_submit_again(auth_client, seller):
    VerificationFactory(user=seller, status=SubmissionStatus.APPROVED)
    response = auth_client(seller).post(URL, {"verification_type": "trade_license", **licence()}, format="multipart")
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "already_verified"


@pytest.mark.django_db
def test_after_a_rejection_a_new_submission_keeps_the_history(auth_client, seller):
    # given a rejected submission
    old = VerificationFactory(user=seller, status=SubmissionStatus.REJECTED, rejection_reason="Blurred photo")
    client = auth_client(seller)
    # when the seller submits again
    response = client.post(URL, {"verification_type": "trade_license", **licence()}, format="multipart")
    # then a new pending submission exists next to the old one, unchanged
    assert response.status_code == 201
    old.refresh_from_db()
    assert old.status == "rejected" and old.rejection_reason == "Blurred photo"
    assert client.get(ME_URL).json()["id"] == response.json()["id"]
    history = client.get(URL).json()["results"]
    assert [row["status"] for row in history] == ["pending", "rejected"]
    assert history[1]["rejection_reason"] == "Blurred photo"


@pytest.mark.django_db
def test_one_emirates_id_cannot_verify_two_accounts_and_the_answer_tells_nobody(auth_client, seller, moderator):
    number = valid_emirates_id(serial=5550001)
    VerificationFactory(number=number)  # someone else, pending
    fresh_number = valid_emirates_id(serial=5550002)

    # the answer is the same as for a number nobody uses (a 409 told anyone the ID was on the platform)
    response = auth_client(seller).post(
        URL, {"verification_type": "emirates_id", "emirates_id_number": number, **id_sides()}, format="multipart"
    )
    other = auth_client(UserFactory()).post(
        URL, {"verification_type": "emirates_id", "emirates_id_number": fresh_number, **id_sides()}, format="multipart"
    )
    assert (response.status_code, other.status_code) == (201, 201)
    assert response.json().keys() == other.json().keys()
    assert response.json()["status"] == other.json()["status"] == "pending"
    assert number not in response.content.decode()

    # and moderators see the flag and cannot approve it
    flagged = Verification.objects.get(pk=response.json()["id"])
    assert flagged.id_on_another_account and flagged.emirates_id_digest == ""
    with pytest.raises(Conflict) as refused:
        services.verification_approve(verification=flagged, by=moderator)
    assert refused.value.code == "emirates_id_in_use"
    services.verification_reject(verification=flagged, by=moderator, code="id_in_use")
    seller.refresh_from_db()
    assert seller.verification_status == "rejected"


@pytest.mark.django_db
def test_my_history_lists_only_mine(auth_client, seller):
    VerificationFactory(user=seller, status=SubmissionStatus.REJECTED, rejection_reason="x")
    TradeLicenceVerificationFactory()  # someone else's
    results = auth_client(seller).get(URL).json()["results"]
    assert len(results) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("page_size", [5, 50])
def test_history_list_runs_constant_queries(auth_client, django_assert_max_num_queries, page_size):
    user = UserFactory()
    for _ in range(60):
        VerificationFactory(
            user=user, status=SubmissionStatus.REJECTED, rejection_reason="x", emirates_id_front="", emirates_id_back=""
        )
    client = auth_client(user)
    with django_assert_max_num_queries(3):  # user, count, page
        response = client.get(URL, {"page_size": page_size})
    assert len(response.json()["results"]) == page_size


# --- documents are what they claim (security review, findings 15 and 16) ------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "content",
    [
        b"<html><!-- %PDF-1.4 --><script>alert(document.cookie)</script></html>",
        b"%PDF-1.4\n" + b"not a pdf at all\n" * 20,
        pdf_bytes()[:200],  # truncated: no cross-reference table, no pages
    ],
    ids=["html-with-pdf-comment", "header-only", "truncated"],
)
def test_a_licence_that_only_claims_to_be_a_pdf_is_refused(auth_client, seller, content):
    body = licence(trade_license_document=SimpleUploadedFile("licence.pdf", content, "application/pdf"))

    response = auth_client(seller).post(URL, {"verification_type": "trade_license", **body}, format="multipart")

    assert response.status_code == 400
    assert error_codes(response) == {"trade_license_document": "file_type"}


@pytest.mark.django_db
def test_id_photos_are_stored_without_their_exif_gps(auth_client, seller):
    from PIL import Image

    gps_exif = Image.Exif()
    gps_exif[0x8825] = {1: "N", 2: (25.0, 4.0, 51.0), 3: "E", 4: (55.0, 8.0, 25.0)}  # GPSInfo: Dubai Marina
    gps_exif[0x010F] = "PhoneMaker"
    buffer = io.BytesIO()
    Image.new("RGB", (64, 40), "teal").save(buffer, format="JPEG", exif=gps_exif)
    assert Image.open(io.BytesIO(buffer.getvalue())).getexif()  # the upload does carry it
    sides = {**id_sides(), "emirates_id_front": SimpleUploadedFile("front.jpg", buffer.getvalue(), "image/jpeg")}

    response = auth_client(seller).post(
        URL,
        {"verification_type": "emirates_id", "emirates_id_number": valid_emirates_id(), **sides},
        format="multipart",
    )

    assert response.status_code == 201, response.content
    stored = Verification.objects.get(user=seller).emirates_id_front
    stored.open("rb")
    with Image.open(stored) as image:
        assert image.format == "JPEG"
        assert not image.getexif()
    stored.close()
