"""Where files go: public listing media vs. private identity documents."""

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


def is_own_media_url(url: str) -> bool:
    """True when ``url`` points at this project's public media (listing and chat images)."""
    base = media_base_url()
    return isinstance(url, str) and url.startswith(base) and ".." not in url[len(base) :]
