"""Races two requests can run into, with real threads and connections (PostgreSQL)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts import sms
from accounts.models import User
from tests.accounts.conftest import REGISTER_URL, SEND_OTP_URL, sign_up_body
from tests.factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _race(n: int, call: Callable[[int], int]) -> Counter:
    barrier = threading.Barrier(n)
    statuses: list[int] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            statuses.append(call(i))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Counter(statuses)


def test_simultaneous_sign_ups_with_one_email_create_one_account():
    # given six devices registering the same email with different usernames/phones
    def register(i: int) -> int:
        body = sign_up_body(username=f"noura{i}", phone=f"+97150123456{i}")
        return APIClient().post(REGISTER_URL, body, format="json").status_code

    # when they race
    statuses = _race(6, register)

    # then exactly one account exists and the others got a 400, never a 500
    assert statuses == Counter({201: 1, 400: 5})
    assert User.objects.filter(email__iexact="noura@example.ae").count() == 1


def test_simultaneous_code_requests_send_at_most_three():
    UserFactory(phone="+971501234567", is_verified=False)

    statuses = _race(
        10, lambda i: APIClient().post(SEND_OTP_URL, {"phone": "+971501234567"}, format="json").status_code
    )

    assert statuses == Counter({202: 3, 429: 7})
    assert len(sms.outbox) == 3
