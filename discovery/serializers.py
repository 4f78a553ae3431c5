from __future__ import annotations

from rest_framework import serializers


class SavedSearchWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    params = serializers.DictField(
        help_text='The products list\'s filters as an object: {"q": "iphone", "category": "electronics", '
        '"max_price": "2000", "lat": 25.08, "lng": 55.14, "radius_km": 5, "attr.storage_gb__gte": 256}; '
        'a repeatable attribute filter may be a list, its values OR-ed: {"attr.size_eu": ["42", "42.5"]}.'
    )
    alerts = serializers.BooleanField(required=False, default=True)


class SavedSearchSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(read_only=True)
    params = serializers.DictField(
        child=serializers.JSONField(),
        read_only=True,
        help_text="As saved: a string per parameter, a list of strings for a repeated attr.<key>.",
    )
    alerts = serializers.BooleanField(read_only=True)
    last_alerted_at = serializers.DateTimeField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
