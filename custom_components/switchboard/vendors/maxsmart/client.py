"""Small async client for MaxSmart / Revogi power strips and plugs (docs/protocols/maxsmart.md).

Speaks the local HTTP API of firmware 1.x/2.x (``GET http://<host>:<port>/?cmd=N&json=...``,
§3) over an ``aiohttp.ClientSession`` owned by the caller, and UDP discovery
(``00dv=all``, §2). No retries, no warning-level logging: the caller (the
coordinator) decides what to do with an error. Every request is bounded by the client's
timeout, and every malformed reply raises :class:`MaxSmartResponseError`.

This module has no Home Assistant imports.
"""

import asyncio
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
import json
import logging
import math
import re
import socket
from typing import Any, Final, override

import aiohttp
from yarl import URL

from ...net import parse_host as _parse_host

_LOGGER = logging.getLogger(__name__)

DEFAULT_HTTP_PORT: Final = 80
DEFAULT_UDP_PORT: Final = 8888
MAX_PORT: Final = 6
"""Highest port number of any MaxSmart device (a strip has 6 ports, a plug 1)."""
MAX_NAME_LENGTH: Final = 21
"""Longest port or strip name the device accepts (cmd 201, §3 / §7)."""

CMD_GET_READING: Final = 511
CMD_GET_STATISTICS: Final = 510
CMD_GET_TIME: Final = 502
CMD_GET_IDENTIFIERS: Final = 124
CMD_SET_PORT: Final = 200
CMD_RENAME_PORT: Final = 201

CURRENCIES: Final[dict[int, str]] = {0: "EUR", 1: "USD", 2: "JPY", 3: "CHF"}
"""ISO 4217 codes of the cmd 510 ``money`` index (§3, cmd 205)."""

_CODE_OK: Final = 200
_MAC_HEX = re.compile(r"^[0-9a-f]{12}$")


class MaxSmartError(Exception):
    """Base class of every error raised by this client."""


class MaxSmartConnectionError(MaxSmartError):
    """The device could not be reached or did not answer.

    Raised for a timeout, a refused or dropped connection, any transport error and an
    HTTP status >= 500.
    """


class MaxSmartResponseError(MaxSmartError):
    """The device answered, but not with what the protocol describes.

    Raised for an empty body, malformed JSON, a non-object, missing or ill-typed fields, an
    HTTP status other than 200 below 500, and ``code`` != 200 on a query.
    """


class MaxSmartCommandRejectedError(MaxSmartError):
    """An action (cmd 200 / 201) was answered with ``code`` != 200.

    For example a rename on firmware that does not allow renaming (§6).
    """

    def __init__(self, cmd: int, code: object) -> None:
        """Remember the command and the device's ``code``."""
        super().__init__(f"command {cmd} rejected by the device (code {code!r})")
        self.cmd = cmd
        self.code = code


class StatisticsPeriod(StrEnum):
    """Statistics resolution of cmd 510; :attr:`type_code` is the wire ``type``."""

    HOURLY = "hourly"
    DAILY = "daily"
    MONTHLY = "monthly"

    @property
    def type_code(self) -> int:
        """Return the ``type`` sent in cmd 510 (0 hourly, 1 daily, 2 monthly)."""
        return _PERIOD_TYPES[self]

    @property
    def sample_count(self) -> int:
        """Return the usual number of samples per port (24 / 31 / 12, §3)."""
        return _PERIOD_SAMPLES[self]


_PERIOD_TYPES: Final = {
    StatisticsPeriod.HOURLY: 0,
    StatisticsPeriod.DAILY: 1,
    StatisticsPeriod.MONTHLY: 2,
}
_PERIOD_SAMPLES: Final = {
    StatisticsPeriod.HOURLY: 24,
    StatisticsPeriod.DAILY: 31,
    StatisticsPeriod.MONTHLY: 12,
}
_PERIOD_DATE_FORMATS: Final = {
    StatisticsPeriod.HOURLY: "%Y-%m-%d-%H",
    StatisticsPeriod.DAILY: "%Y-%m-%d",
    StatisticsPeriod.MONTHLY: "%Y-%m",
}


@dataclass(frozen=True, slots=True)
class MaxSmartDeviceInfo:
    """One device found by UDP discovery (§2).

    ``serial`` is the ``sn`` field (the device's stable id), ``name`` the strip name ("port 0"),
    ``port_names`` the ``pname`` list (may be empty on newer firmware), ``mac`` the ``mac`` field
    normalised to lower-case ``aa:bb:cc:dd:ee:ff`` (None if absent or invalid), ``firmware`` the
    ``ver`` field, ``host`` the datagram's source IP (there is no IP field) and ``udp_port`` its
    source port.
    """

    serial: str
    name: str
    port_names: tuple[str, ...]
    mac: str | None
    firmware: str
    host: str
    udp_port: int


@dataclass(frozen=True, slots=True)
class MaxSmartReading:
    """Live state of every port (cmd 511, §3 / §5).

    Index ``i`` describes port ``i + 1``. ``switch`` is True when the port is on, ``power`` is in
    watts and ``current`` in amperes, already converted from the firmware's format.
    """

    switch: tuple[bool, ...]
    power: tuple[float, ...]
    current: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class MaxSmartStatistics:
    """Energy history (cmd 510, §3).

    ``start`` is the naive device-local time of the first sample (start of its hour, day or
    month). ``energy[i]`` holds port ``i + 1``'s samples in kWh, oldest first, one per hour /
    day / month. ``cost`` is the configured price per kWh and ``currency`` its ISO 4217 code;
    both None when the device does not report them.
    """

    period: StatisticsPeriod
    start: datetime
    energy: tuple[tuple[float, ...], ...]
    cost: float | None
    currency: str | None


def parse_host(value: str, default_port: int = DEFAULT_HTTP_PORT) -> tuple[str, int]:
    """``net.parse_host`` with the strip's HTTP port (80) as the default."""
    return _parse_host(value, default_port)


# --------------------------------------------------------------------- value conversion


def _finite(value: float, what: str) -> float:
    """Return ``value`` or raise MaxSmartResponseError if it is NaN/infinite."""
    if not math.isfinite(value):
        raise MaxSmartResponseError(f"{what} is not a finite number: {value!r}")
    return value


def _scaled(value: object, int_divisor: int, what: str) -> float:
    """Convert one wire value: string or JSON float as is, JSON integer over ``int_divisor``.

    This is the format rule of §5 (string/float = W, A or kWh; int = mW, mA or
    Wh), decided for each value.
    """
    if isinstance(value, bool):
        raise MaxSmartResponseError(f"{what} is a boolean: {value!r}")
    if isinstance(value, int):
        try:
            return value / int_divisor
        except OverflowError as err:  # JSON allows integers of any length
            raise MaxSmartResponseError(f"{what} is out of range") from err
    if isinstance(value, float):
        return _finite(value, what)
    if isinstance(value, str):
        try:
            return _finite(float(value), what)
        except ValueError as err:
            raise MaxSmartResponseError(f"{what} is not a number: {value!r}") from err
    raise MaxSmartResponseError(f"{what} has type {type(value).__name__}")


def _list(data: dict[str, Any], key: str) -> list[Any]:
    """Return ``data[key]`` if it is a list, else raise MaxSmartResponseError."""
    value = data.get(key)
    if not isinstance(value, list):
        raise MaxSmartResponseError(f"field {key!r} missing or not a list")
    return value


def _switch_state(value: object) -> bool:
    """Convert one ``switch`` element (0/1) to a bool."""
    if value in (0, 1) and isinstance(value, int):
        return bool(value)
    raise MaxSmartResponseError(f"switch state is not 0/1: {value!r}")


def normalize_mac(value: object) -> str | None:
    """Return ``value`` as lower-case ``aa:bb:cc:dd:ee:ff`` or None if it is not a MAC."""
    if not isinstance(value, str):
        return None
    compact = re.sub(r"[\s:.-]", "", value).lower()
    if not _MAC_HEX.match(compact):
        return None
    return ":".join(compact[i : i + 2] for i in range(0, 12, 2))


# --------------------------------------------------------------------- HTTP client


class MaxSmartClient:
    """HTTP client of one MaxSmart device (firmware 1.x / 2.x, §3).

    ``session`` is the caller's ``aiohttp.ClientSession`` (never closed here); ``host`` an IP
    address or name (IPv6 without brackets, see :func:`parse_host`), ``port`` the HTTP port (80 on
    real devices). Every request is one ``GET`` with ``Connection: close`` and is bounded by
    ``timeout`` seconds. Errors: :class:`MaxSmartConnectionError`,
    :class:`MaxSmartResponseError`, :class:`MaxSmartCommandRejectedError`; nothing else leaks
    from a request. The constructor raises ValueError for a host that cannot form a URL.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        host: str,
        port: int = DEFAULT_HTTP_PORT,
        *,
        timeout: float = 5.0,
    ) -> None:
        """Store the connection parameters; no I/O happens here."""
        self._session = session
        self.host = host
        self.port = port
        self.timeout = timeout
        self._base = URL.build(scheme="http", host=host, port=port, path="/")

    @override
    def __repr__(self) -> str:
        """Return ``MaxSmartClient(host:port)``."""
        return f"MaxSmartClient({self._base.host}:{self.port})"

    async def _request(self, cmd: int, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send one command and return the decoded reply envelope (a JSON object).

        Checks the HTTP status, that the body is a JSON object, that ``response`` (if present)
        echoes ``cmd`` and that ``code`` is an integer. Does not judge ``code``'s value.
        """
        query = {"cmd": str(cmd)}
        if params is not None:
            query["json"] = json.dumps(params, separators=(",", ":"))
        url = self._base.with_query(query)
        _LOGGER.debug("MaxSmart %s:%s -> cmd %s %s", self.host, self.port, cmd, params)
        try:
            async with asyncio.timeout(self.timeout):
                async with self._session.get(
                    url,
                    headers={"Connection": "close"},
                    timeout=aiohttp.ClientTimeout(total=self.timeout),
                    allow_redirects=False,
                ) as response:
                    status = response.status
                    body = await response.read()
        except TimeoutError as err:
            raise MaxSmartConnectionError(
                f"{self.host}:{self.port} did not answer cmd {cmd} within {self.timeout} s"
            ) from err
        except (aiohttp.ClientError, OSError) as err:
            raise MaxSmartConnectionError(
                f"{self.host}:{self.port} cmd {cmd}: {type(err).__name__}: {err}"
            ) from err
        if status >= 500:
            raise MaxSmartConnectionError(f"{self.host}:{self.port} cmd {cmd}: HTTP {status}")
        if status != 200:
            raise MaxSmartResponseError(f"{self.host}:{self.port} cmd {cmd}: HTTP {status}")
        _LOGGER.debug("MaxSmart %s:%s <- cmd %s %r", self.host, self.port, cmd, body[:512])
        if not body.strip():
            raise MaxSmartResponseError(f"cmd {cmd}: empty reply")
        try:
            envelope = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as err:
            raise MaxSmartResponseError(f"cmd {cmd}: reply is not JSON: {err}") from err
        if not isinstance(envelope, dict):
            raise MaxSmartResponseError(f"cmd {cmd}: reply is not a JSON object")
        echoed = envelope.get("response")
        if echoed is not None and echoed != cmd:
            raise MaxSmartResponseError(f"cmd {cmd}: reply is for cmd {echoed!r}")
        code = envelope.get("code")
        if isinstance(code, bool) or not isinstance(code, int):
            raise MaxSmartResponseError(f"cmd {cmd}: reply has no integer code")
        return envelope

    async def _query(self, cmd: int, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send a query; return its ``data`` object (``code`` must be 200)."""
        envelope = await self._request(cmd, params)
        if envelope["code"] != _CODE_OK:
            raise MaxSmartResponseError(f"cmd {cmd}: device answered code {envelope['code']}")
        data = envelope.get("data")
        if not isinstance(data, dict):
            raise MaxSmartResponseError(f"cmd {cmd}: reply has no data object")
        return data

    async def _action(self, cmd: int, params: dict[str, Any]) -> None:
        """Send an action; raise MaxSmartCommandRejectedError unless ``code`` is 200."""
        envelope = await self._request(cmd, params)
        if envelope["code"] != _CODE_OK:
            raise MaxSmartCommandRejectedError(cmd, envelope["code"])

    async def async_get_reading(self) -> MaxSmartReading:
        """Read switch state, power (W) and current (A) of every port (cmd 511).

        Values are converted per §5: a string or JSON float is W / A, a JSON integer
        mW / mA. ``switch``, ``watt`` and ``amp`` must be lists of the same non-zero length.
        """
        data = await self._query(CMD_GET_READING)
        switch = _list(data, "switch")
        watt = _list(data, "watt")
        amp = _list(data, "amp")
        if not switch or not len(switch) == len(watt) == len(amp):
            raise MaxSmartResponseError(
                f"cmd 511: switch/watt/amp lengths differ or are empty "
                f"({len(switch)}/{len(watt)}/{len(amp)})"
            )
        return MaxSmartReading(
            switch=tuple(_switch_state(value) for value in switch),
            power=tuple(_scaled(value, 1000, "watt") for value in watt),
            current=tuple(_scaled(value, 1000, "amp") for value in amp),
        )

    async def async_set_port(self, port: int, on: bool) -> None:
        """Switch ``port`` (1-6; 0 = every port) on or off (cmd 200).

        Raises ValueError for a port outside 0-6 (before any I/O) and
        MaxSmartCommandRejectedError if the device answers ``code`` != 200.
        """
        _check_port(port)
        await self._action(CMD_SET_PORT, {"port": port, "state": 1 if on else 0})

    async def async_rename_port(self, port: int, name: str) -> None:
        """Rename ``port`` (1-6; 0 = the strip itself) to ``name`` (cmd 201).

        ``name`` must be 1-21 characters, else ValueError (before any I/O). Firmware that does
        not allow renaming answers ``code`` 400: MaxSmartCommandRejectedError. The new names are
        visible in the next discovery reply (``pname``), the only place to read them.
        """
        _check_port(port)
        if not 0 < len(name) <= MAX_NAME_LENGTH:
            raise ValueError(f"name must be 1-{MAX_NAME_LENGTH} characters, got {len(name)}")
        await self._action(CMD_RENAME_PORT, {"port": port, "name": name})

    async def async_get_statistics(self, period: StatisticsPeriod) -> MaxSmartStatistics:
        """Read the energy history of every port for ``period`` (cmd 510).

        ``date`` (format by period: ``YYYY-MM-DD-HH`` / ``YYYY-MM-DD`` / ``YYYY-MM``) gives the
        first sample; values are kWh as string/float or Wh as integer (§3, §5).
        A reply without ``date`` (seen on some plugs) raises MaxSmartResponseError.
        """
        data = await self._query(CMD_GET_STATISTICS, {"type": period.type_code})
        reported_type = data.get("type")
        if reported_type is not None and reported_type != period.type_code:
            raise MaxSmartResponseError(f"cmd 510: asked for type {period.type_code}")
        date = data.get("date")
        if not isinstance(date, str):
            raise MaxSmartResponseError("cmd 510: reply has no date")
        try:
            start = datetime.strptime(date, _PERIOD_DATE_FORMATS[period])
        except ValueError as err:
            raise MaxSmartResponseError(f"cmd 510: bad date {date!r}") from err
        energy: list[tuple[float, ...]] = []
        for series in _list(data, "watt"):
            if not isinstance(series, list):
                raise MaxSmartResponseError("cmd 510: a port's series is not a list")
            energy.append(tuple(_scaled(value, 1000, "energy") for value in series))
        if not energy:
            raise MaxSmartResponseError("cmd 510: no series")
        raw_cost = data.get("cost")
        cost = None if raw_cost is None else _scaled(raw_cost, 1, "cost")
        money = data.get("money")
        currency = CURRENCIES.get(money) if isinstance(money, int) else None
        return MaxSmartStatistics(
            period=period, start=start, energy=tuple(energy), cost=cost, currency=currency
        )

    async def async_get_identifiers(self) -> dict[str, str]:
        """Read the hardware identifiers (cmd 124).

        Returns every string field of ``data`` (e.g. ``cpuid``, ``server``, ``pclmac``,
        ``pcldak``; the exact set varies, §3). A missing or empty ``cpuid``
        raises MaxSmartResponseError.
        """
        data = await self._query(CMD_GET_IDENTIFIERS)
        identifiers = {key: value for key, value in data.items() if isinstance(value, str)}
        if not identifiers.get("cpuid"):
            raise MaxSmartResponseError("cmd 124: reply has no cpuid")
        return identifiers

    async def async_get_time(self) -> datetime:
        """Read the device clock (cmd 502, ``YYYY-MM-DD,HH:MM:SS``) as a naive local datetime."""
        data = await self._query(CMD_GET_TIME)
        value = data.get("time")
        if not isinstance(value, str):
            raise MaxSmartResponseError("cmd 502: reply has no time")
        try:
            return datetime.strptime(value, "%Y-%m-%d,%H:%M:%S")
        except ValueError as err:
            raise MaxSmartResponseError(f"cmd 502: bad time {value!r}") from err


def _check_port(port: int) -> None:
    """Raise ValueError unless ``port`` is 0-6."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= MAX_PORT:
        raise ValueError(f"port must be 0-{MAX_PORT}, got {port!r}")


# --------------------------------------------------------------------- UDP discovery


def parse_discovery_reply(payload: bytes, addr: tuple[str, int]) -> MaxSmartDeviceInfo:
    """Parse one discovery datagram from ``addr`` (§2).

    Requires a JSON object whose ``data`` object has a non-empty string ``sn``; ``name``,
    ``pname`` and ``ver`` must have the documented types when present. Raises
    MaxSmartResponseError otherwise.
    """
    try:
        message = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise MaxSmartResponseError(f"discovery reply is not JSON: {err}") from err
    if not isinstance(message, dict):
        raise MaxSmartResponseError("discovery reply is not a JSON object")
    if message.get("response", 0) != 0:
        raise MaxSmartResponseError(f"discovery reply for {message.get('response')!r}")
    data = message.get("data")
    if not isinstance(data, dict):
        raise MaxSmartResponseError("discovery reply has no data object")
    serial = data.get("sn")
    name = data.get("name", "")
    port_names = data.get("pname", [])
    firmware = data.get("ver", "")
    if not isinstance(serial, str) or not serial:
        raise MaxSmartResponseError("discovery reply has no serial")
    if not isinstance(name, str) or not isinstance(firmware, str):
        raise MaxSmartResponseError("discovery reply has an ill-typed name or ver")
    if port_names is None:
        port_names = []
    if not isinstance(port_names, list) or not all(isinstance(n, str) for n in port_names):
        raise MaxSmartResponseError("discovery reply has an ill-typed pname")
    return MaxSmartDeviceInfo(
        serial=serial,
        name=name,
        port_names=tuple(port_names),
        mac=normalize_mac(data.get("mac")),
        firmware=firmware,
        host=addr[0],
        udp_port=addr[1],
    )


def discovery_message(set_time: bool = False, now: datetime | None = None) -> bytes:
    """Return the discovery datagram: ``00dv=all;`` or ``00dv=all,YYYY-MM-DD,HH:MM:SS;``.

    The dated form also sets the device's real-time clock to ``now`` (default: local time).
    """
    if not set_time:
        return b"00dv=all;"
    moment = now or datetime.now()  # the device clock is local time
    return f"00dv=all,{moment:%Y-%m-%d,%H:%M:%S};".encode()


class _DiscoveryProtocol(asyncio.DatagramProtocol):
    """Collects discovery replies, deduplicated by serial."""

    def __init__(self, max_devices: int | None) -> None:
        self.devices: dict[str, MaxSmartDeviceInfo] = {}
        self._max_devices = max_devices
        self.enough = asyncio.Event()

    @override
    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        """Parse a reply; skip (debug log) anything malformed."""
        source = (str(addr[0]), int(addr[1]))
        try:
            info = parse_discovery_reply(data, source)
        except MaxSmartResponseError as err:
            _LOGGER.debug("Ignoring datagram from %s:%s: %s", source[0], source[1], err)
            return
        self.devices.setdefault(info.serial, info)
        if self._max_devices is not None and len(self.devices) >= self._max_devices:
            self.enough.set()

    @override
    def error_received(self, exc: Exception) -> None:
        """Log ICMP errors (e.g. port unreachable after a unicast) at debug level."""
        _LOGGER.debug("MaxSmart discovery socket error: %s", exc)


async def async_discover(
    address: str = "255.255.255.255",
    port: int = DEFAULT_UDP_PORT,
    *,
    timeout: float = 2.0,  # noqa: ASYNC109 - part of the agreed API
    set_time: bool = False,
    max_devices: int | None = None,
) -> list[MaxSmartDeviceInfo]:
    """Find MaxSmart devices by UDP discovery (§2).

    Sends one ``00dv=all;`` datagram (``00dv=all,YYYY-MM-DD,HH:MM:SS;`` with ``set_time``,
    which also sets the devices' clocks) to ``address:port`` (broadcast by default, or a
    device's IP for unicast) and collects replies for ``timeout`` seconds, or until
    ``max_devices`` distinct devices answered. Returns the devices in order of first reply,
    deduplicated by serial; malformed datagrams are skipped. No reply gives ``[]``.
    Raises MaxSmartConnectionError only if the datagram cannot be sent at all.
    """
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", 0))  # noqa: S104
        sock.setblocking(False)
        transport, protocol = await loop.create_datagram_endpoint(
            lambda: _DiscoveryProtocol(max_devices), sock=sock
        )
    except OSError as err:
        sock.close()
        raise MaxSmartConnectionError(f"cannot open a UDP socket: {err}") from err
    try:
        try:
            transport.sendto(discovery_message(set_time), (address, port))
        except (OSError, ValueError) as err:
            raise MaxSmartConnectionError(f"cannot send discovery to {address}: {err}") from err
        try:
            async with asyncio.timeout(timeout):
                await protocol.enough.wait()
        except TimeoutError:
            pass
    finally:
        transport.close()
    _LOGGER.debug("MaxSmart discovery via %s:%s found %s", address, port, list(protocol.devices))
    return list(protocol.devices.values())
