"""Identity documents never have a public URL; staff reach them only through the
permission-checked, audited admin view."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.files.storage import storages
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory
from tests.verification.conftest import PDF_BYTES, image_bytes
from tests.verification.factories import TradeLicenceVerificationFactory, VerificationFactory
from verification.models import AuditAction, VerificationAuditLog


def document_url(verification, field: str = "emirates_id_front") -> str:
    return reverse("admin:verification_verification_document", args=[verification.pk, field])


@pytest.mark.django_db
def test_documents_live_outside_public_media_and_no_url_serves_them(client, auth_client):
    # given a stored submission
    verification = VerificationFactory()
    name = verification.emirates_id_front.name
    private_root = Path(storages["private"].location)
    # then the file is in private storage, not under MEDIA_ROOT
    assert (private_root / name).is_file()
    assert not (Path(settings.MEDIA_ROOT) / name).exists()
    # and the storage will not even make a URL for it
    with pytest.raises(ValueError):
        storages["private"].url(name)
    # and no guessed URL reaches it: not /media/, not a traversal
    for path in (f"/media/{name}", f"/media/../private/{name}", f"/{name}", f"/private/{name}"):
        response = client.get(path)
        assert response.status_code in (400, 404), path  # 400: Django refuses the traversal outright
        assert image_bytes() not in b"".join(getattr(response, "streaming_content", [response.content]))
    # and the API response names no file
    body = auth_client(verification.user).get("/api/v1/verification/me/").content.decode()
    assert name not in body and "/media/" not in body and "private" not in body


@pytest.mark.django_db
def test_moderator_gets_the_document_streamed_and_the_access_logged(moderator):
    verification = VerificationFactory()
    client = Client()
    client.force_login(moderator)
    # when the moderator opens the front side
    response = client.get(document_url(verification), REMOTE_ADDR="10.1.2.3")
    # then the exact bytes come back, typed, uncacheable, and the access is logged with the IP
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert {"private", "no-store"} <= {part.strip() for part in response["Cache-Control"].split(",")}
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == image_bytes()
    entry = VerificationAuditLog.objects.get(action=AuditAction.VIEWED_DOCUMENT)
    assert (entry.actor, entry.detail, entry.ip, entry.verification_ref) == (
        moderator,
        "emirates_id_front",
        "10.1.2.3",
        verification.pk,
    )


@pytest.mark.django_db
def test_pdf_licence_is_served_as_pdf(moderator):
    verification = TradeLicenceVerificationFactory()
    client = Client()
    client.force_login(moderator)
    response = client.get(document_url(verification, "trade_license_document"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == PDF_BYTES


@pytest.mark.django_db
def test_document_view_refuses_everyone_else(client, moderator):
    verification = VerificationFactory()
    url = document_url(verification)
    # anonymous → admin login
    response = client.get(url)
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]
    # the owner, logged into the site but not staff → admin login too
    client.force_login(verification.user)
    assert client.get(url).status_code == 302
    # staff with view permission but not view_verification_document → 403
    staff = UserFactory(is_staff=True, password=None)
    staff.user_permissions.add(Permission.objects.get(codename="view_verification"))
    client.force_login(staff)
    assert client.get(url).status_code == 403
    # a moderator asking for a field that is not a document, or a missing one → 404
    client.force_login(moderator)
    assert client.get(document_url(verification, "emirates_id_number")).status_code == 404
    assert client.get(document_url(verification, "trade_license_document")).status_code == 404
    assert not VerificationAuditLog.objects.filter(action=AuditAction.VIEWED_DOCUMENT).exists()


@pytest.mark.django_db
def test_logs_carry_no_id_number(caplog, auth_client, seller):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.verification.factories import valid_emirates_id

    number = valid_emirates_id(serial=8080808)
    caplog.set_level("DEBUG")
    auth_client(seller).post(
        "/api/v1/verification/",
        {
            "verification_type": "emirates_id",
            "emirates_id_number": number,
            "emirates_id_front": SimpleUploadedFile("f.jpg", image_bytes(), "image/jpeg"),
            "emirates_id_back": SimpleUploadedFile("b.jpg", image_bytes(), "image/jpeg"),
        },
        format="multipart",
    )
    assert "verification submitted" in caplog.text
    assert number not in caplog.text and number.replace("-", "") not in caplog.text
