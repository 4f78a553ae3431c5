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


def pdf_bytes(pages: int = 1) -> bytes:
    """A real (blank, A4) PDF written by pypdf: the upload check parses the structure."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


PDF_BYTES = pdf_bytes()
