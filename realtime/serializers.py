from rest_framework import serializers


class TicketSerializer(serializers.Serializer):
    ticket = serializers.CharField(read_only=True, help_text="Single use; pass as /ws/v1/?ticket=…")
    expires_in = serializers.IntegerField(read_only=True, help_text="Seconds (60)")
    anonymous = serializers.BooleanField(read_only=True, help_text="A viewer-only ticket (streams only)")
