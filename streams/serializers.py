"""Input and output shapes of the streams API. Output serializers are read-only and do no
queries of their own (the selectors load everything). None of them has a ``stream_key``
field except ``GoLiveSerializer``, which only the go-live action of the owner returns."""

from __future__ import annotations

from rest_framework import serializers

from catalog.models import Category
from streams.models import Stream, StreamProduct, StreamStatus


class StreamHostSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    username = serializers.CharField(read_only=True)
    full_name = serializers.CharField(read_only=True)
    avatar_url = serializers.CharField(read_only=True)
    is_verified = serializers.BooleanField(read_only=True)
    verification_status = serializers.CharField(read_only=True)
    rating = serializers.SerializerMethodField(help_text="Mean of published reviews; null without any.")
    rating_count = serializers.SerializerMethodField()

    def _stats(self, user):
        return getattr(user, "stats", None)  # joined by the selector; no row -> None

    def get_rating(self, user) -> float | None:
        stats = self._stats(user)
        return None if stats is None or stats.rating is None else float(stats.rating)

    def get_rating_count(self, user) -> int:
        stats = self._stats(user)
        return stats.rating_count if stats else 0


class StreamSerializer(serializers.ModelSerializer):
    seller = StreamHostSerializer(source="user", read_only=True)
    category_label = serializers.CharField(source="get_category_display", read_only=True)
    hls_url = serializers.SerializerMethodField()
    products_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = Stream
        fields = (
            "id",
            "title",
            "description",
            "category",
            "category_label",
            "status",
            "stream_type",
            "thumbnail_url",
            "hls_url",
            "viewer_count",
            "total_views",
            "duration_seconds",
            "scheduled_for",
            "started_at",
            "ended_at",
            "products_count",
            "seller",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields

    def get_hls_url(self, obj: Stream) -> str | None:
        """Playback URL while the stream is live (it never contains the publishing key)."""
        if obj.status != StreamStatus.LIVE:
            return None
        return obj.hls_url or None


class StreamWriteSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=150)
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")
    category = serializers.ChoiceField(choices=Category.choices)
    scheduled_for = serializers.DateTimeField(required=False, allow_null=True, default=None)
    thumbnail_url = serializers.URLField(required=False, allow_blank=True, max_length=500, default="")


class GoLiveSerializer(serializers.Serializer):
    rtmp_url = serializers.CharField(help_text="RTMP ingest server (OBS: 'Server').")
    stream_key = serializers.CharField(help_text="Secret publishing key, shown only here; rotated on every go-live.")
    hls_url = serializers.CharField(help_text="Where viewers play the stream (HLS).")
    publish_url = serializers.CharField(
        help_text="Full publish URL for mobile RTMP publishers: rtmp_url/<stream id>?key=<stream_key>."
    )


class ViewerCountSerializer(serializers.Serializer):
    viewer_count = serializers.IntegerField()
    total_views = serializers.IntegerField()


class TaggedListingSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    title = serializers.CharField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    image_url = serializers.SerializerMethodField()
    is_available = serializers.BooleanField(help_text="False once sold: show the listing as sold.")
    sold_at = serializers.DateTimeField(allow_null=True)

    def get_image_url(self, product) -> str | None:
        images = product.image_urls or []
        return images[0] if images else None


class StreamProductSerializer(serializers.ModelSerializer):
    product_id = serializers.UUIDField(read_only=True)
    product = TaggedListingSerializer(read_only=True)

    class Meta:
        model = StreamProduct
        fields = ("id", "product_id", "x", "y", "pinned", "product", "created_at", "updated_at")
        read_only_fields = fields


class StreamProductWriteSerializer(serializers.Serializer):
    product_id = serializers.UUIDField()
    x = serializers.FloatField(min_value=0.0, max_value=1.0, help_text="0 (left) .. 1 (right) of the frame")
    y = serializers.FloatField(min_value=0.0, max_value=1.0, help_text="0 (top) .. 1 (bottom) of the frame")
    pinned = serializers.BooleanField(required=False, default=False)


# --- media-server hooks -----------------------------------------------------------------------


def _hook_text(max_length: int) -> serializers.CharField:
    """Media servers send absent values as empty strings or null: both mean "not given"."""
    return serializers.CharField(max_length=max_length, required=False, allow_blank=True, allow_null=True, default="")


class _HookSerializer(serializers.Serializer):
    def validate(self, attrs: dict) -> dict:
        return {field: value or "" for field, value in attrs.items()}


class RtmpHookSerializer(_HookSerializer):
    """nginx-rtmp notify fields (form-encoded). The publish URL's own arguments (``?key=``)
    arrive as extra fields."""

    name = _hook_text(512)
    key = _hook_text(512)
    app = _hook_text(512)
    addr = _hook_text(128)
    call = _hook_text(64)
    args = _hook_text(2048)
    time = _hook_text(64)


class MediaMtxAuthSerializer(_HookSerializer):
    """MediaMTX ``authHTTPAddress`` request body."""

    action = serializers.CharField(max_length=32)
    path = _hook_text(512)
    query = _hook_text(2048)
    user = _hook_text(512)
    password = _hook_text(512)
    token = _hook_text(2048)
    ip = _hook_text(128)
    protocol = _hook_text(32)
    id = _hook_text(128)


class HookResultSerializer(serializers.Serializer):
    status = serializers.CharField()
    stream_id = serializers.UUIDField(required=False)


# --- live-show chat ---------------------------------------------------------------------------


class ChatAuthorSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    username = serializers.CharField(read_only=True)
    avatar_url = serializers.CharField(read_only=True)


class ChatMessageSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    stream_id = serializers.UUIDField(read_only=True)
    text = serializers.CharField(read_only=True)
    user = ChatAuthorSerializer(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class ChatSendSerializer(serializers.Serializer):
    # Length and blankness are the service's rules (the socket frame goes through it too).
    text = serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=2000)


class ChatMuteSerializer(serializers.Serializer):
    user_id = serializers.UUIDField()
    minutes = serializers.IntegerField()


class ChatBanSerializer(serializers.Serializer):
    user_id = serializers.UUIDField()


class ChatSettingsSerializer(serializers.Serializer):
    slow_mode_seconds = serializers.IntegerField(required=False)
    banned_words = serializers.ListField(child=serializers.CharField(allow_blank=True), required=False)
    links_allowed = serializers.BooleanField(required=False)
    moderators = serializers.ListField(child=serializers.UUIDField(), required=False)

    def to_representation(self, instance):
        return {
            "slow_mode_seconds": instance.slow_mode_seconds,
            "banned_words": list(instance.banned_words),
            "links_allowed": instance.links_allowed,
            "moderators": [str(pk) for pk in instance.moderators.values_list("pk", flat=True)],
        }
