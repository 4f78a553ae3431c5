from __future__ import annotations

import uuid
from typing import ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.contrib.gis.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    BUYER = "buyer", _("Buyer")
    SELLER = "seller", _("Seller")
    BOTH = "both", _("Buyer and seller")
    ADMIN = "admin", _("Admin")


class VerificationStatus(models.TextChoices):
    """The person's KYC state, kept on the user for profiles; the verification app sets it."""

    NONE = "none", _("Not submitted")
    PENDING = "pending", _("Pending review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


SELLING_ROLES = frozenset({Role.SELLER, Role.BOTH, Role.ADMIN})


class SoukLoopUserManager(UserManager):
    def create_user(self, username, email=None, password=None, **extra_fields):
        extra_fields.setdefault("phone", None)
        return super().create_user(username, email, password, **extra_fields)

    def create_superuser(self, username, email=None, password=None, **extra_fields):
        extra_fields.setdefault("role", Role.ADMIN)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    """A person on Souk Loop. Email, username and phone each identify one account."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    first_name = None  # type: ignore[assignment]  # Django's documented way to drop a field
    last_name = None  # type: ignore[assignment]
    email = models.EmailField(_("email address"), unique=True)
    phone = models.CharField(_("phone"), max_length=20, unique=True, null=True, blank=True, help_text="E.164")
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    avatar_url = models.URLField(max_length=500, blank=True)
    bio = models.TextField(max_length=500, blank=True)
    # The language of what Souk Loop sends them (SMS, push, email): set from Accept-Language at
    # sign-up, changeable on the profile.
    language = models.CharField(
        _("language"), max_length=2, choices=[("en", "English"), ("ar", "العربية")], default="en"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.BUYER)
    is_verified = models.BooleanField(
        _("phone/email verified"), default=False, help_text=_("Set when the person proves their phone or email (OTP).")
    )
    verification_status = models.CharField(
        max_length=10, choices=VerificationStatus.choices, default=VerificationStatus.NONE, db_index=True
    )
    location = models.PointField(srid=4326, geography=True, null=True, blank=True)
    neighborhood = models.CharField(max_length=100, blank=True, db_index=True)
    building_name = models.CharField(max_length=100, blank=True)
    last_login_at = models.DateTimeField(null=True, blank=True)
    # A moderator's suspension: the account is inactive until then (signed out everywhere), and
    # the person is told why when they try to sign in.
    suspended_until = models.DateTimeField(_("suspended until"), null=True, blank=True)
    suspension_reason = models.CharField(_("suspension reason"), max_length=300, blank=True)
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    stripe_connect_account_id = models.CharField(max_length=255, blank=True, db_index=True)
    stripe_onboarded = models.BooleanField(
        default=False, help_text=_("The connected account can take charges and receive payouts.")
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects: ClassVar[SoukLoopUserManager] = SoukLoopUserManager()

    REQUIRED_FIELDS = ["email"]

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Email and username are unique whatever their case, so login is case-insensitive.
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique"),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="accounts_user_role_valid"),
        ]

    def __str__(self) -> str:
        return self.username

    @property
    def can_sell(self) -> bool:
        return self.role in SELLING_ROLES


class Follow(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    follower = models.ForeignKey(User, on_delete=models.CASCADE, related_name="following_links")
    following = models.ForeignKey(User, on_delete=models.CASCADE, related_name="follower_links")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["follower", "following"], name="accounts_follow_unique"),
            models.CheckConstraint(condition=~Q(follower=models.F("following")), name="accounts_follow_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.follower_id} → {self.following_id}"


class Block(models.Model):
    """``blocker`` no longer hears from ``blocked``: no chats, messages or offers."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    blocker = models.ForeignKey(User, on_delete=models.CASCADE, related_name="blocks_made")
    blocked = models.ForeignKey(User, on_delete=models.CASCADE, related_name="blocks_received")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="accounts_block_unique"),
            models.CheckConstraint(condition=~Q(blocker=models.F("blocked")), name="accounts_block_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.blocker_id} ⊘ {self.blocked_id}"


class UserStats(models.Model):
    """One row per person with the figures that come from reviews and claims, written by the
    app that owns them (``trust``) in the same DB transaction as the change, and read with a
    join (``select_related("stats")`` or ``seller__stats__rating`` in ``values``): no
    per-row query on lists. No row: no reviews, no claims."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, primary_key=True, related_name="stats")
    # Mean of the published reviews that count (docs/trust.md), 2 decimals; null without any.
    rating = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)
    rating_count = models.PositiveIntegerField(default=0)
    # Claims against this person as seller that ended with money back to the buyer.
    claims_upheld_count = models.PositiveIntegerField(default=0, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "user stats"

    def __str__(self) -> str:
        return f"stats of {self.user_id}"
