"""Saved searches, indexed for percolation: each new listing is matched against the searches
that could want it (its category or none, an area that covers it, a key word it contains),
never against all of them (discovery.services.percolate)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class SavedSearch(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_searches")
    name = models.CharField(max_length=80, blank=True)
    # The product list's parameters as the parser accepts them (strings), as sent back to clients.
    params = models.JSONField(default=dict)
    alerts = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    # The percolation index, derived from ``params`` when the search is saved.
    category = models.CharField(max_length=20, blank=True, help_text=_("Empty: any category."))
    # The one word of ``q`` a listing must contain for the search to be a candidate (its
    # longest); empty without ``q``. The other words are checked for the candidates only.
    q_key = models.CharField(max_length=100, blank=True)
    q_words = models.JSONField(default=list, blank=True)
    # With two words or more: its two longest, as one key ("a b", in order), found through an
    # index from the pairs of a listing's words, so a search whose first word matched but whose
    # second did not is never read (discovery.services.percolate). Empty for 0-1 words.
    q_pair = models.CharField(max_length=201, blank=True, default="")
    # condition / feed_type / seller when the search names them (checked for candidates only).
    filters = models.JSONField(null=True, blank=True)
    # The box around the search's circle (none without lat/lng), GiST-indexed; the exact circle
    # is ``center`` and ``radius_m``, checked by the database for the candidates.
    area = models.PolygonField(srid=4326, spatial_index=True, null=True, blank=True)
    center = models.PointField(srid=4326, geography=True, null=True, blank=True)
    radius_m = models.FloatField(null=True, blank=True)
    min_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    max_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)

    # Alerts: at most one per SAVED_SEARCH_ALERT_MINUTES; matches in between wait here.
    last_alerted_at = models.DateTimeField(null=True, blank=True)
    pending_count = models.PositiveIntegerField(default=0)
    pending_titles = models.JSONField(default=list, blank=True)
    pending_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = _("saved searches")
        indexes = [
            models.Index(fields=["user", "-created_at"], name="discovery_search_user_idx"),
            models.Index(
                fields=["q_key", "category", "q_pair"], condition=Q(alerts=True), name="discovery_search_key_idx"
            ),
            models.Index(
                fields=["q_pair", "category"],
                condition=Q(alerts=True) & ~Q(q_pair=""),
                name="discovery_search_pair_idx",
            ),
            models.Index(fields=["pending_since"], condition=Q(pending_count__gt=0), name="discovery_search_due_idx"),
        ]

    def __str__(self) -> str:
        return self.name or f"saved search {self.pk}"


class PercolationMark(models.Model):
    """Where the percolator stopped: the (created_at, id) of the last listing it matched."""

    key = models.CharField(max_length=40, primary_key=True)
    created_at = models.DateTimeField()
    product_id = models.UUIDField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.key} at {self.created_at.isoformat()}"
