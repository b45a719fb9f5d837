"""Requests to hosts a stranger names (a Mastodon handle's instance, the one its WebFinger points to): only
to the public internet, so a handle cannot make this server read its own network (``user@localhost``, a
cloud's metadata address, a name that resolves to ``10.0.0.5``).

A host is refused when it is an IP address in any spelling (``10.0.0.5``, ``[::1]``, ``2130706433``,
``0177.0.0.1``) or when any address its name resolves to is not global (:attr:`ipaddress.IPv4Address.is_global`).
:class:`PinnedAdapter` then connects to exactly the addresses that were checked (TLS still checks the
certificate of the name), so the name cannot resolve elsewhere between the check and the connection (DNS
rebinding). Sessions using it ignore proxies from the environment: a proxy would resolve the name itself,
past the check. Answers are read up to a bound (:func:`read_bounded`), redirects are never followed.
What it cannot see: a public address that itself forwards into a private network (an open proxy, a
gateway of the operator's own); such hosts are the operator's to firewall.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import time
from collections.abc import Callable, MutableMapping
from typing import Any, ClassVar

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPSConnection
from urllib3.connectionpool import HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util import connection

from ..exceptions import InvalidInput, UpstreamError

#: ``resolve(host, port)``: the addresses ``host`` resolves to (tests pass their own: no real DNS).
Resolver = Callable[[str, int], list[str]]
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class NotPublicHost(InvalidInput):
    """A host named by a user that is not on the public internet; nothing is requested from it."""


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system's resolver gives ``host`` (IPv4 and IPv6)."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def literal_address(host: str) -> Address | None:
    """The address ``host`` spells, if it is one: dotted or bracketed, or the shorthands a resolver also
    reads as IPv4 (``2130706433``, ``0x7f.1``, ``0177.0.0.1``, ``127.1``)."""
    bare = host.strip().removeprefix("[").removesuffix("]")
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(bare))
    except (OSError, ValueError):
        return None


#: Names that are local by definition (RFC 6761, 6762, 8375; and the clouds' ``.internal``): refused
#: without asking a resolver, which might answer for them from a private zone.
LOCAL_SUFFIXES = ("localhost", "local", "internal", "localdomain", "lan", "home.arpa", "invalid", "test", "onion")


def _public(address: Address) -> bool:
    mapped = getattr(address, "ipv4_mapped", None) or getattr(address, "sixtofour", None)
    return address.is_global and not address.is_multicast and (mapped is None or _public(mapped))


def public_addresses(host: str, port: int, resolve: Resolver, what: str) -> list[str]:
    """The addresses of ``host`` when it is a public name: ``NotPublicHost`` for an IP literal, a name
    without addresses or with any non-global one (``what`` names the host in the message, "Mastodon
    instance"); ``UpstreamError`` when the name does not resolve."""
    refused = f"{host[:80]} is not a public {what}"
    if literal_address(host) is not None:
        raise NotPublicHost(f"{refused}: it is an IP address, and this server reads only named hosts.")
    name = host.rstrip(".").lower()
    if "." not in name or any(name == tail or name.endswith("." + tail) for tail in LOCAL_SUFFIXES):
        raise NotPublicHost(f"{refused}: it is a name of a local network, which this server never reads.")
    try:
        found = resolve(name, port)
    except (OSError, UnicodeError) as exc:
        raise UpstreamError(f"Could not find the {what} {host[:80]}: its name does not resolve.") from exc
    addresses = []
    for text in found:
        try:
            address = ipaddress.ip_address(text.split("%", 1)[0])
        except ValueError as exc:
            raise NotPublicHost(f"{refused}: its name resolves to something that is not an address.") from exc
        if not _public(address):
            raise NotPublicHost(
                f"{refused}: its name resolves to {address}, an address of a private or local network, "
                "which this server never reads."
            )
        addresses.append(str(address))
    if not addresses:
        raise NotPublicHost(f"{refused}: its name has no address.")
    return addresses


class _PinnedConnection(HTTPSConnection):
    """An HTTPS connection to one of the addresses checked for its host (``pins``), never to what the
    name resolves to now; the TLS handshake still names the host (SNI) and checks its certificate."""

    pins: ClassVar[MutableMapping[str, list[str]]] = {}

    def _new_conn(self) -> socket.socket:
        addresses = self.pins.get(self._dns_host.rstrip(".").lower())
        if not addresses:
            raise NotPublicHost(f"{self.host[:80]} was not checked before connecting; nothing was requested.")
        failure: OSError | None = None
        for address in addresses:
            try:
                return connection.create_connection(
                    (address, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except TimeoutError as exc:
                raise ConnectTimeoutError(self, f"Connection to {self.host} timed out.") from exc
            except OSError as exc:
                failure = exc
        raise NewConnectionError(self, f"Failed to establish a new connection: {failure}")


class PinnedAdapter(HTTPAdapter):
    """Mounted for ``https://``: connects each host to the addresses in ``pins`` (host -> checked addresses)."""

    def __init__(self, pins: MutableMapping[str, list[str]]):
        self.pins = pins
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        conn = type("PinnedConnection", (_PinnedConnection,), {"pins": self.pins})
        pool = type("PinnedPool", (HTTPSConnectionPool,), {"ConnectionCls": conn})
        self.poolmanager.pool_classes_by_scheme = {"https": pool}


def pinned_session(pins: MutableMapping[str, list[str]]) -> requests.Session:
    """A session that reaches only hosts checked into ``pins``, over HTTPS, and no proxy."""
    session = requests.Session()
    session.trust_env = False
    session.mount("https://", PinnedAdapter(pins))
    session.mount("http://", _PlainRefused())
    return session


class _PlainRefused(HTTPAdapter):
    """Mounted for ``http://`` on a pinned session: a host a user named is read over HTTPS only."""

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        raise NotPublicHost("This server reads a host named by a user over HTTPS only; nothing was requested.")


def read_bounded(response: requests.Response, limit: int, deadline: float, host: str) -> Any:
    """The JSON of a streamed answer (None when it is not JSON), refused past ``limit`` bytes (decompressed)
    or after ``deadline`` (``time.monotonic()``): a hostile server can neither fill memory nor drip forever."""
    size_text = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{max(1, limit // 1024)} KB"
    too_large = f"{host} sent an answer larger than {size_text}; it is not read."
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise UpstreamError(too_large)
    chunks, size = [], 0
    for chunk in response.iter_content(chunk_size=1 << 16):
        size += len(chunk)
        if size > limit:
            raise UpstreamError(too_large)
        if time.monotonic() > deadline:
            raise requests.Timeout(f"{host} is sending its answer too slowly")
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks))
    except ValueError:
        return None
