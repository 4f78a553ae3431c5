from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.factories import DUBAI_MARINA, JLT

MEDIA = "http://127.0.0.1:8000/media/products/2026/11/a.jpg"


@pytest.fixture
def valid_listing() -> dict:
    """A create body that passes every rule; tests break one field at a time."""
    return {
        "title": "Yeezy Boost 350 V2",
        "description": "Worn twice, box included.",
        "price": "149.00",
        "original_price": "900.00",
        "category": "sneakers",
        "condition": "like_new",
        "feed_type": "discover",
        "latitude": DUBAI_MARINA[1],
        "longitude": DUBAI_MARINA[0],
        "neighborhood": "Dubai Marina",
        "image_urls": [MEDIA],
        "tags": ["yeezy", "adidas"],
    }


@pytest.fixture
def jlt_point() -> tuple[float, float]:
    return JLT


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (64, 48), exif_gps: bool = False) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    out = io.BytesIO()
    kwargs = {}
    if exif_gps:
        exif = Image.Exif()
        exif[0x010F] = "SpyCam Inc."  # Make
        exif[0x8825] = {1: "N", 2: (25.0, 4.0, 50.0), 3: "E", 4: (55.0, 8.0, 25.0)}  # GPSInfo
        kwargs["exif"] = exif
    image.save(out, format=fmt, **kwargs)
    return out.getvalue()
