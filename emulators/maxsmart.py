"""Emulator of Max Hauri MaxSMART / Revogi power strips and plugs (docs/protocols/maxsmart.md).

One :class:`MaxSmartEmulator` is one device: an HTTP server (TCP, §3) and a UDP
socket answering discovery datagrams (§2), both bound to the same host so that
the discovery reply's source address is the device address, as on real hardware.

Firmware model (§5):

* firmware ``1.x`` (e.g. ``"1.30"``): live ``watt``/``amp`` values are string floats in W / A,
  statistics are string floats in kWh;
* any other firmware (e.g. ``"2.11"``): live values are integer mW / mA, statistics integer Wh.

Renaming (cmd 201) is accepted only on firmware ``"1.30"`` unless ``allow_rename`` says
otherwise; other firmware answers ``{"code":400}``. This is the emulator's model of "firmware
that does not allow renaming" (maxsmart 2.1.0 only renames on 1.30, §6).

Power model: port ``n`` draws a deterministic base load (derived from the serial, or given with
``loads``) with a small seeded variation per reading while it is switched on, and 0 W while off.
Switching is visible on the very next cmd 511. Energy drawn since start is integrated per hour
and reported by cmd 510 for the hours since start; hours before start are synthesised
deterministically with the same per-port base load, so hourly, daily and monthly series agree.

Tests use :attr:`MaxSmartEmulator.faults` (:class:`MaxSmartFaults`) to inject failures and
:attr:`MaxSmartEmulator.requests` / :attr:`MaxSmartEmulator.request_log` to assert what a client
sent. ``await stop()`` followed by ``await start()`` takes the device offline and back online on
the same ports.

Run ``python -m emulators.maxsmart --help`` for the command line interface.
"""

import argparse
import asyncio
from collections import Counter
from collections.abc import Callable, Sequence
import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
import hashlib
import json
import logging
import random
import signal
import socket
from types import TracebackType
from typing import Any, Self, override
from urllib.parse import parse_qs, urlsplit

_LOGGER = logging.getLogger(__name__)

MAX_NAME_LENGTH = 21
"""Longest port or strip name cmd 201 accepts (§3; maxsmart's limit too)."""

RENAME_FIRMWARE = "1.30"
"""The only firmware whose default model accepts cmd 201."""

MAINS_VOLTAGE = 230.0
"""Voltage used to derive the reported current from the power."""

DEFAULT_CLOUD_SERVER = "www.maxsmart.ch"

_MAX_REQUEST_HEAD = 16 * 1024
_REQUEST_READ_TIMEOUT = 10.0
_STATISTICS_SAMPLES = {0: 24, 1: 31, 2: 12}
# A diurnal curve (one factor per hour, mean 1.0) used for synthesised hourly history.
_RAW_SHAPE = (
    *(0.4, 0.35, 0.3, 0.3, 0.3, 0.35, 0.6, 1.0, 1.2, 1.0, 0.9, 0.9),
    *(1.0, 1.0, 0.9, 0.9, 1.0, 1.3, 1.6, 1.8, 1.9, 1.7, 1.2, 0.7),
)
_HOUR_SHAPE = tuple(value * 24 / sum(_RAW_SHAPE) for value in _RAW_SHAPE)


@dataclass(slots=True)
class MaxSmartFaults:
    """Fault injection switches of one emulated device; all off by default.

    HTTP faults (at most one is applied, in this order of precedence):

    * ``timeout``: accept the request, never answer (until the emulator stops);
    * ``drop_connection``: close the socket after reading the request, no reply at all;
    * ``http_500``: answer ``HTTP 500`` with a plain-text body;
    * ``empty_reply``: answer ``HTTP 200`` with an empty body;
    * ``garbage_json``: answer ``HTTP 200`` with a body that is not valid JSON;
    * ``status``: answer this HTTP status (e.g. 404) with a plain-text body;
    * ``body``: answer ``HTTP 200`` with exactly these bytes (any malformed reply);
    * ``code_400``: answer the valid envelope ``{"response":cmd,"code":400}``;
    * ``delay``: seconds to wait before any answer (combines with the above);
    * ``stall_mid_reply``: answer the headers and half the body, then nothing more (the
      command is carried out; the rest of the reply never comes).

    ``cmds`` limits the HTTP faults to those command numbers (``None`` = every command).
    ``omit_statistics_date`` drops ``date`` from cmd 510 replies (seen on real plugs,
    §3).

    UDP faults: ``udp_silent`` ignores discovery datagrams, ``udp_garbage`` answers them with
    a datagram that is not JSON.
    """

    timeout: bool = False
    drop_connection: bool = False
    http_500: bool = False
    empty_reply: bool = False
    garbage_json: bool = False
    status: int | None = None
    body: bytes | None = None
    code_400: bool = False
    delay: float = 0.0
    stall_mid_reply: bool = False
    cmds: frozenset[int] | None = None
    omit_statistics_date: bool = False
    udp_silent: bool = False
    udp_garbage: bool = False

    def applies_to(self, cmd: int | None) -> bool:
        """Return True if the HTTP faults apply to a request for ``cmd``."""
        return self.cmds is None or cmd in self.cmds

    def clear(self) -> None:
        """Switch every fault off."""
        self.timeout = self.drop_connection = self.http_500 = False
        self.empty_reply = self.garbage_json = self.code_400 = False
        self.status = None
        self.body = None
        self.delay = 0.0
        self.stall_mid_reply = False
        self.cmds = None
        self.omit_statistics_date = self.udp_silent = self.udp_garbage = False


@dataclass(frozen=True, slots=True)
class MaxSmartRequest:
    """One HTTP request received by the emulator.

    ``cmd`` is None when the query had no integer ``cmd``; ``params`` is the decoded ``json``
    query parameter (None if absent or not a JSON object); ``headers`` have lower-case names.
    """

    cmd: int | None
    params: dict[str, Any] | None
    target: str
    headers: dict[str, str]


def _digest(*parts: object) -> bytes:
    """Return a stable digest of ``parts`` (used for deterministic synthetic values)."""
    return hashlib.sha256("|".join(str(part) for part in parts).encode()).digest()


def _unit_fraction(*parts: object) -> float:
    """Return a deterministic number in [0, 1) derived from ``parts``."""
    return int.from_bytes(_digest(*parts)[:8], "big") / 2**64


def _hour_slot(moment: datetime) -> datetime:
    """Truncate ``moment`` to the start of its hour."""
    return moment.replace(minute=0, second=0, microsecond=0)


def _add_months(moment: datetime, months: int) -> datetime:
    """Return the first day of the month ``months`` after ``moment``'s month."""
    index = moment.year * 12 + moment.month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1)


class MaxSmartEmulator:
    """An emulated MaxSmart device: HTTP API (§3) plus UDP discovery (§2).

    ``http_port``/``udp_port`` 0 pick free ports; the actual ports are the properties of the
    same name after :meth:`start` and are reused by a later :meth:`start` after :meth:`stop`.
    ``port_count`` is 6 for a strip or 1 for a plug. ``loads`` gives each port's base load in
    watts (default: derived from the serial). ``clock`` returns the device's local time as a
    naive datetime (default :meth:`datetime.now`); a discovery datagram that carries a date and
    time sets the device clock like a real RTC.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        http_port: int = 0,
        udp_port: int = 0,
        *,
        serial: str = "SWP6023002003697",
        name: str = "STRIP",
        port_count: int = 6,
        firmware: str = "1.30",
        mac: str = "BC:2B:00:00:00:01",
        port_names: Sequence[str] | None = None,
        loads: Sequence[float] | None = None,
        allow_rename: bool | None = None,
        cost: str = "0.21",
        money: int = 0,
        clock: Callable[[], datetime] | None = None,
        seed: int | None = None,
    ) -> None:
        """Describe the device; nothing is bound before :meth:`start`."""
        if port_count < 1:
            raise ValueError("port_count must be at least 1")
        self.host = host
        self._requested_http_port = http_port
        self._requested_udp_port = udp_port
        self.serial = serial
        self.name = name
        self.port_count = port_count
        self.firmware = firmware
        self.mac = mac
        self.port_names: list[str] = (
            list(port_names)
            if port_names is not None
            else [f"Port {index}" for index in range(1, port_count + 1)]
        )
        if len(self.port_names) != port_count:
            raise ValueError("port_names must have one entry per port")
        if loads is None:
            loads = [
                round(5.0 + 145.0 * _unit_fraction(serial, "load", index), 1)
                for index in range(port_count)
            ]
        if len(loads) != port_count:
            raise ValueError("loads must have one entry per port")
        self.loads: list[float] = [float(load) for load in loads]
        self.allow_rename = firmware == RENAME_FIRMWARE if allow_rename is None else allow_rename
        self.switch: list[bool] = [True] * port_count
        self.cost = cost
        self.money = money
        self.master: list[int] = [2] * port_count
        self.limit = 0
        self.cpuid = _digest(serial, "cpuid").hex()[:24].upper()
        self.server = DEFAULT_CLOUD_SERVER
        self.sak = _digest(serial, "sak").hex()[:12].upper()
        self.faults = MaxSmartFaults()
        self.requests: Counter[int | None] = Counter()
        self.request_log: list[MaxSmartRequest] = []
        self.discovery_requests: list[tuple[str, tuple[str, int]]] = []
        self.last_reading: dict[str, list[Any]] | None = None
        self._clock = clock or datetime.now
        self._clock_offset = timedelta()
        self._rng = random.Random(_unit_fraction(serial, "rng") if seed is None else seed)
        self._server: asyncio.Server | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self._http_port = http_port
        self._udp_port = udp_port
        self._started_slot: datetime | None = None
        self._last_accumulated: datetime | None = None
        self._measured_wh: dict[tuple[int, datetime], float] = {}

    # ----------------------------------------------------------------- lifecycle

    @property
    def http_port(self) -> int:
        """The TCP port of the HTTP API (the bound port once started)."""
        return self._http_port

    @property
    def udp_port(self) -> int:
        """The UDP port answering discovery (the bound port once started)."""
        return self._udp_port

    @property
    def running(self) -> bool:
        """Whether the device is online."""
        return self._server is not None

    @property
    def uses_milli_units(self) -> bool:
        """True if live values are integer mW/mA and statistics integer Wh (firmware >= 2)."""
        return not self.firmware.startswith("1.")

    async def start(self) -> None:
        """Bind the HTTP and UDP sockets and start answering (UDP as :func:`_bind_udp` binds).

        Raises OSError (e.g. PermissionError, EADDRINUSE) if a socket cannot be bound.
        """
        if self._server is not None:
            return
        loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        server = await asyncio.start_server(
            self._handle_connection, self.host, self._http_port, reuse_address=True
        )
        try:
            self._http_port = server.sockets[0].getsockname()[1]
            sock = _bind_udp(self.host, self._udp_port)
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _DiscoveryProtocol(self), sock=sock
            )
        except BaseException:
            server.close()
            await server.wait_closed()
            raise
        self._udp = transport
        self._udp_port = sock.getsockname()[1]
        self._server = server
        now = self.now()
        if self._started_slot is None:
            self._started_slot = _hour_slot(now)
        self._last_accumulated = now
        _LOGGER.debug(
            "MaxSmart emulator %s online on %s http %s udp %s",
            self.serial,
            self.host,
            self._http_port,
            self._udp_port,
        )

    async def stop(self) -> None:
        """Close both sockets and every open connection; the device goes offline."""
        if self._server is None:
            return
        self._accumulate()
        server, self._server = self._server, None
        self._stopping.set()
        server.close()
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        handlers = list(self._handlers)
        for task in handlers:
            task.cancel()
        if handlers:
            await asyncio.gather(*handlers, return_exceptions=True)
        await server.wait_closed()

    async def __aenter__(self) -> Self:
        """Start the emulator."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop the emulator."""
        await self.stop()

    # ----------------------------------------------------------------- device model

    def now(self) -> datetime:
        """Return the device's local time (naive)."""
        return self._clock() + self._clock_offset

    def set_device_time(self, moment: datetime) -> None:
        """Set the device clock (what a dated discovery datagram does)."""
        self._accumulate()
        self._clock_offset = moment - self._clock()
        self._last_accumulated = self.now()

    def set_switch(self, port: int, on: bool) -> None:
        """Switch port ``port`` (1-based; 0 = all ports) on or off, like cmd 200."""
        self._accumulate()
        if port == 0:
            self.switch = [on] * self.port_count
        else:
            self.switch[port - 1] = on

    def power(self, port: int) -> float:
        """Return the nominal power in watts port ``port`` (1-based) draws now (0 if off)."""
        return self.loads[port - 1] if self.switch[port - 1] else 0.0

    def _accumulate(self) -> None:
        """Integrate the nominal power of every port since the last call into hourly Wh."""
        if self._last_accumulated is None or self._server is None:
            return
        now = self.now()
        start = self._last_accumulated
        self._last_accumulated = now
        while start < now:
            slot = _hour_slot(start)
            end = min(now, slot + timedelta(hours=1))
            hours = (end - start).total_seconds() / 3600
            for index in range(self.port_count):
                watts = self.power(index + 1)
                if watts:
                    key = (index, slot)
                    self._measured_wh[key] = self._measured_wh.get(key, 0.0) + watts * hours
            start = end

    def _synthetic_day_factor(self, index: int, day: datetime) -> float:
        """Return the share of the base load port ``index`` drew on a synthesised day."""
        return 0.2 + 0.7 * _unit_fraction(self.serial, index, day.date().isoformat())

    def _hour_wh(self, index: int, slot: datetime) -> float:
        """Energy in Wh port ``index`` (0-based) drew in the hour starting at ``slot``."""
        if self._started_slot is not None and slot >= self._started_slot:
            return self._measured_wh.get((index, slot), 0.0)
        day = slot.replace(hour=0)
        return self.loads[index] * self._synthetic_day_factor(index, day) * _HOUR_SHAPE[slot.hour]

    def _day_wh(self, index: int, day: datetime) -> float:
        """Energy in Wh port ``index`` drew on the day starting at ``day``."""
        if self._started_slot is not None and day + timedelta(days=1) > self._started_slot:
            return sum(self._hour_wh(index, day + timedelta(hours=hour)) for hour in range(24))
        return self.loads[index] * self._synthetic_day_factor(index, day) * 24

    def _month_wh(self, index: int, month: datetime) -> float:
        """Energy in Wh port ``index`` drew in the month starting at ``month``."""
        end = _add_months(month, 1)
        total = 0.0
        day = month
        while day < end:
            total += self._day_wh(index, day)
            day += timedelta(days=1)
        return total

    def statistics(self, stat_type: int) -> dict[str, Any]:
        """Build the cmd 510 ``data`` object for type 0 (hourly), 1 (daily) or 2 (monthly).

        The series end with the current period; ``date`` is the first sample's period.
        """
        self._accumulate()
        now = self.now()
        count = _STATISTICS_SAMPLES[stat_type]
        series: list[list[float]]
        if stat_type == 0:
            first = _hour_slot(now) - timedelta(hours=count - 1)
            date = first.strftime("%Y-%m-%d-%H")
            series = [
                [self._hour_wh(index, first + timedelta(hours=step)) for step in range(count)]
                for index in range(self.port_count)
            ]
        elif stat_type == 1:
            first = _hour_slot(now).replace(hour=0) - timedelta(days=count - 1)
            date = first.strftime("%Y-%m-%d")
            series = [
                [self._day_wh(index, first + timedelta(days=step)) for step in range(count)]
                for index in range(self.port_count)
            ]
        else:
            first = _add_months(now, -(count - 1))
            date = first.strftime("%Y-%m")
            series = [
                [self._month_wh(index, _add_months(first, step)) for step in range(count)]
                for index in range(self.port_count)
            ]
        values: list[list[Any]] = [
            [round(wh) for wh in port]
            if self.uses_milli_units
            else [f"{wh / 1000:.3f}" for wh in port]
            for port in series
        ]
        data: dict[str, Any] = {
            "cost": self.cost,
            "money": self.money,
            "type": stat_type,
            "date": date,
            "watt": values,
        }
        if self.faults.omit_statistics_date:
            del data["date"]
        return data

    def reading(self) -> dict[str, list[Any]]:
        """Build the cmd 511 ``data`` object (``watt``, ``amp``, ``switch``) and remember it."""
        self._accumulate()
        watts: list[float] = []
        for index in range(self.port_count):
            nominal = self.power(index + 1)
            variation = 1.0 + self._rng.uniform(-0.02, 0.02) if nominal else 0.0
            watts.append(nominal * variation)
        amps = [watt / MAINS_VOLTAGE for watt in watts]
        data: dict[str, list[Any]]
        if self.uses_milli_units:
            data = {
                "watt": [round(watt * 1000) for watt in watts],
                "amp": [round(amp * 1000) for amp in amps],
                "switch": [int(on) for on in self.switch],
            }
        else:
            data = {
                "watt": [f"{watt:.2f}" for watt in watts],
                "amp": [f"{amp:.2f}" for amp in amps],
                "switch": [int(on) for on in self.switch],
            }
        self.last_reading = data
        return data

    def discovery_reply(self) -> dict[str, Any]:
        """Build the UDP discovery reply object (§2)."""
        return {
            "response": 0,
            "data": {
                "sn": self.serial,
                "name": self.name,
                "pname": list(self.port_names),
                "mac": self.mac,
                "sak": self.sak,
                "ver": self.firmware,
                "register": 0,
                "nver": self.firmware,
                "protect": 0,
            },
        }

    # ----------------------------------------------------------------- HTTP

    def handle_command(self, cmd: int, params: dict[str, Any] | None) -> dict[str, Any]:
        """Execute one HTTP command and return the reply envelope (§3)."""
        ok: dict[str, Any] = {"response": cmd, "code": 200}
        failed: dict[str, Any] = {"response": cmd, "code": 400}
        args = params or {}
        match cmd:
            case 511:
                return ok | {"data": self.reading()}
            case 513:
                self._accumulate()
                return ok | {"data": {"switch": [int(on) for on in self.switch]}}
            case 510:
                stat_type = args.get("type", 0)
                if type(stat_type) is not int or stat_type not in _STATISTICS_SAMPLES:
                    return failed
                return ok | {"data": self.statistics(stat_type)}
            case 502:
                return ok | {"data": {"time": self.now().strftime("%Y-%m-%d,%H:%M:%S")}}
            case 512:
                return ok | {"data": {"master": list(self.master), "limit": self.limit}}
            case 124:
                return ok | {
                    "data": {
                        "cpuid": self.cpuid,
                        "server": self.server,
                        "pclmac": "".join(c for c in self.mac if c.isalnum()).upper(),
                        "pcldak": self.sak,
                    }
                }
            case 200:
                port, state = args.get("port"), args.get("state")
                if (
                    type(port) is not int
                    or not 0 <= port <= self.port_count
                    or state not in (0, 1)
                    or type(state) is not int
                ):
                    return failed
                self.set_switch(port, bool(state))
                return ok
            case 201:
                port, name = args.get("port"), args.get("name")
                if (
                    not self.allow_rename
                    or type(port) is not int
                    or not 0 <= port <= self.port_count
                    or not isinstance(name, str)
                    or not 0 < len(name) <= MAX_NAME_LENGTH
                ):
                    return failed
                if port == 0:
                    self.name = name
                else:
                    self.port_names[port - 1] = name
                return ok
            case 205:
                cost, money = args.get("cost"), args.get("money")
                if not isinstance(cost, str) or type(money) is not int or not 0 <= money <= 3:
                    return failed
                try:
                    float(cost)
                except ValueError:
                    return failed
                self.cost, self.money = cost, money
                return ok
            case _:
                return failed

    async def _handle_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Serve one HTTP request on one connection, then close it (``Connection: close``)."""
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await self._serve(reader, writer)
        except OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError:
            _LOGGER.debug("MaxSmart emulator %s: connection error", self.serial, exc_info=True)
        finally:
            self._handlers.discard(task)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Read one request head, apply faults, answer."""
        async with asyncio.timeout(_REQUEST_READ_TIMEOUT):
            head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > _MAX_REQUEST_HEAD:
            await self._write(writer, 431, "text/plain", b"Request Header Fields Too Large")
            return
        lines = head.decode("latin-1").split("\r\n")
        request_line = lines[0].split(" ")
        if len(request_line) != 3:
            await self._write(writer, 400, "text/plain", b"Bad Request")
            return
        method, target, _version = request_line
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                key, _, value = line.partition(":")
                headers[key.strip().lower()] = value.strip()
        if method not in ("GET", "HEAD"):
            await self._write(writer, 405, "text/plain", b"Method Not Allowed")
            return
        split = urlsplit(target)
        if split.path not in ("", "/"):
            await self._write(writer, 404, "text/plain", b"Not Found")
            return
        query = parse_qs(split.query, keep_blank_values=True)
        cmd: int | None = None
        with contextlib.suppress(ValueError, IndexError):
            cmd = int(query["cmd"][0]) if "cmd" in query else None
        params: dict[str, Any] | None = None
        params_valid = True
        if "json" in query:
            try:
                decoded = json.loads(query["json"][0])
            except ValueError, RecursionError:
                params_valid = False
            else:
                if isinstance(decoded, dict):
                    params = decoded
                else:
                    params_valid = False
        self.requests[cmd] += 1
        self.request_log.append(MaxSmartRequest(cmd, params, target, headers))

        faults = self.faults
        if faults.applies_to(cmd):
            if faults.delay > 0:
                await asyncio.sleep(faults.delay)
            if faults.timeout:
                await self._stopping.wait()
                return
            if faults.drop_connection:
                writer.transport.abort()
                return
            if faults.http_500:
                await self._write(writer, 500, "text/plain", b"Internal Server Error")
                return
            if faults.status is not None:
                await self._write(writer, faults.status, "text/plain", b"Error")
                return
            if faults.empty_reply:
                await self._write(writer, 200, "text/plain", b"")
                return
            if faults.garbage_json:
                await self._write(
                    writer, 200, "text/plain", b'{"response":%d,"code":200,' % (cmd or 0)
                )
                return
            if faults.body is not None:
                await self._write(writer, 200, "text/plain", faults.body)
                return
            if faults.code_400:
                await self._write(
                    writer, 200, "text/plain", b'{"response":%d,"code":400}' % (cmd or 0)
                )
                return

        if cmd is None or not params_valid:
            envelope: dict[str, Any] = {"response": cmd or 0, "code": 400}
        else:
            envelope = self.handle_command(cmd, params)
        body = json.dumps(envelope, separators=(",", ":")).encode()
        if faults.stall_mid_reply and faults.applies_to(cmd):
            await self._write(writer, 200, "text/plain", body[: len(body) // 2], len(body))
            await self._stopping.wait()
            return
        await self._write(writer, 200, "text/plain", b"" if method == "HEAD" else body, len(body))

    @staticmethod
    async def _write(
        writer: asyncio.StreamWriter,
        status: int,
        content_type: str,
        body: bytes,
        length: int | None = None,
    ) -> None:
        """Write a complete HTTP/1.1 response with ``Connection: close``."""
        reasons = {
            200: "OK",
            400: "Bad Request",
            404: "Not Found",
            405: "Method Not Allowed",
            431: "Request Header Fields Too Large",
            500: "Internal Server Error",
        }
        head = (
            f"HTTP/1.1 {status} {reasons.get(status, 'Error')}\r\n"
            f"Content-Type: {content_type}\r\n"
            f"Content-Length: {len(body) if length is None else length}\r\n"
            "Connection: close\r\n\r\n"
        )
        writer.write(head.encode("latin-1") + body)
        await writer.drain()

    # ----------------------------------------------------------------- UDP

    def handle_datagram(self, data: bytes, addr: tuple[str, int]) -> None:
        """Answer a discovery datagram from ``addr`` via the device's own UDP socket.

        Any datagram starting with ``00dv=all`` is answered (§2); if it carries
        ``,YYYY-MM-DD,HH:MM:SS`` the device clock is set. Other datagrams are ignored.
        """
        if self._udp is None:
            return
        text = data.decode("latin-1", errors="replace")
        self.discovery_requests.append((text, addr))
        if not text.startswith("00dv=all"):
            return
        fields = text.rstrip().rstrip(";").split(",")
        if len(fields) >= 3:
            with contextlib.suppress(ValueError):
                self.set_device_time(
                    datetime.strptime(f"{fields[1]},{fields[2]}", "%Y-%m-%d,%H:%M:%S")
                )
        if self.faults.udp_silent:
            return
        if self.faults.udp_garbage:
            self._udp.sendto(b'{"response":0,"data":{"sn":', addr)
            return
        reply = json.dumps(self.discovery_reply(), separators=(",", ":")).encode()
        self._udp.sendto(reply, addr)


class _DiscoveryProtocol(asyncio.DatagramProtocol):
    """Feeds datagrams of a device's own UDP socket to its emulator."""

    def __init__(self, emulator: MaxSmartEmulator) -> None:
        self._emulator = emulator

    @override
    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        """Hand the datagram to the emulator."""
        self._emulator.handle_datagram(data, (str(addr[0]), int(addr[1])))

    @override
    def error_received(self, exc: Exception) -> None:
        """Log ICMP errors (e.g. a client that went away)."""
        _LOGGER.debug("MaxSmart emulator UDP error: %s", exc)


def _bind_udp(host: str, port: int, *, broadcast: bool = False) -> socket.socket:
    """A UDP socket bound to ``host:port`` (``port`` 0: a port no other socket holds).

    A fixed port is bound with ``SO_REUSEADDR``, so a strip's ``127.0.0.2:8888`` and the
    relay's ``0.0.0.0:8888`` share it as real strips on one network do. A free port (0) is
    bound without it: Linux hands a ``SO_REUSEADDR`` socket binding port 0 a port that another
    such socket already holds (another process's relay or strip), whose datagrams it then
    shares, so foreign emulators would answer this one's discovery. Raises OSError.
    """
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    try:
        if port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if broadcast:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


class MaxSmartBroadcastRelay:
    """Wildcard UDP listener forwarding broadcast discovery to registered emulators.

    Broadcasts are only looped back to sockets bound to the wildcard address
    (§8), so this listens on ``0.0.0.0:<port>`` (a fixed port with ``SO_REUSEADDR``, so it can
    share the port with per-device sockets such as ``127.0.0.2:8888``; see :func:`_bind_udp`)
    and lets every registered
    *running* emulator answer from its own socket, whose source address is the device address.
    """

    def __init__(self, port: int = 8888, host: str = "0.0.0.0") -> None:
        """Describe the listener; nothing is bound before :meth:`start`."""
        self.host = host
        self._port = port
        self.emulators: list[MaxSmartEmulator] = []
        self.received = 0
        self._transport: asyncio.DatagramTransport | None = None

    @property
    def port(self) -> int:
        """The UDP port (the bound port once started)."""
        return self._port

    def register(self, emulator: MaxSmartEmulator) -> None:
        """Let ``emulator`` answer broadcasts."""
        if emulator not in self.emulators:
            self.emulators.append(emulator)

    def unregister(self, emulator: MaxSmartEmulator) -> None:
        """Stop forwarding broadcasts to ``emulator``."""
        if emulator in self.emulators:
            self.emulators.remove(emulator)

    async def start(self) -> None:
        """Bind the wildcard socket."""
        if self._transport is not None:
            return
        sock = _bind_udp(self.host, self._port, broadcast=True)
        self._port = sock.getsockname()[1]
        self._transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: _RelayProtocol(self), sock=sock
        )

    async def stop(self) -> None:
        """Close the wildcard socket."""
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    async def __aenter__(self) -> Self:
        """Start the relay."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop the relay."""
        await self.stop()

    def handle_datagram(self, data: bytes, addr: tuple[str, int]) -> None:
        """Forward one datagram to every running registered emulator."""
        self.received += 1
        for emulator in self.emulators:
            if emulator.running:
                emulator.handle_datagram(data, addr)


class _RelayProtocol(asyncio.DatagramProtocol):
    """Feeds datagrams of the wildcard socket to the relay."""

    def __init__(self, relay: MaxSmartBroadcastRelay) -> None:
        self._relay = relay

    @override
    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        """Hand the datagram to the relay."""
        self._relay.handle_datagram(data, (str(addr[0]), int(addr[1])))


# --------------------------------------------------------------------- command line

_DEVICE_KEYS = {
    "host",
    "http_port",
    "udp_port",
    "serial",
    "name",
    "ports",
    "firmware",
    "mac",
    "names",
}


def parse_device_spec(spec: str) -> dict[str, Any]:
    """Parse ``key=value,...`` (keys: host, http_port, udp_port, serial, name, ports, firmware,
    mac, names with ``|`` between port names) into :class:`MaxSmartEmulator` keyword arguments.

    Raises ValueError on an unknown key or a bad number.
    """  # noqa: D205
    result: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in _DEVICE_KEYS:
            raise ValueError(f"bad device spec item {item!r}")
        match key:
            case "http_port" | "udp_port":
                result[key] = int(value)
            case "ports":
                result["port_count"] = int(value)
            case "names":
                result["port_names"] = value.split("|")
            case _:
                result[key] = value
    return result


def _default_serial(index: int, port_count: int) -> str:
    """Return a plausible serial for the ``index``-th device of a CLI run."""
    prefix = "SWP6" if port_count > 1 else "SPL1"
    return f"{prefix}{23002003697 + index:012d}"


def build_parser() -> argparse.ArgumentParser:
    """Build the parser of the command line interface."""
    parser = argparse.ArgumentParser(
        prog="python -m emulators.maxsmart",
        description="Run emulated MaxSmart devices until Ctrl-C.",
        epilog=(
            "Several devices: repeat --device host=127.0.0.2,http_port=80,udp_port=8888,"
            "ports=6,firmware=1.30,serial=SWP...,name=Desk,mac=BC:2B:..,names=A|B|C|D|E|F. "
            "Without --device the single-device options describe one device; with --device "
            "they are defaults for every spec. --broadcast PORT adds a "
            "wildcard listener on 0.0.0.0:PORT that forwards broadcast discovery to all devices."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="device IP (default 127.0.0.1)")
    parser.add_argument("--http-port", type=int, default=80, help="HTTP port (default 80)")
    parser.add_argument("--udp-port", type=int, default=8888, help="UDP port (default 8888)")
    parser.add_argument(
        "--firmware", default="1.30", help="1.x: string W/kWh; other: integer mW/Wh (1.30)"
    )
    parser.add_argument("--ports", type=int, choices=(1, 6), default=6, help="6 strip, 1 plug")
    parser.add_argument("--serial", help="serial number (default: generated)")
    parser.add_argument("--name", help="strip name (default STRIP / PLUG)")
    parser.add_argument("--mac", help="MAC reported by discovery")
    parser.add_argument(
        "--device",
        action="append",
        default=[],
        metavar="SPEC",
        help="one device as key=value,...; repeat for several (see below)",
    )
    parser.add_argument(
        "--broadcast", type=int, metavar="PORT", help="also listen on 0.0.0.0:PORT for broadcasts"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


def build_emulators(args: argparse.Namespace) -> list[MaxSmartEmulator]:
    """Create the emulators described by parsed CLI arguments."""
    specs: list[dict[str, Any]] = [parse_device_spec(spec) for spec in args.device]
    if not specs:
        specs = [
            {
                key: value
                for key, value in {
                    "host": args.host,
                    "http_port": args.http_port,
                    "udp_port": args.udp_port,
                    "firmware": args.firmware,
                    "port_count": args.ports,
                    "serial": args.serial,
                    "name": args.name,
                    "mac": args.mac,
                }.items()
                if value is not None
            }
        ]
    emulators = []
    for index, spec in enumerate(specs):
        spec.setdefault("host", args.host)
        spec.setdefault("http_port", args.http_port)
        spec.setdefault("udp_port", args.udp_port)
        spec.setdefault("firmware", args.firmware)
        port_count = spec.setdefault("port_count", args.ports)
        spec.setdefault("serial", _default_serial(index, port_count))
        spec.setdefault("name", "STRIP" if port_count > 1 else "PLUG")
        spec.setdefault("mac", "BC:2B:00:00:%02X:%02X" % divmod(index + 1, 256))  # noqa: UP031
        emulators.append(MaxSmartEmulator(**spec))
    return emulators


async def _run(args: argparse.Namespace) -> None:
    """Start everything, wait for SIGINT/SIGTERM, stop everything."""
    emulators = build_emulators(args)
    relay = MaxSmartBroadcastRelay(args.broadcast) if args.broadcast is not None else None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        for emulator in emulators:
            await emulator.start()
            if relay is not None:
                relay.register(emulator)
            print(
                f"MaxSmart {emulator.serial} ({emulator.name}, fw {emulator.firmware}, "
                f"{emulator.port_count} port(s)) on http://{emulator.host}:{emulator.http_port}"
                f" udp {emulator.host}:{emulator.udp_port}",
                flush=True,
            )
        if relay is not None:
            await relay.start()
            print(f"Broadcast relay on {relay.host}:{relay.port}", flush=True)
        await stop.wait()
    finally:
        if relay is not None:
            await relay.stop()
        for emulator in emulators:
            await emulator.stop()


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of ``python -m emulators.maxsmart``."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO)
    for spec in args.device:
        try:
            parse_device_spec(spec)
        except ValueError as err:
            raise SystemExit(f"--device: {err}") from err
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(args))


if __name__ == "__main__":
    main()
