"""Listing media uploads: the type is decided from the bytes, never from the name.

Images (JPEG, PNG, WebP) are decoded by Pillow, their pixel count capped, orientation
applied, and re-encoded from the bare pixels, so EXIF (GPS position, camera serial) and
text chunks never reach storage. Videos (MP4, QuickTime) are recognised by their ISO base
media ``ftyp`` box and stored as they are. Files go through Django's storage API: local
disk by default, S3-compatible (Backblaze B2) with django-storages when configured.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from soukloop.errors import ValidationError
from soukloop.storage import public_storage

IMAGE_FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}
# Major/compatible brands of the ftyp box: QuickTime's own, and the ISO/MP4 family.
QUICKTIME_BRANDS = {b"qt  "}
MP4_BRANDS = {
    b"isom",
    b"iso2",
    b"iso4",
    b"iso5",
    b"iso6",
    b"mp41",
    b"mp42",
    b"avc1",
    b"dash",
    b"M4V ",
    b"M4VH",
    b"M4VP",
    b"mmp4",
    b"MSNV",
    b"3gp4",
    b"3gp5",
    b"3g2a",
}


@dataclass(frozen=True)
class StoredMedia:
    url: str
    content_type: str
    size: int
    name: str


def _unsupported() -> ValidationError:
    return ValidationError(
        _("Upload a JPEG, PNG or WebP image or an MP4 or QuickTime video."), code="unsupported_media_type", attr="file"
    )


def sniff_video(head: bytes) -> str | None:
    """``video/mp4`` or ``video/quicktime`` when ``head`` starts with a sane ftyp box."""
    if len(head) < 12 or head[4:8] != b"ftyp":
        return None
    box_size = int.from_bytes(head[0:4], "big")
    if box_size < 16 or box_size > 4096:
        return None
    major = head[8:12]
    if major in QUICKTIME_BRANDS:
        return "video/quicktime"
    brands = {major} | {head[i : i + 4] for i in range(16, min(box_size, len(head)) - 3, 4)}
    if brands & MP4_BRANDS:
        return "video/mp4"
    return None


def _public_url(name: str) -> str:
    url = public_storage().url(name)
    if url.startswith("/"):
        url = settings.PUBLIC_BASE_URL.rstrip("/") + url
    return url


def _object_name(extension: str) -> str:
    now = timezone.now()
    return f"products/{now:%Y/%m}/{uuid.uuid4().hex}.{extension}"


def _clean_image(upload: IO[bytes]) -> tuple[bytes, str, str]:
    try:
        image = Image.open(upload)
        image_format = image.format
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise _unsupported() from exc
    if image_format not in IMAGE_FORMATS:
        raise _unsupported()
    width, height = image.size
    if width * height > settings.MAX_IMAGE_PIXELS:
        raise ValidationError(
            _("The image has too many pixels (at most %(max)s million).")
            % {"max": settings.MAX_IMAGE_PIXELS // 1_000_000},
            code="image_too_large",
            attr="file",
        )
    try:
        image.load()
        image = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise _unsupported() from exc
    content_type, extension = IMAGE_FORMATS[image_format]
    if image_format == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    elif image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
        image = image.convert("RGBA")
    # A fresh image from the bare pixels: no EXIF, XMP or text chunks can follow it.
    clean = Image.frombytes(image.mode, image.size, image.tobytes())
    if image.mode == "P":
        clean.putpalette(image.getpalette())
    out = io.BytesIO()
    options: dict[str, object] = {"optimize": True}
    if image_format == "JPEG":
        options.update(quality=85, progressive=True)
    elif image_format == "WEBP":
        options = {"quality": 85, "method": 4}
    clean.save(out, format=image_format, **options)
    return out.getvalue(), content_type, extension


def media_store(*, upload: File) -> StoredMedia:
    """Check, clean and store one uploaded file; raises ``ValidationError`` on ``file``."""
    size = upload.size or 0
    if size <= 0:
        raise ValidationError(_("The file is empty."), code="empty_file", attr="file")
    upload.seek(0)
    head = upload.read(64)
    upload.seek(0)
    video_type = sniff_video(head)
    if video_type is not None:
        if size > settings.MAX_VIDEO_UPLOAD_BYTES:
            raise ValidationError(
                _("Videos can be at most %(max)s MB.") % {"max": settings.MAX_VIDEO_UPLOAD_BYTES // (1024 * 1024)},
                code="file_too_large",
                attr="file",
            )
        extension = "mov" if video_type == "video/quicktime" else "mp4"
        name = public_storage().save(_object_name(extension), upload)
        return StoredMedia(url=_public_url(name), content_type=video_type, size=size, name=name)
    if size > settings.MAX_IMAGE_UPLOAD_BYTES:
        raise ValidationError(
            _("Images can be at most %(max)s MB.") % {"max": settings.MAX_IMAGE_UPLOAD_BYTES // (1024 * 1024)},
            code="file_too_large",
            attr="file",
        )
    data, content_type, extension = _clean_image(upload)
    name = public_storage().save(_object_name(extension), ContentFile(data))
    return StoredMedia(url=_public_url(name), content_type=content_type, size=len(data), name=name)
