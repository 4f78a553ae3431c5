"""Live-show chat over REST: history, sending, and the host's and moderators' rules."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import Block
from streams.models import StreamChatMessage, StreamStatus
from tests.factories import UserFactory
from tests.streams.factories import StreamFactory

URL = "/api/v1/streams/"


@pytest.fixture
def live(host):
    return StreamFactory(user=host, status=StreamStatus.LIVE)


@pytest.fixture
def viewer(db):
    return UserFactory(username="viewer_mira")


def say(client, stream, text):
    return client.post(f"{URL}{stream.pk}/chat/", {"text": text}, format="json")


def codes(response):
    return [error["code"] for error in response.json()["errors"]]


def test_viewers_chat_and_everyone_reads_newest_first(auth_client, api_client, live, viewer, host):
    first = say(auth_client(viewer), live, "  Is the red pair a 42?  ")
    assert first.status_code == 201
    assert first.json()["text"] == "Is the red pair a 42?"
    assert first.json()["user"]["username"] == "viewer_mira"
    say(auth_client(host), live, "Yes, 42 and 43")
    page = api_client.get(f"{URL}{live.pk}/chat/").json()
    assert [m["text"] for m in page["results"]] == ["Yes, 42 and 43", "Is the red pair a 42?"]


def test_history_is_constant_queries(api_client, live, django_assert_max_num_queries):
    users = UserFactory.create_batch(5)
    for i in range(30):
        StreamChatMessage.objects.create(stream=live, user=users[i % 5], text=f"m{i}")
    with django_assert_max_num_queries(6):
        assert len(api_client.get(f"{URL}{live.pk}/chat/?page_size=30").json()["results"]) > 0


@pytest.mark.parametrize(("text", "code"), [("", "blank"), ("   ", "blank"), ("x" * 301, "max_length")])
def test_text_must_be_1_to_300_characters(auth_client, live, viewer, text, code):
    response = say(auth_client(viewer), live, text)
    assert response.status_code == 400 and codes(response) == [code]


def test_300_characters_are_fine(auth_client, live, viewer):
    assert say(auth_client(viewer), live, "x" * 300).status_code == 201


def test_anonymous_cannot_chat_and_strangers_the_host_blocked_see_no_show(api_client, auth_client, live, host):
    assert say(api_client, live, "hi").status_code == 401
    blocked = UserFactory()
    Block.objects.create(blocker=host, blocked=blocked)
    assert say(auth_client(blocked), live, "hi").status_code == 404
    assert auth_client(blocked).get(f"{URL}{live.pk}/chat/").status_code == 404


def test_the_chat_is_open_only_while_live(auth_client, host, viewer):
    for status in (StreamStatus.SCHEDULED, StreamStatus.ENDED):
        stream = StreamFactory(user=host, status=status)
        response = say(auth_client(viewer), stream, "hello")
        assert response.status_code == 409 and codes(response) == ["stream_not_live"]


def test_banned_words_are_refused_whole_words_case_insensitive(auth_client, live, host, viewer):
    response = auth_client(host).patch(
        f"{URL}{live.pk}/chat/settings/", {"banned_words": ["Scam", " fake "]}, format="json"
    )
    assert response.status_code == 200 and response.json()["banned_words"] == ["scam", "fake"]
    refused = say(auth_client(viewer), live, "this is a SCAM")
    assert refused.status_code == 400 and codes(refused) == ["banned_word"]
    assert say(auth_client(viewer), live, "scampi for dinner").status_code == 201
    assert say(auth_client(host), live, "no fake pairs here").status_code == 201  # the host is exempt


def test_links_are_blocked_unless_the_host_allows_them(auth_client, live, host, viewer):
    for text in ("see https://cheap.example", "www.kicks.ae", "dm me at kicks.com", "bit.ly/x1"):
        response = say(auth_client(viewer), live, text)
        assert response.status_code == 400 and codes(response) == ["links_not_allowed"], text
    auth_client(host).patch(f"{URL}{live.pk}/chat/settings/", {"links_allowed": True}, format="json")
    assert say(auth_client(viewer), live, "see https://cheap.example").status_code == 201


def test_slow_mode_one_message_per_n_seconds(auth_client, live, host, viewer):
    auth_client(host).patch(f"{URL}{live.pk}/chat/settings/", {"slow_mode_seconds": 30}, format="json")
    client = auth_client(viewer)
    assert say(client, live, "one").status_code == 201
    second = say(client, live, "two")
    assert second.status_code == 429 and codes(second) == ["slow_mode"]
    assert say(auth_client(UserFactory()), live, "someone else").status_code == 201


def test_per_user_rate_limit(auth_client, live, viewer, settings):
    settings.STREAM_CHAT_RATE_MESSAGES = 3
    with time_machine.travel(timezone.now().replace(second=1) + timedelta(minutes=1), tick=False):
        client = auth_client(viewer)
        assert [say(client, live, f"m{i}").status_code for i in range(4)] == [201, 201, 201, 429]


def test_mute_for_n_minutes(auth_client, live, host, viewer):
    response = auth_client(host).post(
        f"{URL}{live.pk}/chat/mute/", {"user_id": str(viewer.pk), "minutes": 5}, format="json"
    )
    assert response.status_code == 200
    refused = say(auth_client(viewer), live, "hello?")
    assert refused.status_code == 403 and codes(refused) == ["chat_muted"]
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        assert say(auth_client(viewer), live, "back").status_code == 201


@pytest.mark.parametrize("minutes", [0, 1441])
def test_mute_duration_is_bounded(auth_client, live, host, viewer, minutes):
    response = auth_client(host).post(
        f"{URL}{live.pk}/chat/mute/", {"user_id": str(viewer.pk), "minutes": minutes}, format="json"
    )
    assert response.status_code == 400 and codes(response) == ["invalid_duration"]


def test_ban_takes_their_messages_down_and_keeps_them_out(auth_client, api_client, live, host, viewer):
    say(auth_client(viewer), live, "buy my fakes")
    say(auth_client(UserFactory()), live, "nice pairs")
    assert auth_client(host).post(f"{URL}{live.pk}/chat/ban/", {"user_id": str(viewer.pk)}).status_code == 200
    assert [m["text"] for m in api_client.get(f"{URL}{live.pk}/chat/").json()["results"]] == ["nice pairs"]
    refused = say(auth_client(viewer), live, "again")
    assert refused.status_code == 403 and codes(refused) == ["chat_banned"]


def test_moderators_chosen_by_the_host_moderate_but_do_not_choose_moderators(auth_client, live, host, viewer):
    mod = UserFactory(username="mod_khalid")
    response = auth_client(host).patch(f"{URL}{live.pk}/chat/settings/", {"moderators": [str(mod.pk)]}, format="json")
    assert response.json()["moderators"] == [str(mod.pk)]
    message = say(auth_client(viewer), live, "spam spam").json()
    assert auth_client(mod).post(f"{URL}{live.pk}/chat/{message['id']}/delete/").status_code == 204
    assert auth_client(mod).patch(f"{URL}{live.pk}/chat/settings/", {"slow_mode_seconds": 5}).status_code == 200
    refused = auth_client(mod).patch(f"{URL}{live.pk}/chat/settings/", {"moderators": []}, format="json")
    assert refused.status_code == 403 and codes(refused) == ["not_stream_owner"]
    # A moderator cannot mute the host, nor another moderator.
    response = auth_client(mod).post(f"{URL}{live.pk}/chat/mute/", {"user_id": str(host.pk), "minutes": 5})
    assert response.status_code == 400 and codes(response) == ["cannot_moderate"]


def test_viewers_cannot_moderate(auth_client, live, viewer, host):
    message = say(auth_client(host), live, "welcome").json()
    client = auth_client(viewer)
    for response in (
        client.post(f"{URL}{live.pk}/chat/{message['id']}/delete/"),
        client.post(f"{URL}{live.pk}/chat/mute/", {"user_id": str(host.pk), "minutes": 5}),
        client.post(f"{URL}{live.pk}/chat/ban/", {"user_id": str(host.pk)}),
        client.patch(f"{URL}{live.pk}/chat/settings/", {"slow_mode_seconds": 1}),
        client.get(f"{URL}{live.pk}/chat/settings/"),
    ):
        assert response.status_code == 403 and codes(response) == ["not_chat_moderator"]


def test_deleting_an_unknown_message_is_404_and_twice_is_fine(auth_client, live, host, viewer):
    missing = auth_client(host).post(f"{URL}{live.pk}/chat/00000000-0000-0000-0000-000000000000/delete/")
    assert missing.status_code == 404 and codes(missing) == ["chat_message_not_found"]
    message = say(auth_client(viewer), live, "oops").json()
    for _ in range(2):
        assert auth_client(host).post(f"{URL}{live.pk}/chat/{message['id']}/delete/").status_code == 204


def test_the_hosts_next_show_starts_with_the_same_rules(auth_client, host, live):
    mod = UserFactory()
    auth_client(host).patch(
        f"{URL}{live.pk}/chat/settings/",
        {"banned_words": ["scam"], "links_allowed": True, "moderators": [str(mod.pk)]},
        format="json",
    )
    next_show = StreamFactory(user=host, status=StreamStatus.LIVE)
    body = auth_client(host).get(f"{URL}{next_show.pk}/chat/settings/").json()
    assert body == {
        "slow_mode_seconds": 0,
        "banned_words": ["scam"],
        "links_allowed": True,
        "moderators": [str(mod.pk)],
    }


def test_settings_are_validated(auth_client, live, host):
    client = auth_client(host)
    response = client.patch(f"{URL}{live.pk}/chat/settings/", {"slow_mode_seconds": 3601}, format="json")
    assert response.status_code == 400
    response = client.patch(f"{URL}{live.pk}/chat/settings/", {"banned_words": ["x" * 51]}, format="json")
    assert response.status_code == 400
    response = client.patch(
        f"{URL}{live.pk}/chat/settings/", {"moderators": ["00000000-0000-0000-0000-000000000000"]}, format="json"
    )
    assert response.status_code == 400 and codes(response) == ["user_not_found"]
