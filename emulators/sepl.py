"""Emulated SEPL platform connector (the websocket server side), ``docs/protocols/sepl.md``.

Written from the fact sheet (the Go ``platform-connector``, the device repository and the
formatter library), independently of our client:

* Websocket on any path (aiohttp, 127.0.0.1), text frames of one JSON object each.
* Handshake (§2): the first frame is ``{"user","pw","gid","token"}``; bad JSON or bad
  credentials -> the TCP connection is closed with **no reply and no close frame**. A gid that is
  empty or owned by another user -> a new gateway ``iot#<uuid4>`` named
  ``new-gateway-<unix time base36>``; an unknown non-empty gid is created under that id. The
  gateway's committed devices are listened to **before** the reply ``{"status":200,
  "handler":"response","token":<echo>,"content_type":"map","payload":{"gid","hash"}}``.
* Handlers (§3) ``clear``, ``put``, ``disconnect``, ``delete``, ``commit``, ``event``,
  ``response``, unknown, handled one at a time in arrival order with the server's exact texts;
  unparseable JSON gets **two** 400 replies with an empty token; the 6th consecutive error reply
  is followed by close 1000 ``ERROR: max consecutive error count exceeded``.
* State (§3): users; gateways ``{id, name, user, hash, devices}``; devices keyed by
  ``(user, uri)`` across gateways (``put`` merges tags, never changes ``iot_type``); a device
  belongs to the gateway whose committed list holds it, and a ``commit`` listing a device owned
  by another gateway answers ``"ok"`` and stores nothing (§4).
* The device-type catalogue is preloaded with the definitions Switchboard ships
  (``docs/sepl/device-types/*.json``); ``event`` formats the parts by the service's outputs
  (§5: JSON numbers stay decimals, integers are truncated, a ``null`` or mismatched leaf fails
  with 500) and records the Kafka-like output in :attr:`SeplPlatform.events`; ``response`` is
  parsed likewise by the echoed service and recorded in :attr:`SeplPlatform.responses`.
* Commands (§5) are built as the process engine builds them (data part: 4-space indented JSON
  with sorted keys and a trailing newline; ``protocol_parts: null`` for a service without input)
  and sent to **every** session listening to the device: :meth:`SeplPlatform.async_send_command`
  from tests, ``command`` lines on standard input from the command line.
* Keepalive (§1): a ping every ``ping_interval`` (20 s) until the client pings once, then
  never; pings answered; read deadline ``read_timeout`` (40 s) renewed by every frame.

Fault switches (:class:`SeplFaults` in :attr:`SeplPlatform.faults`, plus methods): drop or delay
the reply to a handler, slow ``clear``/``commit`` (the 412 retries of a new gateway), refuse every
login, a uri with two devices (duplicate 400), a non-JSON text frame, an unsolicited 400,
a gateway hash reset, closing every session (bare TCP close or close frame) and a restart on the
same port keeping all state. For the fault matrix and the soak (``tests/reliability/faults.py``),
every handshake reply, reply and pong the platform sends from then on can be withheld
(``silent``), cut after half its bytes with nothing sent after it (``half_frames``), or sent
late (``delay_all``); platform commands (from the process engine, not the request handling) go
on reaching every session that is not stuck mid-frame. :meth:`SeplPlatform.cut_sessions` cuts
the open sessions in the middle of a frame (and closes them, or sends nothing more), and
:meth:`SeplPlatform.give_gateway` hands a gateway to another user (its next login gets a new
gateway id, §2).

Where the fact sheet leaves a text open, the emulator's choice is marked "emulator text".
Run ``python -m emulators.sepl --help``.
"""

import argparse
import asyncio
from collections.abc import Iterable, Mapping, Sequence
import contextlib
from dataclasses import dataclass, field
import json
import logging
from pathlib import Path
import signal
import ssl
import sys
import time
from types import TracebackType
from typing import Any, Self
import uuid

from aiohttp import WSMsgType, web

_LOGGER = logging.getLogger(__name__)

HOST = "127.0.0.1"
DEVICE_TYPES_DIR = Path(__file__).resolve().parents[1] / "docs" / "sepl" / "device-types"
"""The device-type definitions Switchboard ships, preloaded into the catalogue."""

MAX_CONSECUTIVE_ERRORS = 6
CLOSE_REASON_ERRORS = "ERROR: max consecutive error count exceeded"
NIL_PAYLOAD_TEXT = "ERROR: unable to create response"
HASH_OF_NOTHING = "da39a3ee5e6b4b0d3255bfef95601890afd80709"

FORMAT_JSON_SUFFIX = "#json"
FORMAT_PLAIN_SUFFIX = "#PlainText"


def content_type(payload: Any) -> str:
    """Go's reflect kind of ``payload`` after a JSON round trip (§3)."""
    if isinstance(payload, bool):
        return "bool"
    if isinstance(payload, (int, float)):
        return "float64"
    if isinstance(payload, str):
        return "string"
    if isinstance(payload, list):
        return "slice"
    if isinstance(payload, dict):
        return "map"
    return "invalid"


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
        if not number:
            return text


def process_engine_value(value: Any) -> str:
    """A command input as the process engine serialises it (§5: Go JSON, 4-space indent)."""
    return json.dumps(value, indent=4, sort_keys=True, ensure_ascii=False) + "\n"


class FormatError(Exception):
    """A part could not be formatted by its output's value type (the server answers 500)."""


def _leaf(kind: str, value: Any, where: str) -> Any:
    if kind.endswith("#decimal"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise FormatError(f'strconv.ParseFloat: parsing "": invalid syntax ({where})')
        return float(value)
    if kind.endswith("#integer"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise FormatError(f'strconv.ParseFloat: parsing "": invalid syntax ({where})')
        return int(value)
    if kind.endswith("#boolean"):
        if not isinstance(value, bool):
            raise FormatError(f'strconv.ParseBool: parsing "": invalid syntax ({where})')
        return value
    # emulator choice: a non-string in a string leaf fails too (stricter than the server).
    if not isinstance(value, str):
        raise FormatError(f"expected string ({where})")
    return value


def format_value(value_type: Mapping[str, Any], value: Any, where: str = "") -> Any:
    """``value`` (decoded JSON) formatted by a platform ``ValueType`` (§5, FMT)."""
    base = str(value_type.get("base_type", ""))
    name = str(value_type.get("name", ""))
    fields = value_type.get("fields") or []
    if base.endswith("#structure") or base.endswith("#map"):
        if not isinstance(value, dict):
            raise FormatError(f"expected structure ({where or name})")
        result: dict[str, Any] = {}
        known = {str(item["name"]): item for item in fields}
        for key, item_value in value.items():
            if key not in known:
                _LOGGER.warning("field %s is not in the type %s: dropped", key, name)
                continue
            result[key] = format_value(known[key]["type"], item_value, f"{where}.{key}")
        return result
    if base.endswith("#list") or base.endswith("#index_structure"):
        if not isinstance(value, list):
            raise FormatError(f"expected list ({where or name})")
        item_type = fields[0]["type"] if fields else {"base_type": "#string"}
        return [format_value(item_type, item, f"{where}[]") for item in value]
    return _leaf(base, value, where or name)


def format_part(assignment: Mapping[str, Any], text: str | None) -> Any:
    """One protocol part's string value parsed by its type assignment's format and type."""
    fmt = str(assignment.get("format", ""))
    if text is None:
        raise FormatError(f"no value for {assignment.get('name')}")
    if fmt.endswith(FORMAT_PLAIN_SUFFIX):
        return text
    try:
        decoded = json.loads(text)
    except ValueError as err:
        raise FormatError(f"invalid character in {assignment.get('name')}: {err}") from err
    return format_value(assignment["type"], decoded, str(assignment.get("name", "")))


def format_outputs(
    service: Mapping[str, Any], parts: Iterable[Mapping[str, Any]]
) -> dict[str, Any]:
    """Every output of ``service`` whose segment has a part, by output name (§5)."""
    by_segment = {str(part.get("name")): part.get("value") for part in parts}
    result = {}
    for output in service.get("output") or []:
        segment = str(output["msg_segment"]["name"])
        if segment in by_segment:
            result[str(output["name"])] = format_part(output, by_segment[segment])
    return result


@dataclass
class Gateway:
    """A gateway: its owner, last committed hash and committed device uris."""

    id: str
    name: str
    user: str
    hash: str = ""
    devices: list[str] = field(default_factory=list)


@dataclass
class Device:
    """A device instance of a user: platform id, type, name, tags (key -> value)."""

    id: str
    uri: str
    iot_type: str
    name: str
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class SeplFaults:
    """Failures to inject. Counters are decremented as they fire."""

    drop_replies: dict[str, int] = field(default_factory=dict)
    """handler -> how many of its next requests get no reply at all (a recovered panic)."""
    reply_delay: dict[str, float] = field(default_factory=dict)
    """handler -> seconds before each of its replies is sent."""
    clear_delay: float = 0.0
    """Seconds a ``clear`` takes (412 "gateway not ready" retries: up to 30 s)."""
    commit_delay: float = 0.0
    """Seconds a ``commit`` takes."""
    reject_logins: bool = False
    """Refuse every handshake as if the credentials were wrong."""
    duplicate_uris: set[str] = field(default_factory=set)
    """Uris that have two device instances: ``put`` answers the duplicate 400."""
    ignore_pings: bool = False
    """Answer no client ping (a dead peer behind a live TCP connection)."""
    ignore_commits: bool = False
    """Answer ``commit`` with "ok" and store nothing (repository rejection, §4)."""
    silent: bool = False
    """No handshake reply, no reply, no pong (the request handling hangs)."""
    half_frames: bool = False
    """Send the first half of the next frame's bytes, then nothing more on that connection."""
    delay_all: float = 0.0
    """Seconds before every handshake reply, reply and pong."""

    def clear_peer_faults(self) -> None:
        """Switch off ``silent``, ``half_frames`` and ``delay_all``."""
        self.silent = self.half_frames = False
        self.delay_all = 0.0


@dataclass(eq=False)
class Session:
    """One websocket session after a successful handshake."""

    ws: web.WebSocketResponse
    request: web.Request
    user: str
    gateway: Gateway
    listening: set[str] = field(default_factory=set)
    errors: int = 0
    client_pinged: bool = False
    closed: bool = False
    stalled: bool = False
    """Half a frame was sent: nothing more goes out on this connection."""
    requests: asyncio.Queue[dict[str, Any] | None] = field(default_factory=asyncio.Queue)
    received: list[dict[str, Any]] = field(default_factory=list)

    def gone(self) -> bool:
        """Whether the session closed."""
        return self.closed

    def pinged(self) -> bool:
        """Whether the client pinged (the server then never pings again)."""
        return self.client_pinged


@dataclass
class CommandRecord:
    """A command sent by the platform and the responses that came back for it."""

    payload: dict[str, Any]
    sessions: int
    responses: list[dict[str, Any]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)


class SeplPlatform:
    """The platform connector's websocket server with users, gateways, devices and types."""

    def __init__(
        self,
        *,
        users: Mapping[str, str] | None = None,
        host: str = HOST,
        port: int = 0,
        types_dir: Path | None = DEVICE_TYPES_DIR,
        ping_interval: float = 20.0,
        read_timeout: float = 40.0,
        handshake_timeout: float = 40.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """``users`` maps user name -> password; ``port`` 0 picks a free port.

        With ``ssl_context`` (a server context holding the certificate and key) the platform
        serves ``wss://`` (TLS), as the real connector does, instead of ``ws://``.
        """
        self.users: dict[str, str] = dict(users or {"user": "password"})
        self.host = host
        self.port = port
        self.ssl_context = ssl_context
        self.ping_interval = ping_interval
        self.read_timeout = read_timeout
        self.handshake_timeout = handshake_timeout
        self.faults = SeplFaults()
        self.gateways: dict[str, Gateway] = {}
        self.devices: dict[tuple[str, str], Device] = {}
        self.types: dict[str, dict[str, Any]] = {}
        self.sessions: list[Session] = []
        self.events: list[dict[str, Any]] = []
        """Formatted events ``{"device_id","service_id","value"}`` (the Kafka output), in order."""
        self.device_log: list[tuple[str, str]] = []
        """``(uri, "connected" | "disconnected")``: the platform's online/offline log."""
        self.commands: dict[str, CommandRecord] = {}
        """task id -> command sent and its responses."""
        self.logins = 0
        self.refused_logins = 0
        self._runner: web.AppRunner | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._changed = asyncio.Condition()
        if types_dir is not None:
            self.load_types(sorted(types_dir.glob("*.json")))

    # -- life cycle ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``ws://127.0.0.1:<port>``, ``wss://`` with TLS (any path is accepted)."""
        scheme = "wss" if self.ssl_context is not None else "ws"
        return f"{scheme}://{self.host}:{self.port}"

    async def start(self) -> None:
        """Listen (again, on the same port after a stop)."""
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=self.ssl_context)
        await site.start()
        if not self.port:
            server = site._server
            assert isinstance(server, asyncio.Server)
            self.port = server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close every session (bare TCP close) and stop listening; state is kept."""
        for session in list(self.sessions):
            self._abort(session)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def restart(self, downtime: float = 0.1) -> None:
        """A server restart: sessions dropped, ``downtime`` seconds away, same port and state."""
        await self.stop()
        await asyncio.sleep(downtime)
        await self.start()

    async def __aenter__(self) -> Self:
        """Start."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop."""
        await self.stop()

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- catalogue and state ---------------------------------------------------------------

    def load_types(self, paths: Iterable[Path]) -> None:
        """Import device-type definitions (``DeviceType`` JSON files)."""
        for path in paths:
            definition = json.loads(path.read_text())
            self.types[definition["id"]] = definition

    def device(self, user: str, uri: str) -> Device | None:
        """The user's device with ``uri``."""
        return self.devices.get((user, uri))

    def gateway_of(self, user: str) -> list[Gateway]:
        """The user's gateways."""
        return [gateway for gateway in self.gateways.values() if gateway.user == user]

    def reset_hash(self, gateway_id: str) -> None:
        """The platform resets a gateway's hash (UI edit of tags or uri, a delete: §4)."""
        self.gateways[gateway_id].hash = ""

    def owner(self, user: str, uri: str) -> Gateway | None:
        """The gateway whose committed list holds the user's ``uri``."""
        return next(
            (gw for gw in self.gateways.values() if gw.user == user and uri in gw.devices), None
        )

    async def wait_for(self, predicate: Any, within: float = 10.0) -> None:
        """Wait until ``predicate()`` is true (checked after every handled frame)."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(predicate)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- faults and injections -------------------------------------------------------------

    async def send_raw(self, text: str) -> None:
        """Send a text frame (e.g. non-JSON) to every session."""
        for session in list(self.sessions):
            await session.ws.send_str(text)

    async def send_unsolicited_error(self, text: str = "unsolicited") -> None:
        """An extra 400 reply with an empty token to every session (§3)."""
        for session in list(self.sessions):
            await self._send(session, 400, "", text)

    async def close_sessions(self, *, close_frame: bool = False, reason: str = "") -> None:
        """Close every session: a bare TCP close, or a close frame 1000 with ``reason``."""
        for session in list(self.sessions):
            if close_frame:
                session.closed = True
                await session.ws.close(code=1000, message=reason.encode())
            else:
                self._abort(session)

    def give_gateway(self, gateway_id: str, user: str) -> None:
        """Hand a gateway to another user: its owner's next login with it gets a new gateway."""
        self.gateways[gateway_id].user = user

    async def cut_sessions(self, *, close: bool) -> None:
        """Send half a frame to every session; then close it (``close``) or send nothing more."""
        for session in list(self.sessions):
            self._write_half(session.request, json.dumps({"handler": "response", "token": ""}))
            if close:
                self._abort(session)
            else:
                session.stalled = True

    @staticmethod
    def _write_half(request: web.Request, text: str) -> None:
        """Write the first half of an unmasked text frame carrying ``text`` (RFC 6455 §5.2)."""
        data = text.encode()
        length = len(data)
        header = bytes([0x81, length]) if length < 126 else bytes([0x81, 126]) + length.to_bytes(2)
        transport = request.transport
        if transport is not None:
            transport.write(header + data[: length // 2])

    async def _withhold(self, request: web.Request, text: str) -> bool:
        """Apply the peer faults to the frame ``text``; True when it must not be sent at all."""
        faults = self.faults
        if faults.delay_all:
            await asyncio.sleep(faults.delay_all)
        if faults.silent:
            return True
        if faults.half_frames:
            self._write_half(request, text)
            return True
        return False

    def _abort(self, session: Session) -> None:
        session.closed = True
        if session in self.sessions:
            self.sessions.remove(session)
        transport = session.request.transport
        if transport is not None:
            transport.abort()
        session.requests.put_nowait(None)

    # -- commands --------------------------------------------------------------------------

    def build_command(
        self,
        user: str,
        uri: str,
        service_url: str,
        inputs: Mapping[str, Any] | None = None,
        *,
        task_id: str | None = None,
        protocol_parts: Any = ...,
    ) -> dict[str, Any]:
        """The command payload the process engine sends (§5); ``protocol_parts`` overrides."""
        device = self.device(user, uri)
        if device is None:
            raise KeyError(uri)
        service = self._service(device, service_url)
        if service is None:
            raise KeyError(service_url)
        if protocol_parts is ...:
            protocol_parts = None
            if service.get("input") and inputs is not None:
                protocol_parts = [
                    {
                        "name": assignment["msg_segment"]["name"],
                        "value": process_engine_value(dict(inputs))
                        if str(assignment.get("format", "")).endswith(FORMAT_JSON_SUFFIX)
                        else str(inputs),
                    }
                    for assignment in service["input"]
                ]
        return {
            "worker_id": "emulator-worker",
            "task_id": task_id or str(uuid.uuid4()),
            "device_url": uri,
            "service_url": service_url,
            "protocol_parts": protocol_parts,
            "device_instance_id": device.id,
            "service_id": service["id"],
            "output_name": "result",
            "time": str(int(time.time())),
            "service": service,
        }

    async def async_send_command(
        self,
        user: str,
        uri: str,
        service_url: str,
        inputs: Mapping[str, Any] | None = None,
        *,
        task_id: str | None = None,
        protocol_parts: Any = ...,
        payload: dict[str, Any] | None = None,
    ) -> CommandRecord:
        """Send a command to every session listening to the user's ``uri``; return its record.

        ``payload`` sends a hand-made command payload as is (it must hold a ``task_id``).
        """
        if payload is None:
            payload = self.build_command(
                user, uri, service_url, inputs, task_id=task_id, protocol_parts=protocol_parts
            )
        frame = {
            "status": 0,
            "handler": "command",
            "token": "",
            "content_type": "map",
            "payload": payload,
        }
        targets = [
            s for s in self.sessions if s.user == user and uri in s.listening and not s.stalled
        ]
        record = self.commands.get(str(payload.get("task_id")))
        if record is None:
            record = self.commands[str(payload.get("task_id"))] = CommandRecord(payload, 0)
        record.sessions += len(targets)
        text = json.dumps(frame)
        for session in targets:
            await session.ws.send_str(text)
        return record

    async def async_command(
        self,
        user: str,
        uri: str,
        service_url: str,
        inputs: Mapping[str, Any] | None = None,
        *,
        within: float = 10.0,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Send a command and wait for its first response; return the parsed outputs."""
        record = await self.async_send_command(user, uri, service_url, inputs, **kwargs)
        async with asyncio.timeout(within):
            await record.arrived.wait()
        return record.responses[0]

    # -- websocket handling ----------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=False, autoclose=True)
        await ws.prepare(request)
        session = await self._handshake(ws, request)
        if session is None:
            return ws
        worker = self._spawn(self._run_requests(session))
        pinger = self._spawn(self._ping(session))
        try:
            await self._read(session)
        finally:
            session.closed = True
            if session in self.sessions:
                self.sessions.remove(session)
            session.requests.put_nowait(None)
            pinger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
            await self._notify()
        return ws

    async def _handshake(self, ws: web.WebSocketResponse, request: web.Request) -> Session | None:
        try:
            message = await ws.receive(timeout=self.handshake_timeout)
        except TimeoutError:
            message = None
        credentials: Any = None
        if message is not None and message.type == WSMsgType.TEXT:
            with contextlib.suppress(ValueError):
                credentials = json.loads(message.data)
        user = credentials.get("user") if isinstance(credentials, dict) else None
        if (
            not isinstance(credentials, dict)
            or self.faults.reject_logins
            or not isinstance(user, str)
            or self.users.get(user) != credentials.get("pw")
        ):
            self.refused_logins += 1
            transport = request.transport
            if transport is not None:
                transport.abort()  # TCP close: no reply, no close frame (§2)
            await self._notify()
            return None
        gid = credentials.get("gid")
        gateway = self.gateways.get(gid) if isinstance(gid, str) and gid else None
        if gateway is None or gateway.user != user:
            if isinstance(gid, str) and gid and gateway is None:
                new_id = gid  # an unknown gid is created under that very id (§2)
            else:
                new_id = f"iot#{uuid.uuid4()}"
            gateway = Gateway(new_id, f"new-gateway-{_base36(int(time.time()))}", user)
            self.gateways[new_id] = gateway
        reply = json.dumps(
            {
                "status": 200,
                "handler": "response",
                "token": credentials.get("token", ""),
                "content_type": "map",
                "payload": {"gid": gateway.id, "hash": gateway.hash},
            }
        )
        if await self._withhold(request, reply):
            with contextlib.suppress(TimeoutError):
                while not ws.closed and (await ws.receive(timeout=self.read_timeout)).type in {
                    WSMsgType.TEXT,
                    WSMsgType.PING,
                    WSMsgType.PONG,
                }:
                    pass  # held until the client gives up
            return None
        if ws.closed or request.transport is None or request.transport.is_closing():
            return None  # the client gave up while the reply was late
        session = Session(ws, request, user, gateway, listening=set(gateway.devices))
        self.sessions.append(session)
        self.logins += 1
        await ws.send_str(reply)
        await self._notify()
        return session

    async def _ping(self, session: Session) -> None:
        while not session.closed and not session.client_pinged:
            await asyncio.sleep(self.ping_interval)
            if session.gone() or session.pinged():
                return
            with contextlib.suppress(ConnectionError, RuntimeError):
                await session.ws.ping(str(int(time.time())).encode())

    async def _read(self, session: Session) -> None:
        ws = session.ws
        while not session.closed:
            try:
                message = await ws.receive(timeout=self.read_timeout)
            except TimeoutError:
                _LOGGER.info("session of %s: read deadline passed", session.gateway.id)
                self._abort(session)
                return
            if message.type == WSMsgType.PING:
                session.client_pinged = True
                if self.faults.delay_all:
                    await asyncio.sleep(self.faults.delay_all)
                if not (self.faults.ignore_pings or self.faults.silent or session.stalled):
                    with contextlib.suppress(ConnectionError, RuntimeError):
                        await ws.pong(message.data)
                continue
            if message.type == WSMsgType.PONG:
                continue
            if message.type != WSMsgType.TEXT:
                return
            try:
                frame = json.loads(message.data)
                if not isinstance(frame, dict):
                    raise ValueError("not an object")
            except ValueError as err:
                frame = {"_unparseable": str(err), "_text": message.data}
            session.received.append(frame)
            session.requests.put_nowait(frame)

    async def _run_requests(self, session: Session) -> None:
        while (frame := await session.requests.get()) is not None:
            if session.closed:
                return
            if "_unparseable" in frame:
                text = frame["_text"]
                await self._reply(
                    session, 400, "", f"unable to parse request from message ({text})"
                )
                if not session.closed:
                    await self._reply(session, 400, "", f"unknown handler in request ({text})")
                continue
            handler = frame.get("handler")
            token = frame.get("token") if isinstance(frame.get("token"), str) else ""
            if isinstance(handler, str) and self.faults.drop_replies.get(handler, 0) > 0:
                self.faults.drop_replies[handler] -= 1
                await self._notify()
                continue
            method = getattr(self, f"_on_{handler}", None) if isinstance(handler, str) else None
            if method is None or handler in {"command"}:
                status, reply = 400, f"unknown handler in request ({json.dumps(frame)})"
            else:
                status, reply = await method(session, frame.get("payload"))
            delay = self.faults.reply_delay.get(str(handler), 0.0)
            if delay:
                await asyncio.sleep(delay)
            if session.gone():
                return
            await self._reply(session, status, str(token), reply)
            await self._notify()

    async def _send(self, session: Session, status: int, token: str, payload: Any) -> None:
        if payload is None:
            text = NIL_PAYLOAD_TEXT
        else:
            text = json.dumps(
                {
                    "status": status,
                    "handler": "response",
                    "token": token,
                    "content_type": content_type(payload),
                    "payload": payload,
                }
            )
        if session.stalled:
            return
        if await self._withhold(session.request, text):
            session.stalled = self.faults.half_frames
            return
        await session.ws.send_str(text)

    async def _reply(self, session: Session, status: int, token: str, payload: Any) -> None:
        try:
            await self._send(session, status, token, payload)
        except ConnectionError:
            self._abort(session)
            return
        if status == 200:
            session.errors = 0
            return
        session.errors += 1
        if session.errors >= MAX_CONSECUTIVE_ERRORS:
            session.closed = True
            await session.ws.close(code=1000, message=CLOSE_REASON_ERRORS.encode())
            self._abort(session)

    # -- handlers (SRV messagehandler.go / iot.go) -----------------------------------------

    async def _on_clear(self, session: Session, _payload: Any) -> tuple[int, Any]:
        if self.faults.clear_delay:
            await asyncio.sleep(self.faults.clear_delay)
        session.gateway.hash = ""
        session.gateway.devices = []
        for uri in sorted(session.listening):
            self.device_log.append((uri, "disconnected"))
        session.listening.clear()
        return 200, "ok"

    async def _on_put(self, session: Session, payload: Any) -> tuple[int, Any]:
        if not isinstance(payload, dict) or not isinstance(payload.get("uri", ""), str):
            # emulator text: Go's json error for a payload of the wrong shape
            return 400, "json: cannot unmarshal into Go value of type model.DeviceServiceEntity"
        uri = str(payload.get("uri", ""))
        name = payload.get("name", "")
        iot_type = payload.get("iot_type", "")
        tags = payload.get("tags") or []
        if uri in self.faults.duplicate_uris:
            return 400, (
                f"found more than one device with the given uri '{uri}'. "
                "please delete duplicate devices or change their URIs."
            )
        parsed_tags: dict[str, str] = {}
        for tag in tags if isinstance(tags, list) else []:
            key, _, value = str(tag).partition(":")
            parsed_tags[key] = value
        device = self.device(session.user, uri)
        if device is None:
            if not iot_type:
                return 500, "empty iot_type"
            if iot_type not in self.types:
                return 500, (
                    "error while creating device skeleton: "
                    f"unable to load device type '{iot_type}'"  # emulator text after the colon
                )
            if not uri or not isinstance(name, str) or not name:
                return 500, "error while creating new device: inconsistencies found"
            device = Device(f"iot#{uuid.uuid4()}", uri, iot_type, name, parsed_tags)
            self.devices[session.user, uri] = device
        else:
            if isinstance(name, str) and name:
                device.name = name
            device.tags.update(parsed_tags)  # merge: the client wins per key, none removed
        session.listening.add(uri)
        self.device_log.append((uri, "connected"))
        return 200, "ok"

    async def _on_disconnect(self, session: Session, payload: Any) -> tuple[int, Any]:
        if not isinstance(payload, str):
            return 400, "expect uri as string in payload"
        if payload not in session.listening:
            return 500, f"not listening to device with uri '{payload}'"
        session.listening.discard(payload)
        self.device_log.append((payload, "disconnected"))
        return 200, "ok"

    async def _on_delete(self, session: Session, payload: Any) -> tuple[int, Any]:
        if not isinstance(payload, str):
            return 400, "expect uri as string in payload"
        if payload in self.faults.duplicate_uris or self.device(session.user, payload) is None:
            return 500, "cant find exactly one device with given uri"
        del self.devices[session.user, payload]
        for other in self.sessions:
            if other.user == session.user:
                other.listening.discard(payload)
        for gateway in self.gateway_of(session.user):
            if payload in gateway.devices:
                gateway.devices.remove(payload)
                gateway.hash = ""
        self.device_log.append((payload, "disconnected"))
        return 200, "ok"

    async def _on_commit(self, session: Session, payload: Any) -> tuple[int, Any]:
        if not isinstance(payload, str):
            return 400, "expect hash as string in payload"  # emulator text
        if self.faults.commit_delay:
            await asyncio.sleep(self.faults.commit_delay)
        if self.faults.ignore_commits:
            return 200, "ok"
        for uri in session.listening:
            owner = self.owner(session.user, uri)
            if owner is not None and owner is not session.gateway:
                # REPO: "gateway (<id>) may not own devices": not reported to the client
                _LOGGER.info(
                    "commit of %s not stored: %s owned by %s", session.gateway.id, uri, owner.id
                )
                return 200, "ok"
        session.gateway.hash = payload
        session.gateway.devices = sorted(session.listening)
        return 200, "ok"

    async def _on_event(self, session: Session, payload: Any) -> tuple[int, Any]:
        if not isinstance(payload, dict):
            return 400, "json: cannot unmarshal into Go value of type model.EventMessage"
        parts = payload.get("value")
        if not isinstance(parts, list) or any(
            not isinstance(part, dict) or not isinstance(part.get("value", ""), (str, type(None)))
            for part in parts
        ):
            return 400, (
                "json: cannot unmarshal object into Go struct field ProtocolPart.value "
                "of type string"
            )
        uri = payload.get("device_uri")
        service_url = payload.get("service_uri")
        if uri not in session.listening:
            rendered = " ".join(f"{{{p.get('name')} {p.get('value')}}}" for p in parts)
            return (
                400,
                f"error event: not listen to this device {{{uri} {service_url} [{rendered}]}}",
            )
        device = self.device(session.user, str(uri))
        assert device is not None
        service = self._service(device, str(service_url))
        if service is None:
            urls = " ".join(s["url"] for s in self.types[device.iot_type]["services"])
            return 400, f"no matching service to '{service_url}' found in[{urls}]\n"
        try:
            value = format_outputs(service, parts)
        except FormatError as err:
            return 500, str(err)
        self.events.append(
            {
                "device_id": device.id,
                "service_id": service["id"],
                "value": value,
                "uri": uri,
                "at": time.monotonic(),
            }
        )
        return 200, "ok"

    async def _on_response(self, session: Session, payload: Any) -> tuple[int, Any]:
        if isinstance(payload, dict):
            record = self.commands.get(str(payload.get("task_id")))
            outputs: dict[str, Any] = {}
            with contextlib.suppress(FormatError, KeyError, TypeError):
                outputs = format_outputs(
                    payload.get("service") or {}, payload.get("protocol_parts") or []
                )
            response = {"payload": payload, "outputs": outputs}
            if record is None:
                record = self.commands[str(payload.get("task_id"))] = CommandRecord(payload, 0)
            record.responses.append(response)
            record.arrived.set()
        return 200, "ok"

    def _service(self, device: Device, url: str) -> dict[str, Any] | None:
        definition = self.types.get(device.iot_type, {})
        return next((s for s in definition.get("services", []) if s.get("url") == url), None)


# -- command line ------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """Build the parser of the command line interface."""
    parser = argparse.ArgumentParser(
        prog="python -m emulators.sepl",
        description=(
            "Run an emulated SEPL platform connector until Ctrl-C. Standard input takes one "
            "command a line: 'command <user> <uri> <service url> [<JSON inputs>]', 'devices', "
            "'events', 'restart', 'reset-hash <gateway id>'."
        ),
    )
    parser.add_argument("--host", default=HOST)
    parser.add_argument("--port", type=int, default=8093)
    parser.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="NAME:PASSWORD",
        help="an account (repeatable; default user:password)",
    )
    parser.add_argument("--verbose", action="store_true")
    return parser


async def _console(platform: SeplPlatform) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := (await reader.readline()).decode().strip():
        words = line.split(maxsplit=4)
        try:
            if words[0] == "command" and len(words) >= 4:
                inputs = json.loads(words[4]) if len(words) > 4 else None
                response = await platform.async_command(words[1], words[2], words[3], inputs)
                print(json.dumps(response["outputs"]))
            elif words[0] == "devices":
                for (user, uri), device in platform.devices.items():
                    print(user, uri, device.iot_type, device.name, device.tags)
            elif words[0] == "events":
                for event in platform.events[-20:]:
                    print(json.dumps(event))
            elif words[0] == "restart":
                await platform.restart()
            elif words[0] == "reset-hash":
                platform.reset_hash(words[1])
            else:
                print("unknown input", line)
        except (KeyError, ValueError, TimeoutError) as err:
            print("error:", repr(err))


async def _run(args: argparse.Namespace) -> None:
    users = dict(spec.split(":", 1) for spec in args.user) or {"user": "password"}
    platform = SeplPlatform(users=users, host=args.host, port=args.port)
    await platform.start()
    print(f"SEPL platform on {platform.url}, users {', '.join(users)}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    console = loop.create_task(_console(platform))
    await stop.wait()
    console.cancel()
    await platform.stop()


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of ``python -m emulators.sepl``."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO)
    asyncio.run(_run(args))


if __name__ == "__main__":
    main()
