"""Staff two-factor in the admin (django-otp TOTP): required for whoever may open identity
documents, enrolment for those without a device, wrong codes refused and counted by the
sign-in back-off."""

from __future__ import annotations

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"
IP = "203.0.113.9"


def _code(device: TOTPDevice, *, offset: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = totp.time + offset * device.step
    return f"{totp.token():0{device.digits}d}"


def _login(client, user, token=""):
    return client.post(
        LOGIN, {"username": user.username, "password": TEST_PASSWORD, "otp_token": token}, REMOTE_ADDR=IP
    )


@pytest.fixture
def enrolled(moderator) -> TOTPDevice:
    return TOTPDevice.objects.create(user=moderator, name="phone", confirmed=True)


def test_the_document_permission_without_a_device_signs_in_only_to_enrol(client, moderator):
    response = _login(client, moderator)

    assert response.status_code == 302
    assert response["Location"] == "/admin/otp/enrol/"
    # No admin page opens until a device is confirmed: the queue sends the person back.
    queue = client.get("/admin/verification/verification/")
    assert queue.status_code == 302
    assert queue["Location"].startswith("/admin/login/")
    assert client.get(queue["Location"])["Location"] == "/admin/otp/enrol/"


def test_enrolment_shows_the_otpauth_address_and_a_right_code_opens_the_admin(client, moderator):
    _login(client, moderator)

    page = client.get("/admin/otp/enrol/")
    device = TOTPDevice.objects.get(user=moderator)
    wrong = client.post("/admin/otp/enrol/", {"otp_token": "000000" if _code(device) != "000000" else "111111"})
    device.refresh_from_db()
    device.throttle_reset()  # a failure makes the device wait a second before the next try
    right = client.post("/admin/otp/enrol/", {"otp_token": _code(device)})

    assert page.status_code == 200
    assert "otpauth://totp/" in page.content.decode()
    assert "<svg" in page.content.decode()  # the QR code
    assert wrong.status_code == 200
    assert "wrong or has expired" in wrong.content.decode()
    assert right.status_code == 302 and right["Location"] == "/admin/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/admin/verification/verification/").status_code == 200


def test_an_enrolled_moderator_needs_the_code(client, moderator, enrolled):
    response = _login(client, moderator)

    assert response.status_code == 200
    assert "Type the code from your authenticator app" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_wrong_code_is_refused(client, moderator, enrolled):
    wrong = "123456" if _code(enrolled) != "123456" else "654321"

    response = _login(client, moderator, wrong)

    assert response.status_code == 200
    assert "wrong or has expired" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302


def test_the_right_code_opens_the_admin_and_cannot_be_replayed(client, moderator, enrolled):
    code = _code(enrolled)

    response = _login(client, moderator, code)
    assert response.status_code == 302
    assert client.get("/admin/verification/verification/").status_code == 200

    client.logout()
    assert _login(client, moderator, code).status_code == 200  # the same code twice: refused


def test_wrong_codes_count_for_the_back_off(client, moderator, enrolled):
    for _ in range(8):
        _login(client, moderator, "000001")
    enrolled.refresh_from_db()
    enrolled.throttle_reset()  # the device's own throttle aside, the account's back-off holds

    response = _login(client, moderator, _code(enrolled))

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    key = services.login_backoff_key(identifier=moderator.username, source=IP)
    assert services.login_backoff_wait(key=key, source=IP)


def test_wrong_passwords_still_back_off_with_two_factor(client, moderator, enrolled):
    for _ in range(8):
        client.post(LOGIN, {"username": moderator.username, "password": "wrong", "otp_token": ""}, REMOTE_ADDR=IP)

    response = _login(client, moderator, _code(enrolled))

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_staff_without_the_document_permission_may_sign_in_with_a_password(client):
    clerk = UserFactory(username="clerk", is_staff=True)

    response = _login(client, clerk)

    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_password_only_session_of_a_moderator_opens_no_admin_page(client, moderator):
    client.force_login_password_only(moderator)

    assert client.get("/admin/verification/verification/").status_code == 302
    assert client.get("/admin/otp/enrol/").status_code == 200  # but may enrol


def test_a_superuser_must_enrol_too(client):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)

    response = _login(client, root)

    assert response["Location"] == "/admin/otp/enrol/"
    assert client.get("/admin/").status_code == 302
