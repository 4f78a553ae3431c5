"""Messages: send rules, unread counts, read receipts, cursor pagination, push, blocking."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import Block
from messaging.models import Conversation, Message
from notifications import push
from notifications.models import Device, Notification
from soukloop.storage import media_base_url
from tests.messaging.factories import MessageFactory

pytestmark = pytest.mark.django_db


def messages_url(conversation):
    return f"/api/v1/conversations/{conversation.pk}/messages/"


def conversation_row(client, conversation):
    return client.get(f"/api/v1/conversations/{conversation.pk}/").json()


def test_sending_text_bumps_the_recipient_and_the_last_message(buyer_client, seller_client, conversation, buyer):
    # when Layla writes twice
    first = buyer_client.post(messages_url(conversation), {"message_type": "text", "content": "Hi!"}, format="json")
    second = buyer_client.post(
        messages_url(conversation).rstrip("/"), {"content": "  Still for sale?  "}, format="json"
    )

    # then both are stored, trimmed, and Omar has 2 unread; Layla 0
    assert first.status_code == second.status_code == 201
    body = second.json()
    assert body["content"] == "Still for sale?"
    assert body["sender"]["username"] == buyer.username
    assert body["is_mine"] is True
    assert body["is_read"] is False
    his = conversation_row(seller_client, conversation)
    assert his["unread_count"] == 2
    assert his["last_message"]["id"] == body["id"]
    assert conversation_row(buyer_client, conversation)["unread_count"] == 0


def test_each_message_pushes_to_the_recipient_after_commit(
    buyer_client, conversation, buyer, seller, django_capture_on_commit_callbacks
):
    Device.objects.create(user=seller, platform="android", token="omar-phone")
    with django_capture_on_commit_callbacks(execute=True):
        buyer_client.post(messages_url(conversation), {"content": "Can you do 120?"}, format="json")

    # Omar's inbox has it, and his phone got one push
    (note,) = Notification.objects.filter(user=seller)
    assert (note.kind, note.title, note.body) == ("message", buyer.username, "Can you do 120?")
    assert note.data["conversation_id"] == str(conversation.pk)
    (pushed,) = push.outbox
    assert (pushed.token, pushed.title, pushed.body) == ("omar-phone", buyer.username, "Can you do 120?")
    assert pushed.data["conversation_id"] == str(conversation.pk)
    # and the sender hears nothing of their own message
    assert not Notification.objects.filter(user=buyer).exists()


def test_no_push_when_the_send_is_refused(buyer_client, conversation, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        buyer_client.post(messages_url(conversation), {"content": ""}, format="json")

    assert callbacks == []
    assert push.outbox == []
    assert not Notification.objects.exists()


@pytest.mark.parametrize(
    ("payload", "attr", "code"),
    [
        ({"message_type": "text", "content": ""}, "content", "blank"),
        ({"message_type": "text", "content": "   "}, "content", "blank"),
        ({"message_type": "text", "content": "x" * 2001}, "content", "max_length"),
        ({"message_type": "offer", "content": "AED 1"}, "message_type", "invalid_choice"),
        ({"message_type": "system", "content": "hi"}, "message_type", "invalid_choice"),
        ({"message_type": "voice", "content": "hi"}, "message_type", "invalid_choice"),
        ({"message_type": "image", "image_urls": []}, "image_urls", "required"),
        ({"message_type": "image", "image_urls": ["https://evil.example/x.jpg"]}, "image_urls", "foreign_media_url"),
        ({"message_type": "image", "image_urls": "not-a-list"}, "image_urls", "not_a_list"),
    ],
)
def test_bad_messages_are_400_naming_the_field(buyer_client, conversation, payload, attr, code):
    response = buyer_client.post(messages_url(conversation), payload, format="json")

    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert (error["attr"], error["code"]) == (attr, code)
    assert not Message.objects.exists()


def test_a_2000_character_text_is_accepted(buyer_client, conversation):
    response = buyer_client.post(messages_url(conversation), {"content": "y" * 2000}, format="json")

    assert response.status_code == 201
    assert Message.objects.get(pk=response.json()["id"]).content == "y" * 2000


def test_image_messages_take_this_projects_media_urls(buyer_client, conversation):
    url = f"{media_base_url()}chat/photo.jpg"

    response = buyer_client.post(
        messages_url(conversation), {"message_type": "image", "image_urls": [url], "content": "Box"}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["image_urls"] == [url]


def test_path_traversal_out_of_media_is_refused(buyer_client, conversation):
    url = f"{media_base_url()}../private/id.jpg"

    response = buyer_client.post(messages_url(conversation), {"message_type": "image", "image_urls": [url]})

    assert response.status_code == 400


def test_validation_errors_come_in_arabic(buyer_client, conversation):
    response = buyer_client.post(
        messages_url(conversation), {"message_type": "text", "content": " "}, format="json", HTTP_ACCEPT_LANGUAGE="ar"
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["detail"] == "لا يمكن أن تكون الرسالة النصية فارغة."


def test_read_marks_the_other_sides_messages_and_zeroes_my_count(buyer_client, seller_client, conversation):
    # given Layla sent two, Omar one
    buyer_client.post(messages_url(conversation), {"content": "one"}, format="json")
    buyer_client.post(messages_url(conversation), {"content": "two"}, format="json")
    seller_client.post(messages_url(conversation), {"content": "reply"}, format="json")

    # when Omar reads
    response = seller_client.post(f"/api/v1/conversations/{conversation.pk}/read")

    # then Layla's two messages are read with a time, his own reply is not, and his count is 0
    assert response.status_code == 200
    assert response.json() == {"marked_read": 2, "unread_count": 0}
    assert conversation_row(seller_client, conversation)["unread_count"] == 0
    assert conversation_row(buyer_client, conversation)["unread_count"] == 1
    by_content = {m["content"]: m for m in seller_client.get(messages_url(conversation)).json()["results"]}
    assert by_content["one"]["is_read"] and by_content["one"]["read_at"]
    assert by_content["two"]["is_read"]
    assert by_content["reply"]["is_read"] is False
    # reading again changes nothing
    assert seller_client.post(f"/api/v1/conversations/{conversation.pk}/read/").json()["marked_read"] == 0


def test_messages_list_newest_first_and_the_cursor_is_stable_while_new_ones_arrive(buyer_client, conversation):
    # given 7 messages a minute apart
    start = timezone.now() - timedelta(hours=1)
    for i in range(7):
        with time_machine.travel(start + timedelta(minutes=i), tick=False):
            MessageFactory(conversation=conversation, content=f"m{i}")

    # when Layla reads the first page of 3
    page1 = buyer_client.get(f"{messages_url(conversation)}?page_size=3").json()
    assert [m["content"] for m in page1["results"]] == ["m6", "m5", "m4"]

    # and two new messages arrive before she scrolls
    buyer_client.post(messages_url(conversation), {"content": "new 1"}, format="json")
    buyer_client.post(messages_url(conversation), {"content": "new 2"}, format="json")

    # then the next pages continue exactly where she was: no duplicates, no gaps
    page2 = buyer_client.get(page1["next"]).json()
    page3 = buyer_client.get(page2["next"]).json()
    assert [m["content"] for m in page2["results"]] == ["m3", "m2", "m1"]
    assert [m["content"] for m in page3["results"]] == ["m0"]
    assert page3["next"] is None


@pytest.mark.parametrize("page_size", [5, 50])
def test_message_list_runs_constant_queries(buyer_client, conversation, page_size, django_assert_max_num_queries):
    for i in range(60):
        MessageFactory(conversation=conversation, sender=conversation.seller if i % 2 else conversation.buyer)

    # auth user, conversation lookup, one page (cursor pagination: no count)
    with django_assert_max_num_queries(3):
        response = buyer_client.get(f"{messages_url(conversation)}?page_size={page_size}")

    assert response.status_code == 200
    assert len(response.json()["results"]) == page_size


def test_a_blocked_sender_gets_404_and_nothing_is_stored(buyer_client, seller_client, conversation, buyer, seller):
    # given Omar blocked Layla after they started talking
    Block.objects.create(blocker=seller, blocked=buyer)

    # when she writes, it is as if the conversation did not exist
    response = buyer_client.post(messages_url(conversation), {"content": "hello?"}, format="json")

    assert response.status_code == 404
    assert not Message.objects.exists()
    assert Conversation.objects.get().seller_unread_count == 0
    # while Omar, the blocker, can still write
    assert seller_client.post(messages_url(conversation), {"content": "bye"}, format="json").status_code == 201


def test_a_late_committing_send_counts_but_does_not_replace_a_newer_last_message(conversation, buyer):
    """Two sends race: the one created earlier may commit last; it still counts as unread
    but the conversation keeps the newer message as its last one."""
    from messaging.services import message_send

    # given a message stamped in the future relative to the next send (it was created later)
    with time_machine.travel(timezone.now() + timedelta(seconds=5), tick=False):
        newer = message_send(conversation=conversation, sender=buyer, message_type="text", content="newer")

    # when an earlier-created send's bump lands afterwards
    message_send(conversation=conversation, sender=buyer, message_type="text", content="earlier")

    # then the newer message stays last and both are counted
    conversation.refresh_from_db()
    assert conversation.last_message_id == newer.pk
    assert conversation.seller_unread_count == 2
