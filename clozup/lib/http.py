"""The client's IP address, believing forwarded headers only from our proxies.

Lockout, rate limits, session lists and the audit log all key on the client
address. `X-Forwarded-For` is a header anyone can send, so it is read only
when the connection comes from a proxy listed in `TRUSTED_PROXIES`, and then
only as far back as the chain stays inside those proxies: the first address
from the right that is not a trusted proxy is the client.
"""

import functools
import ipaddress

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.cache
def _trusted_networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def _parse(value: str):
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _is_trusted(address, networks: tuple[Network, ...]) -> bool:
    return any(address in network for network in networks)


def client_ip(request: HttpRequest) -> str | None:
    """The address of whoever sent the request, normalised; None if unusable."""
    remote = _parse(request.META.get("REMOTE_ADDR", ""))
    if remote is None:
        return None

    networks = _trusted_networks(tuple(settings.TRUSTED_PROXIES))
    if not _is_trusted(remote, networks):
        return remote.compressed

    # Walk back from the proxy nearest to us; stop at the first hop that no
    # trusted proxy vouches for, or at anything that is not an address.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    client = remote
    for hop in reversed([part for part in forwarded.split(",") if part.strip()]):
        address = _parse(hop)
        if address is None:
            break
        client = address
        if not _is_trusted(address, networks):
            break
    return client.compressed


def client_ip_for_axes(request: HttpRequest) -> str:
    """django-axes' AXES_CLIENT_IP_CALLABLE."""
    return client_ip(request) or ""
