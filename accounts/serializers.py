"""Input and output shapes for the Auth and Users API. No business logic here.

``PublicUserSerializer`` is the one other apps import to show a person (seller, buyer,
the other side of a chat).
"""

from __future__ import annotations

import datetime

from django.contrib.auth.validators import UnicodeUsernameValidator
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from accounts.models import User
from accounts.services import SELF_ASSIGNABLE_ROLES
from soukloop.geo import point_to_dict
from soukloop.storage import is_own_media_url


@extend_schema_serializer(component_name="UserLocation")
class LocationSerializer(serializers.Serializer):
    latitude = serializers.FloatField()
    longitude = serializers.FloatField()


@extend_schema_field(LocationSerializer(allow_null=True))
class LocationField(serializers.Field):
    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return point_to_dict(value)


class UTCDateTimeField(serializers.DateTimeField):
    """The contract's timestamps are UTC, whatever ``TIME_ZONE`` says."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        super().__init__(default_timezone=datetime.UTC, **kwargs)


class PublicUserSerializer(serializers.ModelSerializer):
    """A person as anyone may see them."""

    class Meta:
        model = User
        fields = ("id", "username", "full_name", "avatar_url", "is_verified", "verification_status")
        read_only_fields = fields


# What a profile shows anyone; ``me`` adds the private fields.
PROFILE_PUBLIC_FIELDS = (
    "id",
    "username",
    "full_name",
    "avatar_url",
    "bio",
    "is_verified",
    "verification_status",
    "neighborhood",
)


class UserDetailSerializer(serializers.ModelSerializer):
    """``me``: the public fields plus what only the person sees about themselves."""

    location = LocationField(allow_null=True)
    created_at = UTCDateTimeField()

    class Meta:
        model = User
        fields = (
            *PROFILE_PUBLIC_FIELDS,
            "email",
            "phone",
            "role",
            "location",
            "building_name",
            "language",
            "stripe_onboarded",
            "created_at",
        )
        read_only_fields = fields


def rating_stats(user: User) -> dict:
    """``rating`` and ``rating_count`` from the person's stats row (joined by the selector)."""
    # A missing reverse one-to-one raises RelatedObjectDoesNotExist, an AttributeError.
    stats = getattr(user, "stats", None)
    if stats is None or stats.rating is None:
        return {"rating": None, "rating_count": stats.rating_count if stats else 0}
    return {"rating": float(stats.rating), "rating_count": stats.rating_count}


class ProfileStatsSerializer(serializers.Serializer):
    followers_count = serializers.IntegerField()
    following_count = serializers.IntegerField()
    products_count = serializers.IntegerField()
    rating = serializers.FloatField(
        allow_null=True, help_text="Mean of the published reviews received (2 decimals); null without any."
    )
    rating_count = serializers.IntegerField(help_text="How many published reviews the rating is the mean of.")


class PublicProfileSerializer(serializers.ModelSerializer):
    created_at = UTCDateTimeField()
    stats = serializers.SerializerMethodField()
    is_following = serializers.SerializerMethodField(help_text="Whether the signed-in caller follows this person.")

    class Meta:
        model = User
        fields = (
            *PROFILE_PUBLIC_FIELDS,
            "created_at",
            "stats",
            "is_following",
        )
        read_only_fields = fields

    @extend_schema_field(ProfileStatsSerializer)
    def get_stats(self, user: User) -> dict:
        return {
            "followers_count": user.followers_count,
            "following_count": user.following_count,
            "products_count": user.products_count,
            **rating_stats(user),
        }

    def get_is_following(self, user: User) -> bool:
        return bool(getattr(user, "is_followed_by_viewer", False))


SELF_ASSIGNABLE_ROLE_CHOICES = [(r.value, r.label) for r in SELF_ASSIGNABLE_ROLES]


class RoleField(serializers.ChoiceField):
    """buyer / seller / both: ``admin`` is never self-assignable."""

    def __init__(self, **kwargs):
        super().__init__(choices=SELF_ASSIGNABLE_ROLE_CHOICES, **kwargs)


class RegisterSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    username = serializers.CharField(max_length=150, validators=[UnicodeUsernameValidator()])
    password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})
    phone = serializers.CharField(max_length=32)
    full_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    role = RoleField()


class TokenPairSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    refresh_token = serializers.CharField()
    token_type = serializers.CharField(default="bearer")
    expires_in = serializers.IntegerField(help_text="Access token lifetime in seconds.")


class AuthResponseSerializer(TokenPairSerializer):
    user = UserDetailSerializer()


class LoginSerializer(serializers.Serializer):
    identifier = serializers.CharField(max_length=254, help_text="Email, username or phone.")
    password = serializers.CharField(max_length=128, style={"input_type": "password"})


class _PhoneOrEmailSerializer(serializers.Serializer):
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)

    def validate(self, attrs):
        if bool(attrs.get("phone")) == bool(attrs.get("email")):
            raise serializers.ValidationError(_("Send either a phone number or an email."), code="phone_or_email")
        return attrs


class SendOTPSerializer(_PhoneOrEmailSerializer):
    pass


class VerifyOTPSerializer(_PhoneOrEmailSerializer):
    otp_code = serializers.RegexField(r"^\d{6}$", max_length=6)


class VerifiedSerializer(serializers.Serializer):
    is_verified = serializers.BooleanField()


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class RefreshSerializer(serializers.Serializer):
    refresh_token = serializers.CharField(max_length=4096)


class ForgotPasswordSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class ResetPasswordSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=512)
    new_password = serializers.CharField(max_length=128, style={"input_type": "password"})


class ChangePasswordSerializer(serializers.Serializer):
    current_password = serializers.CharField(max_length=128, style={"input_type": "password"})
    new_password = serializers.CharField(max_length=128, style={"input_type": "password"})


class MeUpdateSerializer(serializers.Serializer):
    """The only fields a person may change about themselves; anything else sent is ignored."""

    full_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    bio = serializers.CharField(max_length=500, required=False, allow_blank=True)
    avatar_url = serializers.URLField(max_length=500, required=False, allow_blank=True)
    neighborhood = serializers.CharField(max_length=100, required=False, allow_blank=True)
    building_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    role = RoleField(required=False)
    language = serializers.ChoiceField(
        choices=[("en", "English"), ("ar", "Arabic")], required=False, help_text="What SMS, push and email arrive in."
    )

    def validate_avatar_url(self, value: str) -> str:
        if value and not is_own_media_url(value):
            raise serializers.ValidationError(_("Upload the picture through /api/v1/media/ first."), code="foreign_url")
        return value


class LocationUpdateSerializer(serializers.Serializer):
    latitude = serializers.FloatField(min_value=-90, max_value=90)
    longitude = serializers.FloatField(min_value=-180, max_value=180)
    neighborhood = serializers.CharField(max_length=100, required=False, allow_blank=True)
    building_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
