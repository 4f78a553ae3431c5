"""Listing media uploads: the type is decided from the bytes, never from the name.

Images (JPEG, PNG, WebP) are decoded by Pillow, their pixel count capped, orientation
applied, and re-encoded from the bare pixels, so EXIF (GPS position, camera serial) and
text chunks never reach storage. Videos (MP4, QuickTime) are recognised by their ISO base
media ``ftyp`` box and stored as they are. Files go through Django's storage API: local
disk by default, S3-compatible (Backblaze B2) with django-storages when configured.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.utils import timezone
from django.utils.translation import gettext as _

from soukloop.errors import ValidationError
from soukloop.images import clean_image
from soukloop.storage import public_storage

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


# Top-level boxes an MP4/QuickTime file may hold (ISO/IEC 14496-12 and QuickTime's own).
TOP_LEVEL_BOXES = {
    b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"uuid", b"meta", b"pdin", b"moof",
    b"mfra", b"styp", b"sidx", b"ssix", b"emsg", b"prft", b"udta", b"pnot", b"junk", b"PICT",
}  # fmt: skip


def iso_bmff_is_whole(upload: IO[bytes], size: int, *, max_boxes: int = 10_000) -> bool:
    """Walk the top-level box tree: known box types whose sizes add up to exactly the file,
    with a movie header (``moov``, or ``moof`` fragments). A valid ``ftyp`` followed by HTML
    fails here (its next "size" is text), so such a file is never served as a video."""
    offset, seen = 0, set()
    try:
        for _ in range(max_boxes):
            if offset == size:
                break
            upload.seek(offset)
            header = upload.read(16)
            if len(header) < 8:
                return False
            box_size, box_type = int.from_bytes(header[:4], "big"), header[4:8]
            if box_type not in TOP_LEVEL_BOXES:
                return False
            if box_size == 1:
                if len(header) < 16:
                    return False
                box_size = int.from_bytes(header[8:16], "big")
            elif box_size == 0:  # the last box runs to the end of the file
                box_size = size - offset
            if box_size < 8 or offset + box_size > size:
                return False
            seen.add(box_type)
            offset += box_size
        else:
            return False
    finally:
        upload.seek(0)
    return offset == size and bool(seen & {b"moov", b"moof"})


def _public_url(name: str) -> str:
    url = public_storage().url(name)
    if url.startswith("/"):
        url = settings.PUBLIC_BASE_URL.rstrip("/") + url
    return url


def _object_name(extension: str) -> str:
    now = timezone.now()
    return f"products/{now:%Y/%m}/{uuid.uuid4().hex}.{extension}"


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
        if not iso_bmff_is_whole(upload, size):
            raise _unsupported()
        extension = "mov" if video_type == "video/quicktime" else "mp4"
        name = public_storage().save(_object_name(extension), upload)
        return StoredMedia(url=_public_url(name), content_type=video_type, size=size, name=name)
    if size > settings.MAX_IMAGE_UPLOAD_BYTES:
        raise ValidationError(
            _("Images can be at most %(max)s MB.") % {"max": settings.MAX_IMAGE_UPLOAD_BYTES // (1024 * 1024)},
            code="file_too_large",
            attr="file",
        )
    try:
        data, content_type, extension = clean_image(upload)
    except ValidationError as exc:
        if exc.code == "unsupported_media_type":
            raise _unsupported() from exc
        raise
    name = public_storage().save(_object_name(extension), ContentFile(data))
    return StoredMedia(url=_public_url(name), content_type=content_type, size=len(data), name=name)
