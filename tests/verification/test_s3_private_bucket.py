"""With S3 storage configured, documents go to the private bucket with a private ACL and
still reach moderators only through the audited admin view (moto in server mode)."""

from __future__ import annotations

import io

import boto3
import pytest
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from moto.server import ThreadedMotoServer

from tests.verification.conftest import image_bytes
from tests.verification.factories import valid_emirates_id
from verification.models import DOCUMENT_FIELDS, Verification

# moto keeps its buckets per process, across servers: names of our own, so another test's
# objects can never be mistaken for ours.
PRIVATE_BUCKET = "soukloop-verification-private-test"
PUBLIC_BUCKET = "soukloop-verification-media-test"
CREDENTIALS = {"access_key": "testing", "secret_key": "testing", "region_name": "us-east-1"}


@pytest.fixture(scope="module")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_storage(s3_endpoint, settings, monkeypatch):
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    for bucket in (PRIVATE_BUCKET, PUBLIC_BUCKET):
        client.create_bucket(Bucket=bucket)
    common = {"endpoint_url": s3_endpoint, "file_overwrite": False, **CREDENTIALS}
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {**common, "bucket_name": PUBLIC_BUCKET, "querystring_auth": False},
        },
        "private": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {**common, "bucket_name": PRIVATE_BUCKET, "default_acl": "private", "querystring_auth": True},
        },
    }
    for name in DOCUMENT_FIELDS:
        monkeypatch.setattr(Verification._meta.get_field(name), "storage", storages["private"])
    yield client
    for bucket in (PRIVATE_BUCKET, PUBLIC_BUCKET):
        for item in client.list_objects_v2(Bucket=bucket).get("Contents", []):
            client.delete_object(Bucket=bucket, Key=item["Key"])
        client.delete_bucket(Bucket=bucket)


@pytest.mark.django_db
def test_documents_go_to_the_private_bucket_and_stream_through_the_admin(s3_storage, auth_client, seller, moderator):
    # given a seller submitting both sides of their Emirates ID
    front = image_bytes("JPEG", color="maroon")
    response = auth_client(seller).post(
        "/api/v1/verification/",
        {
            "verification_type": "emirates_id",
            "emirates_id_number": valid_emirates_id(serial=3030303),
            "emirates_id_front": SimpleUploadedFile("front.jpg", front, "image/jpeg"),
            "emirates_id_back": SimpleUploadedFile("back.jpg", image_bytes("JPEG"), "image/jpeg"),
        },
        format="multipart",
    )
    assert response.status_code == 201
    verification = Verification.objects.get(pk=response.json()["id"])
    key = verification.emirates_id_front.name
    # then the objects sit in the private bucket only, readable by nobody but the owner account
    private_keys = [o["Key"] for o in s3_storage.list_objects_v2(Bucket=PRIVATE_BUCKET)["Contents"]]
    assert key in private_keys and len(private_keys) == 2
    assert "Contents" not in s3_storage.list_objects_v2(Bucket=PUBLIC_BUCKET)
    grants = s3_storage.get_object_acl(Bucket=PRIVATE_BUCKET, Key=key)["Grants"]
    assert all("URI" not in grant["Grantee"] for grant in grants)  # no AllUsers / AuthenticatedUsers
    # and a moderator gets the bytes through the admin view, not a bucket URL
    client = Client()
    client.force_login(moderator)
    url = reverse("admin:verification_verification_document", args=[verification.pk, "emirates_id_front"])
    served = client.get(url)
    assert served.status_code == 200
    # the stored photo is the upload re-encoded without metadata: same picture, not same bytes
    from PIL import Image

    with Image.open(io.BytesIO(b"".join(served.streaming_content))) as image, Image.open(io.BytesIO(front)) as sent:
        assert (image.format, image.size) == ("JPEG", sent.size)
        assert max(abs(a - b) for a, b in zip(image.getpixel((10, 10)), sent.getpixel((10, 10)), strict=True)) < 8
    assert PRIVATE_BUCKET not in response.content.decode()
