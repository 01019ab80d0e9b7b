"""Where a webhook may send: public unicast addresses only, checked at subscription and at
every delivery, and the connection made to the very address that was checked.

A subscription is an instruction to the service to make requests on a client's behalf:
without this check it reaches what only the service can reach (its own loopback, the
cloud metadata address, the office network). So the host is resolved, every address it
resolves to must be public, and the delivery connects to one of those addresses with the
original name kept for ``Host`` and TLS (SNI and the certificate check): a DNS answer that
changes between the check and the connection cannot redirect it.

An operator names internal receivers on purpose in ``PIPELINE_WEBHOOK_ALLOWED_HOSTS``.
"""

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# inet_aton accepts 127.1, 0x7f000001, 017700000001 and 2130706433 for 127.0.0.1, and
# getaddrinfo passes them through: only the four decimal numbers are taken as IPv4.
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+))*\.?$")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class RefusedDestination(ValueError):
    """A URL the service will not send to; the message says why, for the client."""


@dataclass(frozen=True, slots=True)
class Destination:
    """How to reach a checked URL: the URL to connect to, and what keeps the original name."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, str] = field(default_factory=dict)


def refusal(address: IPAddress) -> str | None:
    """Why ``address`` is not a public unicast address, or None if it is."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return refusal(embedded)
    for kind in ("loopback", "unspecified", "link_local", "multicast", "private", "reserved"):
        if getattr(address, f"is_{kind}"):
            return f"{kind.replace('_', '-')} address"
    if not address.is_global:  # shared (CGNAT 100.64.0.0/10), documentation, benchmarking ...
        return "not a public address"
    return None


def host_of(url: str) -> tuple[str, int]:
    """The URL's host (lower case, without brackets) and port."""
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    return host, parts.port or (443 if parts.scheme == "https" else 80)


def is_allowed(host: str, allowed_hosts: list[str]) -> bool:
    return host in {h.strip().lower().strip("[]").rstrip(".") for h in allowed_hosts}


async def resolve(url: str, *, allowed_hosts: list[str], resolve_within: float) -> list[IPAddress]:
    """The public addresses ``url``'s host stands for, or RefusedDestination.

    An allowed host is resolved without the check."""
    host, port = host_of(url)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is None and _NUMERIC_HOST.match(host):
        raise RefusedDestination(f"the host {host!r} is a number that is not an IP address as written "
                                 "(an IPv4 address is four decimal numbers)")
    allowed = is_allowed(host, allowed_hosts)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            async with asyncio.timeout(resolve_within):
                infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, TimeoutError, UnicodeError):
            raise RefusedDestination(f"the host {host!r} does not resolve") from None
        addresses = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).partition("%")[0]) for info in infos))
        if not addresses:
            raise RefusedDestination(f"the host {host!r} does not resolve")
    if not allowed:
        for address in addresses:
            reason = refusal(address)
            if reason is not None:
                raise RefusedDestination(
                    f"the host {host!r} is a {reason} ({address}); webhooks go to public addresses only")
    return addresses


async def destination(url: str, *, allowed_hosts: list[str], resolve_within: float) -> Destination:
    """Where to connect for ``url``: its first checked address, the original name kept."""
    addresses = await resolve(url, allowed_hosts=allowed_hosts, resolve_within=resolve_within)
    host, _ = host_of(url)
    parsed = httpx.URL(url)
    if str(addresses[0]) == host:
        return Destination(url)
    pinned = parsed.copy_with(host=str(addresses[0]))
    netloc = parsed.netloc.decode("ascii").rpartition("@")[2]
    extensions = {"sni_hostname": parsed.host} if parsed.scheme == "https" else {}
    return Destination(str(pinned), headers={"Host": netloc}, extensions=extensions)
