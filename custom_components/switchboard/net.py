"""Network helpers every client shares (no Home Assistant imports).

* :func:`parse_host`: the one ``host[:port]`` parser (config flows, device addresses, broker
  domains).
* :class:`Backoff`: the one reconnect policy: exponential, capped, with jitter.
"""

from dataclasses import dataclass
import ipaddress
import random
import re

_HOSTNAME_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")


def parse_host(value: str, default_port: int) -> tuple[str, int]:
    """Split ``host[:port]`` into ``(host, port)``.

    Accepts an IPv4 address, a host name, either with ``:port``, a bare IPv6 address or
    ``[IPv6]`` with an optional ``:port``. The host is returned without brackets. Raises
    ValueError for anything else (empty input, a scheme or path, a bad port, an invalid name).
    """
    text = value.strip()
    if not text:
        raise ValueError("empty host")
    port_text: str | None = None
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            raise ValueError(f"unbalanced brackets in {value!r}")
        host, rest = text[1:close], text[close + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"unexpected text after ']' in {value!r}")
            port_text = rest[1:]
        try:
            ipaddress.IPv6Address(host)
        except ValueError as err:
            raise ValueError(f"invalid IPv6 address in {value!r}") from err
    elif text.count(":") > 1:
        host = text
        try:
            ipaddress.IPv6Address(host)
        except ValueError as err:
            raise ValueError(f"invalid IPv6 address {value!r}") from err
    else:
        host, sep, port_part = text.partition(":")
        if sep:
            port_text = port_part
        _validate_name_or_ipv4(host, value)
    port = default_port
    if port_text is not None:
        if not port_text.isascii() or not port_text.isdigit():
            raise ValueError(f"invalid port in {value!r}")
        port = int(port_text)
    if not 0 < port < 65536:
        raise ValueError(f"port out of range in {value!r}")
    return host, port


def _validate_name_or_ipv4(host: str, original: str) -> None:
    """Raise ValueError unless ``host`` is an IPv4 address or a valid host name."""
    labels = host.removesuffix(".").split(".")
    if not host or len(host) > 253 or not all(_HOSTNAME_LABEL.match(label) for label in labels):
        raise ValueError(f"invalid host {original!r}")
    if all(label.isdigit() for label in labels):
        try:
            ipaddress.IPv4Address(host)
        except ValueError as err:
            raise ValueError(f"invalid IPv4 address {original!r}") from err


@dataclass(frozen=True, slots=True, kw_only=True)
class Backoff:
    """Exponential back-off with jitter, capped: how long to wait before reconnect attempts.

    Attempt ``n`` (0-based) waits ``min(cap, base * 2**n)`` seconds times a random factor in
    ``[1 - jitter, 1]``, so clients that lost the same server do not come back in step.
    """

    base: float = 1.0
    """Seconds before the first retry (before jitter)."""
    cap: float = 60.0
    """Longest wait in seconds."""
    jitter: float = 0.5
    """Fraction of the delay that is random (0: none)."""

    def delay(self, attempt: int) -> float:
        """Seconds to wait before reconnect ``attempt`` (0-based)."""
        delay = min(self.cap, self.base * 2.0 ** min(attempt, 64))
        return delay * random.uniform(1.0 - self.jitter, 1.0)
