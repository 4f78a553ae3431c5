"""Identity documents: what an upload really is (by its bytes, never its name or header)."""

from __future__ import annotations

import warnings
from typing import IO

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils.translation import gettext_lazy as _
from PIL import Image, UnidentifiedImageError
from pypdf import PdfReader

from soukloop.errors import ValidationError
from soukloop.images import clean_image

PDF = "application/pdf"
IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
PDF_MAGIC = b"%PDF-"


def _rewind(file: IO[bytes]) -> None:
    file.seek(0)


def sniff_image(file: IO[bytes]) -> str | None:
    """The image MIME type if Pillow can fully parse the bytes as JPEG/PNG/WebP, else None."""
    _rewind(file)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(file) as image:
                image_format = image.format
                width, height = image.size
                image.verify()
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ):
        return None
    finally:
        _rewind(file)
    if image_format not in IMAGE_TYPES or width * height > settings.MAX_IMAGE_PIXELS:
        return None
    return IMAGE_TYPES[image_format]


def sniff_pdf(file: IO[bytes]) -> str | None:
    """``application/pdf`` only when the bytes parse as a PDF with at least one page: a
    ``%PDF-1.4`` inside an HTML comment is not one (security review, finding 15)."""
    _rewind(file)
    head = file.read(1024)
    _rewind(file)
    # The header may follow a few junk bytes; readers accept it within the first 1 KB.
    if PDF_MAGIC not in head:
        return None
    try:
        reader = PdfReader(file, strict=True)
        if reader.is_encrypted or len(reader.pages) < 1:
            return None
        reader.pages[0].mediabox  # noqa: B018 - the first page's structure must resolve
    except Exception:  # pypdf raises many kinds (PdfReadError, KeyError, ValueError...) on junk
        return None
    finally:
        _rewind(file)
    return PDF


def cleaned_image(file, *, attr: str) -> ContentFile:
    """The photo re-encoded from its pixels: EXIF (GPS position, camera) never reaches storage,
    as with listing photos (security review, finding 16)."""
    data, _content_type, extension = clean_image(file, attr=attr)
    return ContentFile(data, name=f"document.{extension}")


def validate_document(file, *, attr: str, allow_pdf: bool) -> str:
    """Check size and real type of an uploaded document; returns its content type or a 400."""
    if file.size > settings.MAX_DOCUMENT_UPLOAD_BYTES:
        limit_mb = settings.MAX_DOCUMENT_UPLOAD_BYTES // (1024 * 1024)
        raise ValidationError(
            _("The file is too large: at most %(limit)s MB.") % {"limit": limit_mb}, code="file_too_large", attr=attr
        )
    if file.size == 0:
        raise ValidationError(_("The file is empty."), code="file_empty", attr=attr)
    content_type = sniff_image(file)
    if content_type is None and allow_pdf:
        content_type = sniff_pdf(file)
    if content_type is None:
        message = (
            _("Upload a PDF or a JPEG, PNG or WebP image.") if allow_pdf else _("Upload a JPEG, PNG or WebP photo.")
        )
        raise ValidationError(message, code="file_type", attr=attr)
    return content_type
