"""Going live, ending, and the media-server callbacks (nginx-rtmp and MediaMTX)."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import VerificationStatus
from streams.models import Stream, StreamStatus
from tests.streams.conftest import rtmp_hook
from tests.streams.factories import HostFactory, StreamFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/streams/"


def _codes(response) -> list[str]:
    return [error["code"] for error in response.json()["errors"]]


# --- go-live -----------------------------------------------------------------------------------


def test_go_live_gives_owner_rtmp_key_and_hls(go_live, scheduled_stream, settings):
    # when the host asks for credentials
    body = go_live(scheduled_stream)
    # then they get the ingest server, a long random key and the playback URL
    assert body["rtmp_url"] == settings.RTMP_INGEST_URL
    assert len(body["stream_key"]) >= 32
    assert body["hls_url"] == f"{settings.HLS_BASE_URL}/{scheduled_stream.pk}/index.m3u8"
    assert body["publish_url"] == f"{settings.RTMP_INGEST_URL}/{scheduled_stream.pk}?key={body['stream_key']}"
    assert body["stream_key"] not in body["hls_url"]
    # the key itself is not stored, only a digest of it
    scheduled_stream.refresh_from_db()
    assert scheduled_stream.stream_key and body["stream_key"] not in scheduled_stream.stream_key


def test_go_live_response_is_not_cached(host_client, scheduled_stream):
    response = host_client.post(f"{URL}{scheduled_stream.pk}/go-live")
    assert response["Cache-Control"] == "no-store"


def test_each_go_live_rotates_the_key(go_live, scheduled_stream, hook_client):
    # given two go-lives
    first = go_live(scheduled_stream)["stream_key"]
    second = go_live(scheduled_stream)["stream_key"]
    assert first != second
    # then the first key is refused by the publish hook, the second accepted
    refused = rtmp_hook(hook_client, "publish", name=first)
    assert refused.status_code == 403
    assert _codes(refused) == ["invalid_stream_key"]
    assert rtmp_hook(hook_client, "publish", name=second).status_code == 200


def test_only_owner_can_go_live(auth_client, scheduled_stream):
    response = auth_client(HostFactory()).post(f"{URL}{scheduled_stream.pk}/go-live/")
    assert response.status_code == 403
    assert _codes(response) == ["not_stream_owner"]
    scheduled_stream.refresh_from_db()
    assert scheduled_stream.stream_key is None


def test_go_live_requires_approved_verification(auth_client):
    # given a host whose approval was later revoked
    stream = StreamFactory(user=HostFactory(verification_status=VerificationStatus.REJECTED))
    response = auth_client(stream.user).post(f"{URL}{stream.pk}/go-live/")
    assert response.status_code == 403
    assert _codes(response) == ["verification_required"]


def test_ended_stream_cannot_go_live_again(host_client, host):
    stream = StreamFactory(user=host, status=StreamStatus.ENDED)
    response = host_client.post(f"{URL}{stream.pk}/go-live/")
    assert response.status_code == 409
    assert _codes(response) == ["stream_ended"]


def test_key_appears_in_no_other_response(go_live, scheduled_stream, host_client, api_client, auth_client, buyer):
    # given a stream that went live
    key = go_live(scheduled_stream)["stream_key"]
    rtmp_hook(APIClient(), "publish", name=key)
    scheduled_stream.refresh_from_db()
    # then neither the owner's nor anyone else's reads contain it
    buyer_client = auth_client(buyer)
    buyer_client.post(f"{URL}{scheduled_stream.pk}/join/")
    responses = [
        api_client.get(URL),
        api_client.get(f"{URL}{scheduled_stream.pk}/"),
        host_client.get(URL, {"seller": scheduled_stream.user.username}),
        host_client.get(f"{URL}{scheduled_stream.pk}/"),
        buyer_client.post(f"{URL}{scheduled_stream.pk}/join/"),
        host_client.get(f"{URL}{scheduled_stream.pk}/products/"),
        host_client.post(f"{URL}{scheduled_stream.pk}/end/"),
        api_client.get("/api/schema/"),
    ]
    for response in responses:
        assert response.status_code == 200
        assert key not in response.content.decode()
        assert scheduled_stream.stream_key not in response.content.decode()


def test_hooks_never_log_the_key_or_the_secret(go_live, scheduled_stream, hook_client, settings, caplog):
    settings.MEDIA_HOOK_SECRET = "hook-secret-123"
    key = go_live(scheduled_stream)["stream_key"]
    with caplog.at_level(logging.DEBUG):
        rtmp_hook(hook_client, "publish", "?secret=hook-secret-123", name=key)
        rtmp_hook(hook_client, "publish", "?secret=wrong", name=key)
        rtmp_hook(hook_client, "update", "?secret=hook-secret-123", name=key, call="update_publish")
        rtmp_hook(hook_client, "publish-done", "?secret=hook-secret-123", name=key)
        rtmp_hook(hook_client, "publish", "?secret=hook-secret-123", name=key)  # refused: ended
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert str(scheduled_stream.pk) in logged  # the hooks do log what happened...
    assert key not in logged  # ...but never the key
    assert "hook-secret-123" not in logged


def test_access_log_lines_are_redacted():
    from streams.logging import RedactStreamSecrets

    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"%s" %s',
        ("POST /hooks/publish/?secret=s3cr3t&key=abc HTTP/1.1", 200),
        None,
    )
    RedactStreamSecrets().filter(record)
    assert "s3cr3t" not in record.getMessage() and "abc" not in record.getMessage()
    assert "secret=[redacted]" in record.getMessage()


# --- nginx-rtmp on_publish -----------------------------------------------------------------------


def test_publish_hook_marks_stream_live(go_live, scheduled_stream, hook_client):
    key = go_live(scheduled_stream)["stream_key"]
    with time_machine.travel("2026-12-01 18:00:00Z", tick=False):
        response = rtmp_hook(hook_client, "publish", name=key, app="live", addr="10.0.0.7", call="publish")
    assert response.status_code == 200
    scheduled_stream.refresh_from_db()
    assert scheduled_stream.status == StreamStatus.LIVE
    assert scheduled_stream.started_at.isoformat() == "2026-12-01T18:00:00+00:00"


def test_publish_hook_is_idempotent_for_a_reconnect(live_stream, hook_client):
    stream, key = live_stream
    started = stream.started_at
    with time_machine.travel(timezone.now() + timedelta(minutes=3)):
        assert rtmp_hook(hook_client, "publish", name=key).status_code == 200
    stream.refresh_from_db()
    assert stream.status == StreamStatus.LIVE and stream.started_at == started


def test_publish_hook_accepts_key_as_argument_with_stream_id_as_name(go_live, scheduled_stream, hook_client):
    # given the mobile app publishing to publish_url: rtmp://host/live/<id>?key=<key>
    key = go_live(scheduled_stream)["stream_key"]
    # nginx-rtmp forwards the publish arguments as extra form fields...
    assert rtmp_hook(hook_client, "publish", name=str(scheduled_stream.pk), key=key).status_code == 200
    # ...or raw in "args"; the hook URL's own ?key= works too
    assert rtmp_hook(hook_client, "publish", name=str(scheduled_stream.pk), args=f"key={key}").status_code == 200
    assert rtmp_hook(hook_client, "publish", f"?key={key}", name=str(scheduled_stream.pk)).status_code == 200


def test_publish_hook_refuses_key_of_another_stream_under_this_name(go_live, scheduled_stream, hook_client, host):
    other = StreamFactory(user=host)
    key = go_live(scheduled_stream)["stream_key"]
    assert rtmp_hook(hook_client, "publish", name=str(other.pk), key=key).status_code == 403
    other.refresh_from_db()
    assert other.status == StreamStatus.SCHEDULED


@pytest.mark.parametrize("name", ["", "not-a-key", "00000000-0000-0000-0000-000000000000"])
def test_publish_hook_refuses_unknown_keys(hook_client, scheduled_stream, name):
    response = rtmp_hook(hook_client, "publish", name=name)
    assert response.status_code == 403
    assert _codes(response) == ["invalid_stream_key"]


def test_publish_hook_refuses_stream_id_without_key(hook_client, scheduled_stream, go_live):
    go_live(scheduled_stream)
    assert rtmp_hook(hook_client, "publish", name=str(scheduled_stream.pk)).status_code == 403


def test_publish_hook_refuses_ended_stream(live_stream, hook_client, host_client):
    stream, key = live_stream
    host_client.post(f"{URL}{stream.pk}/end/")
    response = rtmp_hook(hook_client, "publish", name=key)
    assert response.status_code == 403
    assert _codes(response) == ["stream_ended"]
    stream.refresh_from_db()
    assert stream.status == StreamStatus.ENDED


def test_publish_hook_refuses_host_whose_verification_was_revoked(go_live, scheduled_stream, hook_client, host):
    key = go_live(scheduled_stream)["stream_key"]
    host.verification_status = VerificationStatus.REJECTED
    host.save(update_fields=["verification_status"])
    response = rtmp_hook(hook_client, "publish", name=key)
    assert response.status_code == 403
    assert _codes(response) == ["verification_required"]


def test_publish_hook_rename_answers_redirect_to_stream_id(go_live, scheduled_stream, hook_client):
    # given nginx-rtmp configured with ?rename=1 (deploy/nginx-rtmp.conf)
    key = go_live(scheduled_stream)["stream_key"]
    # when OBS publishes with the key as the stream name
    response = rtmp_hook(hook_client, "publish", "?rename=1", name=key)
    # then nginx-rtmp is told to publish under the public id (so HLS never shows the key)
    assert response.status_code == 302
    assert response["Location"] == str(scheduled_stream.pk)
    scheduled_stream.refresh_from_db()
    assert scheduled_stream.status == StreamStatus.LIVE


# --- hook access control -------------------------------------------------------------------------


def test_hooks_refuse_addresses_outside_the_allowlist(go_live, scheduled_stream):
    key = go_live(scheduled_stream)["stream_key"]
    outsider = APIClient(REMOTE_ADDR="203.0.113.9")
    for hook in ("publish", "publish-done", "update"):
        response = rtmp_hook(outsider, hook, name=key)
        assert response.status_code == 403
        assert _codes(response) == ["hook_forbidden"]
    response = outsider.post("/api/v1/streams/hooks/mediamtx-auth/", {"action": "read", "path": "live/x"})
    assert response.status_code == 403
    scheduled_stream.refresh_from_db()
    assert scheduled_stream.status == StreamStatus.SCHEDULED


def test_hooks_accept_allowlisted_cidr(go_live, scheduled_stream, settings):
    settings.MEDIA_HOOK_ALLOWED_IPS = ["127.0.0.1", "172.16.0.0/12", "not-an-address"]
    key = go_live(scheduled_stream)["stream_key"]
    docker_peer = APIClient(REMOTE_ADDR="172.18.0.5")
    assert rtmp_hook(docker_peer, "publish", name=key).status_code == 200


def test_hooks_require_the_secret_when_set(go_live, scheduled_stream, hook_client, settings):
    settings.MEDIA_HOOK_SECRET = "hook-secret-123"
    key = go_live(scheduled_stream)["stream_key"]
    assert rtmp_hook(hook_client, "publish", name=key).status_code == 403
    assert rtmp_hook(hook_client, "publish", "?secret=hook-secret-12", name=key).status_code == 403
    assert rtmp_hook(hook_client, "publish", "?secret=hook-secret-123", name=key).status_code == 200


def test_hooks_need_no_jwt_and_no_csrf_token(go_live, scheduled_stream):
    key = go_live(scheduled_stream)["stream_key"]
    strict = APIClient(enforce_csrf_checks=True)
    assert rtmp_hook(strict, "publish", name=key).status_code == 200


# --- on_publish_done and on_update ------------------------------------------------------------------


def test_publish_done_ends_stream_with_duration(live_stream, hook_client):
    stream, key = live_stream
    with time_machine.travel(stream.started_at + timedelta(minutes=42, seconds=5)):
        response = rtmp_hook(hook_client, "publish-done", name=key, call="publish_done")
    assert response.status_code == 200
    stream.refresh_from_db()
    assert stream.status == StreamStatus.ENDED
    assert stream.duration_seconds == 42 * 60 + 5
    assert stream.ended_at is not None


def test_publish_done_is_idempotent(live_stream, hook_client):
    stream, key = live_stream
    assert rtmp_hook(hook_client, "publish-done", name=key).status_code == 200
    stream.refresh_from_db()
    ended_at = stream.ended_at
    assert rtmp_hook(hook_client, "publish-done", name=key).status_code == 200
    stream.refresh_from_db()
    assert stream.ended_at == ended_at


def test_publish_done_by_renamed_stream_id(live_stream, hook_client):
    stream, _key = live_stream
    assert rtmp_hook(hook_client, "publish-done", name=str(stream.pk)).status_code == 200
    stream.refresh_from_db()
    assert stream.status == StreamStatus.ENDED


def test_publish_done_for_unknown_name_is_404(hook_client, db):
    assert rtmp_hook(hook_client, "publish-done", name="nope").status_code == 404


def test_update_hook_records_heartbeat(live_stream, hook_client):
    stream, key = live_stream
    later = timezone.now() + timedelta(minutes=2)
    with time_machine.travel(later, tick=False):
        response = rtmp_hook(hook_client, "update", name=key, call="update_publish", time="120")
    assert response.status_code == 200
    stream.refresh_from_db()
    assert stream.last_heartbeat_at == later


def test_update_hook_refuses_ended_stream_so_nginx_drops_publisher(live_stream, hook_client, host_client):
    stream, key = live_stream
    host_client.post(f"{URL}{stream.pk}/end/")
    response = rtmp_hook(hook_client, "update", name=key, call="update_publish")
    assert response.status_code == 403
    assert rtmp_hook(hook_client, "update", name="unknown", call="update_publish").status_code == 403


def test_update_hook_ignores_player_heartbeats(hook_client, db):
    assert rtmp_hook(hook_client, "update", name="whatever", call="update_play").status_code == 200


# --- MediaMTX HTTP auth ---------------------------------------------------------------------------

MTX = "/api/v1/streams/hooks/mediamtx-auth/"


def _mtx(client, **body):
    payload = {"user": "", "password": "", "ip": "172.17.0.1", "protocol": "rtmp", "id": None, "query": ""}
    payload.update(body)
    return client.post(MTX, payload, format="json")


def test_mediamtx_publish_with_key_in_query_goes_live(go_live, scheduled_stream, hook_client):
    key = go_live(scheduled_stream)["stream_key"]
    response = _mtx(hook_client, action="publish", path=f"live/{scheduled_stream.pk}", query=f"key={key}")
    assert response.status_code == 200
    scheduled_stream.refresh_from_db()
    assert scheduled_stream.status == StreamStatus.LIVE


def test_mediamtx_publish_with_key_as_path_and_nulls(go_live, scheduled_stream, hook_client):
    key = go_live(scheduled_stream)["stream_key"]
    response = _mtx(hook_client, action="publish", path=f"live/{key}", query=None, password=None, token=None)
    assert response.status_code == 200


def test_mediamtx_publish_with_key_as_password(go_live, scheduled_stream, hook_client):
    key = go_live(scheduled_stream)["stream_key"]
    response = _mtx(hook_client, action="publish", path=f"live/{scheduled_stream.pk}", user="obs", password=key)
    assert response.status_code == 200


@pytest.mark.parametrize("query", ["", "key=wrong", "other=1"])
def test_mediamtx_publish_refused_without_valid_key(go_live, scheduled_stream, hook_client, query):
    go_live(scheduled_stream)
    response = _mtx(hook_client, action="publish", path=f"live/{scheduled_stream.pk}", query=query)
    assert response.status_code == 403
    scheduled_stream.refresh_from_db()
    assert scheduled_stream.status == StreamStatus.SCHEDULED


def test_mediamtx_publish_refused_for_ended_stream(live_stream, hook_client, host_client):
    stream, key = live_stream
    host_client.post(f"{URL}{stream.pk}/end/")
    response = _mtx(hook_client, action="publish", path=f"live/{stream.pk}", query=f"key={key}")
    assert response.status_code == 403
    assert _codes(response) == ["stream_ended"]


def test_mediamtx_read_allowed_only_while_live(live_stream, hook_client):
    stream, key = live_stream
    scheduled = StreamFactory()
    assert _mtx(hook_client, action="read", path=f"live/{stream.pk}", protocol="hls").status_code == 200
    assert _mtx(hook_client, action="read", path=f"live/{scheduled.pk}").status_code == 403
    assert _mtx(hook_client, action="read", path="live/garbage").status_code == 403
    # reading by the key would expose it in player URLs: not a valid playback path
    assert _mtx(hook_client, action="read", path=f"live/{key}").status_code == 403


@pytest.mark.parametrize("action", ["api", "metrics", "pprof", "playback"])
def test_mediamtx_other_actions_refused(hook_client, db, action):
    response = _mtx(hook_client, action=action, path="")
    assert response.status_code == 403
    assert _codes(response) == ["action_not_allowed"]


def test_mediamtx_malformed_body_is_400(hook_client, db):
    response = hook_client.post(MTX, {"path": "live/x"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "action"


# --- end by the host ----------------------------------------------------------------------------------


def test_owner_ends_stream(live_stream, host_client):
    stream, _key = live_stream
    with time_machine.travel(stream.started_at + timedelta(seconds=90)):
        response = host_client.post(f"{URL}{stream.pk}/end/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ended"
    assert body["duration_seconds"] == 90
    assert body["ended_at"] is not None
    assert body["hls_url"] is None
    # ending twice changes nothing
    again = host_client.post(f"{URL}{stream.pk}/end/")
    assert again.status_code == 200 and again.json()["ended_at"] == body["ended_at"]


def test_only_owner_can_end(live_stream, auth_client, buyer):
    stream, _key = live_stream
    assert auth_client(buyer).post(f"{URL}{stream.pk}/end/").status_code == 403
    stream.refresh_from_db()
    assert stream.status == StreamStatus.LIVE


def test_live_detail_shows_hls_url_to_everyone(live_stream, api_client):
    stream, _key = live_stream
    body = api_client.get(f"{URL}{stream.pk}/").json()
    assert body["status"] == "live"
    assert body["hls_url"] == stream.hls_url
    assert Stream.objects.get(pk=stream.pk).hls_url == stream.hls_url
