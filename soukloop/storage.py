"""Where files go: public listing media vs. private identity documents."""

import posixpath
import re
from urllib.parse import unquote

from django.core.files.storage import FileSystemStorage, Storage, storages


class PrivateFileSystemStorage(FileSystemStorage):
    """Local disk for identity documents: no URL exists for them (FileSystemStorage would
    fall back to MEDIA_URL). Staff read them through the permission-checked admin view."""

    def url(self, name: str | None) -> str:
        raise ValueError("Private documents have no public URL.")


def private_storage() -> Storage:
    """Storage for documents that must never have a public URL (``STORAGES["private"]``).

    A callable, so migrations record the function rather than a configured instance.
    """
    return storages["private"]


def public_storage() -> Storage:
    return storages["default"]


def media_base_url() -> str:
    """The absolute URL prefix under which public media is served."""
    from django.conf import settings

    # Some backends (S3 without a custom domain) refuse url(""): ask for a name and cut it off.
    probe = "x"
    base = public_storage().url(probe)[: -len(probe)]
    if base.startswith("/"):
        base = settings.PUBLIC_BASE_URL.rstrip("/") + base
    return base


# What our own uploads are named: media_store's ``products/YYYY/MM/<hex>.<ext>`` and the like.
_SAFE_MEDIA_PATH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-./]*$")


def is_own_media_url(url: str) -> bool:
    """True when ``url`` points at this project's public media (listing and chat images).

    The rest of the URL after the media base is decoded (repeatedly: ``%252e`` is ``%2e`` is
    ``.``) and normalised before it is judged, so ``/media/%2e%2e/admin/logout/`` is not ours;
    no query, fragment, backslash or dot segment is accepted (security review, finding 14)."""
    base = media_base_url()
    if not isinstance(url, str) or not url.startswith(base) or len(url) > 2048:
        return False
    rest = url[len(base) :]
    for _ in range(3):
        decoded = unquote(rest)
        if decoded == rest:
            break
        rest = decoded
    else:
        return False
    if not rest or not _SAFE_MEDIA_PATH.match(rest) or "//" in rest:
        return False
    segments = rest.split("/")
    return all(segment not in ("", ".", "..") for segment in segments) and posixpath.normpath(rest) == rest
