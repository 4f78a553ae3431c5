from __future__ import annotations

import io

import pytest
from django.core.files.storage import storages
from PIL import Image

from verification.models import DOCUMENT_FIELDS, Verification


@pytest.fixture(autouse=True)
def _documents_in_test_private_storage(_outgoing_messages_in_memory, monkeypatch):
    """FileField resolves its storage callable once, at import; point the document fields
    at this test's private storage (the tmp dir the root conftest configured)."""
    for name in DOCUMENT_FIELDS:
        monkeypatch.setattr(Verification._meta.get_field(name), "storage", storages["private"])


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (64, 40), color: str = "teal") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt)
    return buffer.getvalue()


PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
