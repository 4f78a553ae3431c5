"""Where files go: public listing media vs. private identity documents."""

from django.core.files.storage import Storage, storages


def private_storage() -> Storage:
    """Storage for documents that must never have a public URL (``STORAGES["private"]``).

    A callable, so migrations record the function rather than a configured instance.
    """
    return storages["private"]


def public_storage() -> Storage:
    return storages["default"]
