"""Outbound requests to addresses an admin typed: never into the hub's own network.

An API inbox's callback URL is chosen by whoever configures the inbox, and the hub POSTs to it
from inside the deployment. Without a check that is a way to reach loopback services, the cloud
metadata endpoint (169.254.169.254) or the private network. The check sits in the connection
itself: every TCP connection, redirects included, resolves the host, refuses if any address is
not public, and connects to the address it checked (so a DNS answer cannot change in between).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable, Iterable
from typing import Any

import httpcore
import httpx

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Permit = Callable[[IpAddress, int], bool]


class RefusedAddress(httpx.TransportError):
    """The URL's host is (or resolves to) an address outbound calls may not reach."""


def public(address: IpAddress, port: int) -> bool:
    """Globally routable: not loopback, link-local, private, shared (CGNAT), multicast, reserved."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def describe(address: IpAddress) -> str:
    for flag in ("loopback", "link_local", "private", "multicast", "unspecified", "reserved"):
        if getattr(address, f"is_{flag}"):
            return f"{address} is a {flag.replace('_', '-')} address"
    return f"{address} is not a public address"


def literal_refusal(url: str) -> str | None:
    """Why a URL whose host is an IP literal (or localhost) is refused; None when it may be tried."""
    host = (httpx.URL(url).host or "").strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return f"{host} is a loopback address"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None  # a name: checked after resolution, at every connection
    return None if public(address, 0) else describe(address)


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, permit: Permit) -> None:
        self._permit = permit
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except OSError as exc:
            raise httpcore.ConnectError(f"{host} could not be resolved") from exc
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
        # Every answer must pass, not just the first: else a name with one public and one
        # private address could be steered to the private one.
        for address in addresses:
            if not self._permit(address, port):
                raise RefusedAddress(f"{host}: {describe(address)}")
        last: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:
                last = exc
        raise last or httpcore.ConnectError(f"{host} has no address")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """An httpx transport whose connections only reach addresses `permit` accepts.

    TLS still checks the certificate against the URL's host name (httpcore passes it as SNI).
    Proxies from the environment are not used: a proxy would make the check meaningless.
    """

    def __init__(self, permit: Permit = public) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            network_backend=_GuardedBackend(permit),
        )


def client(*, allow_private: bool, timeout: httpx.Timeout) -> httpx.AsyncClient:
    """A client for admin-chosen URLs; `allow_private` (operator setting) lifts the check.

    Redirects are not followed by the client: the caller follows the ones it accepts, and each
    new connection is checked again.
    """
    if allow_private:
        return httpx.AsyncClient(timeout=timeout, trust_env=False)
    return httpx.AsyncClient(timeout=timeout, transport=GuardedTransport())
