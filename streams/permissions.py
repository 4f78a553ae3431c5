"""Who may call the media-server hooks: allowlisted source addresses (CIDRs welcome) and,
when ``MEDIA_HOOK_SECRET`` is set, only with ``?secret=<it>`` in the hook URL."""

from __future__ import annotations

import hmac
import ipaddress
import logging
from functools import lru_cache

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission

logger = logging.getLogger(__name__)

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            logger.warning("MEDIA_HOOK_ALLOWED_IPS: ignoring %r (not an address or CIDR)", entry)
    return tuple(networks)


def address_allowed(address: str | None) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in network for network in _networks(tuple(settings.MEDIA_HOOK_ALLOWED_IPS)))


def secret_matches(given: str | None) -> bool:
    expected = settings.MEDIA_HOOK_SECRET
    if not expected:
        return True
    return hmac.compare_digest((given or "").encode(), expected.encode())


class IsMediaServer(BasePermission):
    """The peer address is the one that connected (REMOTE_ADDR), never a forwarded header:
    the media server calls the app directly on the internal network."""

    message = _("Media-server hooks only.")
    code = "hook_forbidden"

    def has_permission(self, request, view) -> bool:
        return address_allowed(request.META.get("REMOTE_ADDR")) and secret_matches(request.query_params.get("secret"))
