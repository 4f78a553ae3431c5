"""The pixel limit is one setting for every upload path, and no upload changes it for the next."""

from __future__ import annotations

import io

import pytest
from django.conf import settings
from django.test import override_settings
from PIL import Image

from soukloop.errors import ValidationError
from soukloop.images import clean_image
from verification.documents import sniff_image


def png(size: tuple[int, int]) -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", size, "teal").save(buffer, format="PNG")
    buffer.seek(0)
    return buffer


def test_a_lowered_limit_does_not_outlive_its_setting():
    # A listing photo checked under a 1,000-pixel limit once left Pillow's process-wide guard
    # at 1,000, and every ID photo after it was refused as "not a photo".
    with override_settings(MAX_IMAGE_PIXELS=1000):
        with pytest.raises(ValidationError) as refused:
            clean_image(png((100, 11)))
        assert refused.value.code == "image_too_large"
        assert sniff_image(png((100, 11))) is None
    assert sniff_image(png((200, 200))) == "image/png"
    assert clean_image(png((200, 200)))[1] == "image/png"


def test_pillow_refuses_what_the_setting_refuses():
    with override_settings(MAX_IMAGE_PIXELS=5000):
        assert Image.MAX_IMAGE_PIXELS == 5000
    assert Image.MAX_IMAGE_PIXELS == settings.MAX_IMAGE_PIXELS
