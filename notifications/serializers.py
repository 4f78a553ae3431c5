from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.serializers import UTCDateTimeField
from notifications.models import Channel, Kind, Platform
from notifications.services import channels_for


class DeviceSerializer(serializers.Serializer):
    platform = serializers.ChoiceField(choices=Platform.choices)
    token = serializers.CharField(max_length=512, trim_whitespace=True)


class DeviceOutSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    platform = serializers.CharField(read_only=True)
    created_at = UTCDateTimeField(read_only=True)


class NotificationSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    kind = serializers.ChoiceField(choices=Kind.choices, read_only=True)
    title = serializers.CharField(read_only=True)
    body = serializers.CharField(read_only=True)
    data = serializers.DictField(read_only=True)
    is_read = serializers.BooleanField(read_only=True)
    created_at = UTCDateTimeField(read_only=True)


class NotificationPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    unread_count = serializers.IntegerField(help_text="Unread notifications in the whole inbox (also X-Unread-Count).")
    results = NotificationSerializer(many=True)


class MarkReadSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=500)
    all = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("all") and not attrs.get("ids"):
            raise serializers.ValidationError({"ids": "Send ids, or all: true."}, code="required")
        return attrs


class ChannelSwitchesSerializer(serializers.Serializer):
    push = serializers.BooleanField(required=False)
    sms = serializers.BooleanField(required=False)
    email = serializers.BooleanField(required=False)
    in_app = serializers.BooleanField(required=False)


class QuietHoursSerializer(serializers.Serializer):
    start = serializers.TimeField(allow_null=True, required=False, format="%H:%M")
    end = serializers.TimeField(allow_null=True, required=False, format="%H:%M")
    timezone = serializers.CharField(max_length=64, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("start" in attrs) != ("end" in attrs) or (attrs.get("start") is None) != (attrs.get("end") is None):
            raise serializers.ValidationError({"end": "Send start and end together."}, code="required")
        return attrs


class PreferencesSerializer(serializers.Serializer):
    channels = serializers.DictField(
        child=ChannelSwitchesSerializer(),
        required=False,
        help_text=f"Per kind ({', '.join(Kind.values)}): push, sms, email, in_app booleans.",
    )
    quiet_hours = QuietHoursSerializer(required=False, help_text="Pushes (never one-time codes) wait until the end.")

    def validate_channels(self, value: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(value) - set(Kind.values))
        if unknown:
            raise serializers.ValidationError(f"Unknown kind(s): {', '.join(unknown)}.", code="invalid_kind")
        return value


def preferences_representation(preferences: Any) -> dict[str, Any]:
    return {
        "channels": {
            kind: {channel: channel in channels_for(preferences, kind) for channel in Channel.values}
            for kind in Kind.values
        },
        "quiet_hours": {
            "start": preferences.quiet_start.strftime("%H:%M") if preferences and preferences.quiet_start else None,
            "end": preferences.quiet_end.strftime("%H:%M") if preferences and preferences.quiet_end else None,
            "timezone": preferences.timezone if preferences else "Asia/Dubai",
        },
    }
