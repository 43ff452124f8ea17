"""The real client address behind a reverse proxy, believed only from trusted proxies.

A reverse proxy (nginx, Caddy) connects to maillage itself, so ``REMOTE_ADDR`` is the proxy's
address and the client's is in ``X-Forwarded-For``. That header is written by whoever sends the
request: a client can put any address in it. :class:`TrustedProxyMiddleware` therefore reads it
only when the connection comes from an address listed in ``MAILLAGE_TRUSTED_PROXIES``, and then
walks it from the right (the hops our proxies appended) to the first address that is not one of
our proxies: that is the client as our proxies saw it, whatever it wrote on the left.
``REMOTE_ADDR`` is replaced by it, so login throttling (django-axes reads ``REMOTE_ADDR``), the
audit log and any rate limit all see the same, real, client.

From an untrusted peer the forwarded headers are removed, so neither a spoofed
``X-Forwarded-For`` nor a spoofed ``X-Forwarded-Proto: https`` has any effect.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
FORWARDED_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST")


def parse_networks(values: Iterable[str]) -> list[Network]:
    """``["127.0.0.1", "10.0.0.0/8"]`` -> networks; a bad entry is a configuration error."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"MAILLAGE_TRUSTED_PROXIES : « {value} » n'est ni une adresse IP ni un réseau "
                "(exemples : 127.0.0.1, 10.0.0.0/8, ::1)."
            ) from exc
    return networks


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [::1]:1234
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # 203.0.113.7:1234
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def client_address(remote_addr: str, forwarded_for: str, trusted: list[Network]) -> str:
    """The client's address: ``remote_addr`` unless it is a trusted proxy, then the right-most
    address of ``forwarded_for`` that is not a trusted proxy (or the left-most if all are)."""
    peer = _address(remote_addr)
    if peer is None or not any(peer in net for net in trusted):
        return remote_addr
    hops = [h for h in forwarded_for.split(",") if h.strip()]
    client = remote_addr
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:  # garbage in the header: stop at the last hop we could read
            break
        client = str(address)
        if not any(address in net for net in trusted):
            break
    return client


class TrustedProxyMiddleware:
    """Set ``REMOTE_ADDR`` to the real client; drop forwarded headers from untrusted peers."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.trusted = parse_networks(getattr(settings, "TRUSTED_PROXIES", []))

    def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = request.META
        remote = meta.get("REMOTE_ADDR", "")
        peer = _address(remote)
        if peer is not None and any(peer in net for net in self.trusted):
            meta["REMOTE_ADDR"] = client_address(
                remote, meta.get("HTTP_X_FORWARDED_FOR", ""), self.trusted
            )
            meta["maillage.proxy_peer"] = remote
        else:
            for header in FORWARDED_HEADERS:
                meta.pop(header, None)
        return self.get_response(request)
