"""Scheduling, editing, deleting and browsing streams (docs/api.md: Streams, first rows)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import Block, Follow, VerificationStatus
from streams.models import Stream, StreamStatus
from tests.factories import UserFactory
from tests.streams.factories import HostFactory, StreamFactory, StreamProductFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/streams/"


def _codes(response) -> list[str]:
    return [error["code"] for error in response.json()["errors"]]


def test_schedule_stream_returns_201_scheduled(host_client, host):
    # given a verified seller and a time tomorrow
    when_ = (timezone.now() + timedelta(days=1)).replace(microsecond=0)
    # when they schedule a stream
    response = host_client.post(
        URL, {"title": "Jordan 1 drop", "category": "sneakers", "scheduled_for": when_.isoformat()}
    )
    # then it is scheduled, theirs, and carries no publishing credentials
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "scheduled"
    assert body["seller"]["username"] == host.username
    assert parse_datetime(body["scheduled_for"]) == when_
    assert "stream_key" not in body and "rtmp_url" not in body
    assert Stream.objects.get(pk=body["id"]).user == host


def test_schedule_without_slash_and_without_time(host_client):
    response = host_client.post(URL.rstrip("/"), {"title": "Right now", "category": "books"})
    assert response.status_code == 201
    assert response.json()["scheduled_for"] is None


@pytest.mark.parametrize(
    ("payload", "attr"),
    [
        ({"category": "sneakers"}, "title"),
        ({"title": "x", "category": "boats"}, "category"),
        ({"title": "x" * 151, "category": "sneakers"}, "title"),
        ({"title": "x", "category": "sneakers", "scheduled_for": "tomorrow"}, "scheduled_for"),
        ({"title": "x", "category": "sneakers", "scheduled_for": "2020-01-01T10:00:00Z"}, "scheduled_for"),
        ({"title": "x", "category": "sneakers", "thumbnail_url": "https://evil.example.com/x.jpg"}, "thumbnail_url"),
    ],
)
def test_schedule_rejects_bad_input_with_field_errors(host_client, payload, attr):
    response = host_client.post(URL, payload)
    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"
    assert attr in [error["attr"] for error in response.json()["errors"]]


def test_schedule_requires_login(api_client):
    assert api_client.post(URL, {"title": "x", "category": "sneakers"}).status_code == 401


@pytest.mark.parametrize("status_", [VerificationStatus.NONE, VerificationStatus.PENDING, VerificationStatus.REJECTED])
def test_verification_gate_refuses_unapproved_seller(auth_client, status_):
    # given a seller whose identity is not approved
    seller = HostFactory(verification_status=status_)
    # when they schedule
    response = auth_client(seller).post(URL, {"title": "x", "category": "sneakers"})
    # then 403 says why
    assert response.status_code == 403
    assert _codes(response) == ["verification_required"]
    assert not Stream.objects.exists()


def test_verification_gate_message_in_arabic(auth_client):
    seller = HostFactory(verification_status=VerificationStatus.PENDING)
    response = auth_client(seller).post(URL, {"title": "x", "category": "sneakers"}, HTTP_ACCEPT_LANGUAGE="ar")
    assert response.status_code == 403
    detail = response.json()["errors"][0]["detail"]
    assert "هويتك" in detail


def test_verification_gate_can_be_switched_off(auth_client, settings):
    settings.REQUIRE_VERIFICATION_TO_STREAM = False
    seller = HostFactory(verification_status=VerificationStatus.NONE)
    assert auth_client(seller).post(URL, {"title": "x", "category": "sneakers"}).status_code == 201


def test_buyer_cannot_host(auth_client):
    buyer = UserFactory(verification_status=VerificationStatus.APPROVED)
    response = auth_client(buyer).post(URL, {"title": "x", "category": "sneakers"})
    assert response.status_code == 403
    assert _codes(response) == ["seller_role_required"]


def test_owner_edits_scheduled_stream(host_client, scheduled_stream):
    response = host_client.patch(f"{URL}{scheduled_stream.pk}/", {"title": "New title", "category": "books"})
    assert response.status_code == 200
    assert response.json()["title"] == "New title"
    scheduled_stream.refresh_from_db()
    assert (scheduled_stream.title, scheduled_stream.category) == ("New title", "books")


def test_other_user_cannot_edit_or_delete(auth_client, scheduled_stream):
    stranger = auth_client(HostFactory())
    assert stranger.patch(f"{URL}{scheduled_stream.pk}/", {"title": "Mine now"}).status_code == 403
    assert stranger.delete(f"{URL}{scheduled_stream.pk}/").status_code == 403
    scheduled_stream.refresh_from_db()
    assert scheduled_stream.title != "Mine now"


@pytest.mark.parametrize("status_", [StreamStatus.LIVE, StreamStatus.ENDED])
def test_started_stream_cannot_be_edited(host_client, host, status_):
    stream = StreamFactory(user=host, status=status_)
    response = host_client.patch(f"{URL}{stream.pk}", {"title": "Changed"})
    assert response.status_code == 409
    assert _codes(response) == [f"stream_{status_}"]


def test_live_stream_cannot_be_deleted_but_scheduled_can(host_client, host):
    live = StreamFactory(user=host, status=StreamStatus.LIVE)
    scheduled = StreamFactory(user=host)
    StreamProductFactory(stream=scheduled)
    assert host_client.delete(f"{URL}{live.pk}/").status_code == 409
    assert host_client.delete(f"{URL}{scheduled.pk}").status_code == 204
    assert list(Stream.objects.values_list("pk", flat=True)) == [live.pk]


def test_unknown_stream_is_404(host_client):
    assert host_client.get(f"{URL}00000000-0000-0000-0000-000000000000/").status_code == 404
    assert host_client.get(f"{URL}not-a-uuid/").status_code == 404


def test_list_is_public_live_by_viewers_then_upcoming_by_time(api_client):
    # given live, scheduled and ended streams
    now = timezone.now()
    later = StreamFactory(scheduled_for=now + timedelta(days=2))
    sooner = StreamFactory(scheduled_for=now + timedelta(hours=1))
    busy = StreamFactory(status=StreamStatus.LIVE, viewer_count=40)
    quiet = StreamFactory(status=StreamStatus.LIVE, viewer_count=3)
    past = StreamFactory(status=StreamStatus.ENDED, ended_at=now)
    # when anyone lists them
    response = api_client.get(URL)
    # then live (most watched first), then upcoming (soonest first), then past
    assert response.status_code == 200
    ids = [row["id"] for row in response.json()["results"]]
    assert ids == [str(s.pk) for s in (busy, quiet, sooner, later, past)]


def test_filter_by_status_orders_upcoming_by_scheduled_for(api_client):
    now = timezone.now()
    later = StreamFactory(scheduled_for=now + timedelta(days=2))
    sooner = StreamFactory(scheduled_for=now + timedelta(hours=1))
    StreamFactory(status=StreamStatus.LIVE)
    response = api_client.get(URL, {"status": "scheduled"})
    assert [row["id"] for row in response.json()["results"]] == [str(sooner.pk), str(later.pk)]


def test_filter_by_category_and_seller(api_client):
    books = StreamFactory(category="books")
    sneakers = StreamFactory(category="sneakers")
    assert [r["id"] for r in api_client.get(URL, {"category": "books"}).json()["results"]] == [str(books.pk)]
    by_name = api_client.get(URL, {"seller": sneakers.user.username.upper()}).json()["results"]
    by_id = api_client.get(URL, {"seller": str(sneakers.user.pk)}).json()["results"]
    assert [r["id"] for r in by_name] == [r["id"] for r in by_id] == [str(sneakers.pk)]


def test_bad_filter_value_is_400(api_client):
    response = api_client.get(URL, {"status": "paused"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "status"


def test_following_filter_shows_streams_of_people_i_follow(auth_client, buyer):
    followed = StreamFactory()
    StreamFactory()
    Follow.objects.create(follower=buyer, following=followed.user)
    response = auth_client(buyer).get(URL, {"following": "true"})
    assert [r["id"] for r in response.json()["results"]] == [str(followed.pk)]


def test_following_filter_is_empty_for_anonymous(api_client):
    StreamFactory()
    assert api_client.get(URL, {"following": "true"}).json()["results"] == []


def test_streams_of_a_host_who_blocked_me_do_not_exist_for_me(auth_client, buyer):
    stream = StreamFactory()
    Block.objects.create(blocker=stream.user, blocked=buyer)
    client = auth_client(buyer)
    assert client.get(URL).json()["results"] == []
    assert client.get(f"{URL}{stream.pk}/").status_code == 404


@pytest.mark.parametrize("page_size", [5, 50])
def test_list_runs_constant_queries(api_client, django_assert_max_num_queries, page_size):
    for _ in range(page_size):
        stream = StreamFactory(status=StreamStatus.LIVE)
        StreamProductFactory(stream=stream)
    with django_assert_max_num_queries(2):  # count + page
        response = api_client.get(URL, {"page_size": page_size})
    assert len(response.json()["results"]) == page_size
    assert all(row["products_count"] == 1 for row in response.json()["results"])


@pytest.mark.parametrize("page_size", [5, 50])
def test_list_for_logged_in_user_runs_constant_queries(auth_client, buyer, django_assert_max_num_queries, page_size):
    for _ in range(page_size):
        Follow.objects.create(follower=buyer, following=StreamFactory().user)
    client = auth_client(buyer)
    with django_assert_max_num_queries(3):  # user + count + page
        response = client.get(URL, {"page_size": page_size, "following": "true"})
    assert len(response.json()["results"]) == page_size
