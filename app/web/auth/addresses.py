"""Addresses: the TCP peer, trusted proxies and what they forward, and this machine's loopback names."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from flask import current_app, request

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
FORWARDING_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Real-IP")


def parse_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip().split("%")[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def client_address() -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The TCP peer (never X-Forwarded-For: anyone can write that header)."""
    return parse_address(request.remote_addr or "")


@lru_cache(maxsize=16)
def parse_networks(entries: tuple[str, ...]) -> tuple[tuple, tuple[str, ...]]:
    networks, bad = [], []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            bad.append(entry)
    return tuple(networks), tuple(bad)


def trusted_networks(web) -> tuple:
    networks, bad = parse_networks(tuple(web.trusted_proxies))
    if bad:
        current_app.logger.error("web.trusted_proxies: not an address or CIDR: %s", ", ".join(bad))
    return networks


def in_networks(address, networks) -> bool:
    return address is not None and any(address.version == n.version and address in n for n in networks)


def from_trusted_proxy(web) -> bool:
    return in_networks(client_address(), trusted_networks(web))


def forwarded_client_address(web) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The client as the trusted proxies report it, for counting failed sign-ins only.

    X-Forwarded-For is read only when the TCP peer is a trusted proxy, and from
    the right: each trusted hop vouches for the one to its left, and the first
    untrusted one is the client. Anything further left the client wrote itself.
    """
    networks = trusted_networks(web)
    address = client_address()
    if not in_networks(address, networks):
        return address
    hops = [hop for value in request.headers.getlist("X-Forwarded-For") for hop in value.split(",")]
    for hop in reversed(hops):
        hop_address = parse_address(host_without_port(hop).strip("[]"))
        if hop_address is None:
            break  # a trusted proxy would not write this: keep the last hop we can vouch for
        address = hop_address
        if not in_networks(address, networks):
            break
    return address


def is_loopback_name(host: str) -> bool:
    return host.strip().lower() in LOOPBACK_NAMES


def host_without_port(value: str) -> str:
    value = value.strip().lower()
    if value.startswith("["):
        return value[: value.find("]") + 1]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def addressed_to_loopback() -> bool:
    """The Host header names this machine's loopback (DNS rebinding sends another name)."""
    return is_loopback_name(host_without_port(request.host))
