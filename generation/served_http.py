"""One POST to a served model, as the operator's settings bound it (issue 25, items 3 and 8).

Django-free: the runner hands the allow-list and limits in. What it guarantees, whatever the
server does:

- Only allowed addresses are reached: the host is resolved at each connection, each address is
  checked before connecting, and the connected socket's peer address is checked again, so a name
  that resolves to an allowed address at registration and to 169.254.169.254 later (DNS rebinding)
  is refused. No proxy from the environment is used and no redirect is followed (a 3xx is an error).
- A whole-request deadline: a watchdog shuts the socket down when it passes, so a server that
  trickles one byte every few seconds (which a per-read timeout never stops) is cut off.
- At most `max_bytes` of answer are read.
- Every failure is a ServedModelError with a fixed message: an HTTP error shows its status, never
  the body (an internal page's text must not reach a job page), and a broken answer
  (IncompleteRead and the like) says so in one line.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
from typing import Any
from urllib.parse import urlsplit

from generation.served_policy import (
    HostAllowList,
    ServedPolicyError,
    address_check,
    base_url_check,
    host_addresses,
    ip_parse,
)

READ_BLOCK = 64 * 1024


class ServedModelError(RuntimeError):
    """The server could not be reached, refused a request or answered something unusable."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def _checked_connect(host: str, port: int, timeout: float, allowed: HostAllowList) -> socket.socket:
    """A socket connected to an allowed address of `host`, its peer address checked once connected."""
    last: OSError | None = None
    for ip in host_addresses(host, port):
        address_check(host=host, ip=ip, allowed=allowed)
        family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect((str(ip), port))
            # What the kernel actually connected to: the address that counts.
            address_check(host=host, ip=ip_parse(str(sock.getpeername()[0])), allowed=allowed)
        except ServedPolicyError:
            sock.close()
            raise
        except OSError as exc:
            sock.close()
            last = exc
            continue
        return sock
    raise last or OSError(f"no address for {host}")


class _CheckedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int | None, *, allowed: HostAllowList, **kwargs: Any) -> None:
        super().__init__(host, port, **kwargs)
        self._create_connection = self._connect_checked  # type: ignore[method-assign,assignment]
        self.allowed = allowed

    def _connect_checked(
        self, address: tuple[str, int], timeout: Any = None, source: Any = None
    ) -> socket.socket:
        return _checked_connect(address[0], address[1], float(timeout or 60.0), self.allowed)


class _CheckedHTTPSConnection(http.client.HTTPSConnection):
    """TLS over the checked socket; the certificate is verified against the URL's host name."""

    def __init__(self, host: str, port: int | None, *, allowed: HostAllowList, **kwargs: Any) -> None:
        super().__init__(host, port, **kwargs)
        self._create_connection = self._connect_checked  # type: ignore[method-assign,assignment]
        self.allowed = allowed

    def _connect_checked(
        self, address: tuple[str, int], timeout: Any = None, source: Any = None
    ) -> socket.socket:
        return _checked_connect(address[0], address[1], float(timeout or 60.0), self.allowed)


def post(
    *,
    url: str,
    body: bytes,
    headers: dict[str, str],
    allowed: HostAllowList,
    timeout: float,
    max_bytes: int,
) -> bytes:
    """The answer's body to a POST of `body` to `url`, within `timeout` seconds and `max_bytes`."""
    try:
        base_url_check(url)
    except ServedPolicyError as exc:
        raise ServedModelError(str(exc)) from None
    parts = urlsplit(url)
    assert parts.hostname is not None
    path = parts.path or "/"
    cls = _CheckedHTTPSConnection if parts.scheme == "https" else _CheckedHTTPConnection
    conn = cls(parts.hostname, parts.port, allowed=allowed, timeout=timeout)
    expired = threading.Event()

    def cut_off() -> None:
        expired.set()
        sock = conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    watchdog = threading.Timer(timeout, cut_off)
    watchdog.daemon = True
    watchdog.start()
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        if response.status >= 300:
            what = "a redirect, which is not followed" if response.status < 400 else "an error"
            raise ServedModelError(
                f"{url}: HTTP {response.status}: the server answered with {what}", status=response.status
            )
        chunks: list[bytes] = []
        size = 0
        while True:
            block = response.read1(READ_BLOCK)
            if not block:
                break
            size += len(block)
            if size > max_bytes:
                raise ServedModelError(
                    f"{url}: the answer is larger than {max_bytes:,} bytes; nothing of it is kept"
                )
            chunks.append(block)
        if expired.is_set() or (response.length or 0) > 0:
            raise http.client.IncompleteRead(b"")
        return b"".join(chunks)
    except ServedPolicyError as exc:
        raise ServedModelError(str(exc)) from None
    except ServedModelError:
        raise
    except (http.client.HTTPException, OSError) as exc:
        if expired.is_set() or isinstance(exc, TimeoutError):
            raise ServedModelError(
                f"{url}: no complete answer within {timeout:g} s (GENERATION_SERVED_TIMEOUT bounds the whole request)"
            ) from None
        if isinstance(exc, http.client.HTTPException):
            raise ServedModelError(f"{url}: the server's answer broke off or was not valid HTTP") from None
        reason = exc.strerror or type(exc).__name__
        raise ServedModelError(f"the server at {url} could not be reached: {reason}") from None
    finally:
        watchdog.cancel()
        conn.close()
