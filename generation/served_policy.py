"""Which served-model addresses and API-key variables the operator allows (issue 25, items 2 and 3).

Django-free and torch-free: the service (at registration) and the worker's client (at every
connection) take the operator's lists from settings and call these rules, so both apply the same
ones. A researcher chooses the base URL and the variable's name; the operator chooses what may be
reached and sent:

- `SERVED_ALLOWED_HOSTS` entries are host names (`gpu-host`, or `*.example.org` for any name under
  it), IP addresses and CIDR networks. An address that is not a public one (loopback, private,
  link-local such as 169.254.169.254, reserved, multicast...) passes only when that exact host name,
  address or network is listed: a wildcard admits public addresses only, so a name under it that
  resolves to an internal address is refused. Empty: no served host at all.
- `SERVED_API_KEY_VARS` entries are names or fnmatch patterns (`*_API_KEY`); the platform's own
  settings variables are refused whatever the patterns say. The refusal reads the same whether the
  variable exists or not, so it tells nothing about the worker's environment.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import socket
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

NO_HOSTS = (
    "no served-model host is allowed on this site: the operator must list the hosts, addresses or "
    "networks served models may be at in SERVED_ALLOWED_HOSTS (on the web server and the workers)"
)


class ServedPolicyError(ValueError):
    """A base URL, address or variable name the operator's settings do not allow."""


def ip_parse(text: str) -> IPAddress:
    """An address, an IPv4 address mapped into IPv6 read as the IPv4 one it is."""
    ip = ipaddress.ip_address(text.split("%", 1)[0])  # a scope id (fe80::1%eth0) is not the address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def ip_internal(ip: IPAddress) -> bool:
    """Not a public unicast address: what only an explicit entry may reach."""
    return (
        not ip.is_global
        or ip.is_multicast
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_unspecified
    )


@dataclass(frozen=True)
class HostAllowList:
    names: frozenset[str]  # exact host names, lower case, no trailing dot
    suffixes: tuple[str, ...]  # ".example.org" for the entry "*.example.org"
    networks: tuple[IPNetwork, ...]  # addresses as /32 or /128 networks

    @classmethod
    def parse(cls, entries: Sequence[str]) -> HostAllowList:
        names: set[str] = set()
        suffixes: list[str] = []
        networks: list[IPNetwork] = []
        for raw in entries:
            entry = raw.strip().lower().rstrip(".")
            if entry.startswith("[") and entry.endswith("]"):
                entry = entry[1:-1]
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            if entry.startswith("*.") and _host_name_valid(entry[2:]):
                suffixes.append(entry[1:])
            elif _host_name_valid(entry):
                names.add(entry)
            else:
                raise ServedPolicyError(
                    f"SERVED_ALLOWED_HOSTS entry {raw!r} is not a host name, *.domain, IP address or network"
                )
        return cls(frozenset(names), tuple(suffixes), tuple(networks))

    @property
    def empty(self) -> bool:
        return not (self.names or self.suffixes or self.networks)

    def allows(self, host: str, ip: IPAddress) -> bool:
        """Whether a connection to `host` (as the URL names it) may go to the address `ip`."""
        host = host.lower().rstrip(".")
        listed_exactly = host in self.names or any(ip in net for net in self.networks)
        if listed_exactly:
            return True
        if ip_internal(ip):
            return False  # a wildcard admits public addresses only
        return any(host.endswith(suffix) for suffix in self.suffixes)


def _host_name_valid(name: str) -> bool:
    labels = name.split(".")
    return (
        bool(name)
        and len(name) <= 253
        and all(
            0 < len(label) <= 63 and label.replace("-", "").replace("_", "").isalnum() for label in labels
        )
    )


def base_url_check(base_url: str) -> str:
    """The base URL, trailing slashes dropped; ServedPolicyError for anything but plain http(s)."""
    url = base_url.strip().rstrip("/")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise ServedPolicyError("the base URL holds spaces or control characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ServedPolicyError(f"base URL {url!r} is not an http(s) URL (e.g. http://gpu-host:8000/v1)")
    if "@" in parts.netloc:
        raise ServedPolicyError(
            "put no credentials in the base URL: name a key's variable with --api-key-env"
        )
    # A '?' or '#' (even one with nothing after it) would swallow the path the client appends.
    if "?" in url or "#" in url:
        raise ServedPolicyError("the base URL may have no query (?) and no fragment (#)")
    try:
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError:
        raise ServedPolicyError(f"base URL {url!r} has a bad port") from None
    return url


def host_addresses(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to now (an IP literal is its own)."""
    try:
        return [ip_parse(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise ServedPolicyError(f"the host {host!r} cannot be resolved") from None
    return list(dict.fromkeys(ip_parse(str(info[4][0])) for info in infos))


def address_check(*, host: str, ip: IPAddress, allowed: HostAllowList) -> None:
    if allowed.empty:
        raise ServedPolicyError(NO_HOSTS)
    if not allowed.allows(host, ip):
        kind = "an internal" if ip_internal(ip) else "an"
        raise ServedPolicyError(
            f"{host} is at {kind} address ({ip}) that SERVED_ALLOWED_HOSTS does not allow: the operator "
            "must list this host, address or network (a *.domain entry admits public addresses only)"
        )


def base_url_allowed(*, base_url: str, allowed: HostAllowList) -> str:
    """The checked base URL, its host resolved and every address it has allowed (registration)."""
    url = base_url_check(base_url)
    if allowed.empty:
        raise ServedPolicyError(NO_HOSTS)
    parts = urlsplit(url)
    assert parts.hostname is not None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    for ip in host_addresses(parts.hostname, port):
        address_check(host=parts.hostname, ip=ip, allowed=allowed)
    return url


def api_key_env_check(*, name: str, patterns: Sequence[str], platform: Collection[str]) -> None:
    """ServedPolicyError unless `name` matches an operator's pattern and is not a platform setting."""
    allowed = any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)
    if not allowed or name in platform:
        raise ServedPolicyError(
            f"{name!r} is not a variable a served model may read its key from: the operator lists those "
            "in SERVED_API_KEY_VARS (names or patterns such as *_API_KEY), and the platform's own "
            "settings variables are never allowed"
        )
