"""Fetch a URL for ingestion without letting the URL turn the server against its own network.

The rules (each one a test in ``tests/assets/test_ssrf.py``):

* ``http`` and ``https`` only, no credentials in the URL;
* the host is resolved once and **every** address it resolves to must be public: loopback,
  private, link-local, unique-local, CGNAT, multicast, reserved, unspecified addresses and
  IPv4 addresses hidden in IPv6 (mapped, 6to4, Teredo, NAT64) are refused, unless the
  allow-list (``settings.url_allowlist``: CIDRs, hostnames, either optionally with ``:port``)
  says otherwise;
* the connection goes to the address that was checked, with the original ``Host`` header and,
  for https, SNI and certificate verification against the original host name, so a second DNS
  answer cannot redirect it (no rebinding window);
* every redirect is checked the same way, up to ``max_redirects``;
* one total deadline covers connecting, headers and body (a watchdog shuts the socket down, so a
  server dripping a byte at a time cannot hold us), and the body is capped while it streams.

Errors are written for clients: they never name the address a host resolved to or where a
redirect pointed.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from actorvid.errors import PayloadTooLarge, ProviderError, ValidationFailed

logger = logging.getLogger(__name__)

USER_AGENT = "actorvid/1.0 (asset ingestion)"
READ_PIECE = 64 * 1024
MAX_URL_LENGTH = 4096

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]

# Not covered (in every Python version) by ipaddress's is_private/is_global.
_NOT_PUBLIC_V4 = (ipaddress.ip_network("100.64.0.0/10"),  # CGNAT
                  ipaddress.ip_network("192.0.0.0/24"),  # IETF protocol assignments
                  ipaddress.ip_network("198.18.0.0/15"))  # benchmarking
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


class UrlRefused(ValidationFailed):
    """The URL itself is not acceptable (scheme, host, address): a 422 on the url field."""

    def __init__(self, reason: str, loc: Sequence[str | int] = ("body", "url")) -> None:
        message = f"Failed to download asset: {reason}"
        super().__init__(message, [{"loc": list(loc), "msg": reason, "type": "url_refused"}])
        self.reason = reason


class DownloadFailed(ProviderError):
    """The remote side failed us (connection, status, deadline): a 502."""

    public = True  # the reason is ours and safe to show ("Failed to download asset: ...")

    def __init__(self, reason: str) -> None:
        super().__init__(f"Failed to download asset: {reason}", retryable=True)
        self.reason = reason


@dataclass(frozen=True)
class Allowance:
    """One allow-list entry: a network or a host name, optionally limited to one port."""

    network: IPNetwork | None = None
    host: str | None = None
    port: int | None = None

    @classmethod
    def parse(cls, entry: str) -> Allowance:
        text = entry.strip()
        port: int | None = None
        if text.startswith("["):  # [v6]:port or [v6/len]:port
            inner, _, rest = text[1:].partition("]")
            text, port = inner, int(rest[1:]) if rest.startswith(":") else None
        elif text.count(":") == 1:
            text, _, port_text = text.partition(":")
            port = int(port_text)
        try:
            return cls(network=ipaddress.ip_network(text, strict=False), port=port)
        except ValueError:
            return cls(host=text.lower().rstrip("."), port=port)

    def allows_host(self, host: str, port: int) -> bool:
        return self.host is not None and self.host == host and self.port in (None, port)

    def allows_address(self, address: IPAddress, port: int) -> bool:
        return (self.network is not None and address.version == self.network.version
                and address in self.network and self.port in (None, port))


@dataclass(frozen=True)
class FetchPolicy:
    timeout: float = 60.0  # total, for the whole fetch including redirects
    max_redirects: int = 5
    max_bytes: int | None = None
    allowlist: tuple[Allowance, ...] = ()
    user_agent: str = USER_AGENT

    @classmethod
    def from_settings(cls, settings: object) -> FetchPolicy:
        entries = getattr(settings, "url_allowlist", ())
        allowances: list[Allowance] = []
        for entry in entries:
            try:
                allowances.append(Allowance.parse(entry))
            except ValueError:
                logger.warning("ignoring an unreadable url_allowlist entry %r", entry)
        return cls(timeout=getattr(settings, "fetch_timeout_seconds", 60.0),
                   max_redirects=getattr(settings, "fetch_max_redirects", 5),
                   max_bytes=getattr(settings, "max_upload_bytes", None),
                   allowlist=tuple(allowances))


def _embedded_v4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    # IPv4-compatible ::a.b.c.d (deprecated, still routed by some stacks).
    if int(address) >> 32 == 0 and int(address) > 1:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public_address(address: IPAddress) -> bool:
    """True only for globally routable unicast addresses (embedded IPv4 checked too)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_v4(address)
        if embedded is not None:
            return is_public_address(embedded)
        if address in _NAT64_LOCAL or address.is_site_local:
            return False
    if isinstance(address, ipaddress.IPv4Address) and any(
            address in network for network in _NOT_PUBLIC_V4):
        return False
    return not (address.is_private or address.is_loopback or address.is_link_local
                or address.is_multicast or address.is_reserved or address.is_unspecified
                or not address.is_global)


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]).split("%", 1)[0] for info in infos]


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written in the URL (lower case, no brackets)
    port: int
    path: str  # path and query, what goes on the request line
    address: str  # the checked address we connect to


def check_url(url: str, policy: FetchPolicy, resolver: Resolver = system_resolver,
              *, loc: Sequence[str | int] = ("body", "url")) -> Target:
    """Parse and vet ``url``; resolve its host and check every address. No traffic is sent."""
    if not isinstance(url, str) or not url.strip():
        raise UrlRefused("the URL is empty", loc)
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise UrlRefused("the URL is too long", loc)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlRefused("the URL is not valid", loc) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UrlRefused("only http and https URLs are allowed", loc)
    if parts.username is not None or parts.password is not None:
        raise UrlRefused("URLs with credentials are not allowed", loc)
    host = (parts.hostname or "").rstrip(".")
    if not host or any(c in host for c in " \t\r\n"):
        raise UrlRefused("the URL has no valid host", loc)
    port = port or (443 if scheme == "https" else 80)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in path):
        raise UrlRefused("the URL is not valid", loc)

    host_allowed = any(a.allows_host(host, port) for a in policy.allowlist)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = list(dict.fromkeys(resolver(host, port)))
        except (OSError, UnicodeError):
            raise UrlRefused("the host name could not be resolved", loc) from None
        if not addresses:
            raise UrlRefused("the host name could not be resolved", loc)
    for text in addresses:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            raise UrlRefused("the host name could not be resolved", loc) from None
        if host_allowed or is_public_address(address):
            continue
        if any(a.allows_address(address, port) for a in policy.allowlist):
            continue
        # Log the address for operators; the client only learns that it was refused.
        logger.warning("refused a fetch of host %r: it resolves to a non-public address %s",
                       host, address)
        raise UrlRefused("the URL points to an address that is not allowed", loc)
    return Target(scheme, host, port, path, addresses[0])


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Talks to ``address`` while sending ``Host: <host>``: DNS is not asked again."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=context)
        self._address = target.address
        self._tls = context

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        # SNI and certificate checks use the name from the URL, not the address.
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


class Fetched:
    """An open response: headers read, body streamed by :meth:`iter_body`; close when done."""

    def __init__(self, conn: http.client.HTTPConnection, response: http.client.HTTPResponse,
                 url: str, deadline: float, watchdog: threading.Timer,
                 max_bytes: int | None) -> None:
        self._conn = conn
        self._response = response
        self.url = url
        self.status = response.status
        self.content_type = response.getheader("Content-Type")
        self._deadline = deadline
        self._watchdog = watchdog
        self._max_bytes = max_bytes
        length = response.getheader("Content-Length")
        self.content_length = int(length) if length and length.strip().isdigit() else None

    def iter_body(self) -> Iterator[bytes]:
        size = 0
        try:
            while True:
                remaining = self._deadline - time.monotonic()
                if remaining <= 0:
                    raise DownloadFailed("the download took too long")
                if self._conn.sock is not None:
                    self._conn.sock.settimeout(remaining)
                try:
                    piece = self._response.read1(READ_PIECE)
                except (OSError, http.client.HTTPException, ValueError):
                    if time.monotonic() >= self._deadline:
                        raise DownloadFailed("the download took too long") from None
                    raise DownloadFailed("the connection failed while downloading") from None
                if not piece:
                    # The watchdog's shutdown reads as an end of file: tell it from a real one.
                    if time.monotonic() >= self._deadline:
                        raise DownloadFailed("the download took too long")
                    if self._response.length:
                        raise DownloadFailed("the connection closed before the end of the file")
                    return
                size += len(piece)
                if self._max_bytes is not None and size > self._max_bytes:
                    raise PayloadTooLarge(
                        f"Failed to download asset: the file exceeds the maximum size of "
                        f"{self._max_bytes} bytes")
                yield piece
        finally:
            self.close()

    def close(self) -> None:
        self._watchdog.cancel()
        self._conn.close()


def fetch(url: str, policy: FetchPolicy, *, resolver: Resolver = system_resolver,
          loc: Sequence[str | int] = ("body", "url"), deadline: float | None = None
          ) -> Fetched:
    """Open ``url`` under ``policy`` and follow redirects; the caller streams the body.

    ``deadline`` (``time.monotonic()``) ends the fetch earlier than ``policy.timeout`` would,
    for a caller with an overall budget (a bulk request, a job's photos).
    Raises :class:`UrlRefused` (422) for URLs we will not fetch, :class:`DownloadFailed` (502)
    when the remote side fails, :class:`PayloadTooLarge` (413) for a declared oversize body.
    """
    deadline = min(time.monotonic() + policy.timeout,
                   deadline if deadline is not None else float("inf"))
    context = ssl.create_default_context()
    current = url
    for hop in range(policy.max_redirects + 1):
        target = check_url(current, policy, resolver, loc=loc)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DownloadFailed("the download took too long")
        conn: http.client.HTTPConnection = (
            _PinnedHTTPSConnection(target, remaining, context) if target.scheme == "https"
            else _PinnedHTTPConnection(target, remaining))
        # The watchdog makes the deadline total: per-operation timeouts alone would let a
        # server that drips one byte at a time keep us forever.
        watchdog = threading.Timer(remaining, _shutdown, args=(conn,))
        watchdog.daemon = True
        watchdog.start()
        try:
            conn.request("GET", target.path, headers={
                "User-Agent": policy.user_agent, "Accept": "*/*",
                "Accept-Encoding": "identity", "Connection": "close"})
            response = conn.getresponse()
        except (OSError, http.client.HTTPException, ValueError) as exc:
            watchdog.cancel()
            conn.close()
            if time.monotonic() >= deadline:
                raise DownloadFailed("the download took too long") from None
            if isinstance(exc, ssl.SSLError):
                raise DownloadFailed("the TLS handshake failed") from None
            raise DownloadFailed("could not connect to the server") from None
        if response.status in (301, 302, 303, 307, 308):
            location = response.getheader("Location")
            watchdog.cancel()
            conn.close()
            if not location:
                raise DownloadFailed("the server sent a redirect without a location")
            current = urljoin(current, location.strip())
            logger.info("fetch of %s redirected (hop %d)", target.host, hop + 1)
            continue
        fetched = Fetched(conn, response, current, deadline, watchdog, policy.max_bytes)
        if not 200 <= response.status < 300:
            fetched.close()
            raise DownloadFailed(f"the server answered HTTP {response.status}")
        if (policy.max_bytes is not None and fetched.content_length is not None
                and fetched.content_length > policy.max_bytes):
            fetched.close()
            raise PayloadTooLarge(f"Failed to download asset: the file exceeds the maximum "
                                  f"size of {policy.max_bytes} bytes")
        return fetched
    raise DownloadFailed("too many redirects")


def _shutdown(conn: http.client.HTTPConnection) -> None:
    sock = conn.sock
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
