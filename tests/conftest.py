from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import Role, User
from accounts.roles import MODERATORS_GROUP, sync_moderators_group
from tests.factories import SellerFactory, UserFactory


def pytest_collection_modifyitems(config, items):
    """Tests marked ``postgres`` need real row locks / full-text search: skip them, with the
    reason, on the embedded SpatiaLite run (CI runs them against PostGIS)."""
    from django.conf import settings

    if settings.IS_POSTGRES:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (row locks, full-text search); run with DATABASE_URL=postgis://")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def _celery_eager():
    """Tasks run in the test's own process and transaction (``tests/notifications/test_worker.py``
    starts a real worker over Redis where that is what is tested)."""
    from soukloop.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield


def drop_broker_connections(app) -> None:
    """Forget the Celery app's pooled broker connections (after its ``broker_url`` changed).

    Not ``app.close()``: that also takes the app out of Celery's active apps, and a
    ``shared_task`` module imported after it (``auctions.tasks`` in a later test) was then never
    registered in it: ``NotRegistered`` depending on which tests ran first."""
    app._pool = None  # what close() does first


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Argon2 costs ~50 ms a hash and factories hash one per user: the suite spent most of its
    time there. Production keeps Argon2 (settings); what a test observes is the same."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _isolated_cache():
    """Each test starts with an empty cache (OTP codes, throttles, viewer sets)."""
    _clear_cache()
    yield
    _clear_cache()


def _clear_cache() -> None:
    from soukloop import shared

    shared.forget()  # what this process remembers of the cache's shared values
    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")  # only this run's KEY_PREFIX, not the whole Redis
    else:
        cache.clear()


@pytest.fixture(autouse=True)
def _outgoing_messages_in_memory(settings, tmp_path):
    """Email, SMS and push go to in-memory outboxes; files land in a per-test folder."""
    from notifications import push

    push.outbox.clear()
    settings.PUSH_BACKEND = "notifications.push.LocmemPushBackend"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.BACKGROUND_EAGER = True  # after-commit work runs inline, so tests see its effects
    settings.SMS_BACKEND = "accounts.sms.LocmemSMSBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms")
    settings.EMAIL_FILE_PATH = str(tmp_path / "email")
    settings.PUSH_FILE_PATH = str(tmp_path / "push")
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.PRIVATE_MEDIA_ROOT = str(tmp_path / "private")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media"), "base_url": settings.MEDIA_URL},
        },
        "private": {
            "BACKEND": "soukloop.storage.PrivateFileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private"), "base_url": None},
        },
    }


@pytest.fixture
def keep_connections_across_requests() -> Iterator[None]:
    """A test that drives Django's request handler or closes a response itself (not through the
    test client, which does this for its own calls): the end of a request must not close the
    test's database connection, held in its transaction, as an old one."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def auth_client() -> Callable[[User], APIClient]:
    """``auth_client(user)`` → an APIClient sending ``Authorization: Bearer <access>``."""

    def make(user: User) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
        return client

    return make


@pytest.fixture
def buyer(db) -> User:
    return UserFactory(username="layla", email="layla@example.ae", role=Role.BUYER)


@pytest.fixture
def seller(db) -> User:
    return SellerFactory(username="omar", email="omar@example.ae")


@pytest.fixture
def moderator(db) -> User:
    user = UserFactory(username="mod_sara", email="sara@soukloop.ae", role=Role.BUYER, is_staff=True)
    sync_moderators_group()
    user.groups.add(Group.objects.get(name=MODERATORS_GROUP))
    return user


@pytest.fixture(autouse=True)
def _staff_sessions_pass_two_factor(monkeypatch):
    """``client.force_login(staff)`` gives an OTP-verified admin session, as if the person had
    typed their authenticator code (the admin requires one for the document permission).
    Tests of the sign-in itself post to the login page, or use ``force_login_password_only``."""
    from django.test import Client

    original = Client.force_login

    def force_login(self, user, backend=None):
        original(self, user, backend)
        if user.is_staff:
            otp_verify_session(self, user)

    monkeypatch.setattr(Client, "force_login", force_login)
    monkeypatch.setattr(Client, "force_login_password_only", original, raising=False)


def otp_verify_session(client, user) -> None:
    """Mark ``client``'s session as verified by a (created if needed) confirmed TOTP device."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
        user=user, name="test", confirmed=True
    )
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


@pytest.fixture
def is_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture(autouse=True)
def _empty_sms_outbox():
    from accounts import sms

    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def fresh_compiled_statements() -> Iterator[None]:
    """No statement compiled by an earlier test (``soukloop.compiled``), none left for a later one."""
    from soukloop import compiled

    compiled.forget()
    yield
    compiled.forget()
