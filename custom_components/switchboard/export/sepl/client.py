"""SEPL connector-client protocol on aiohttp's websocket client (no Home Assistant imports).

Re-implements the wire protocol of ``connector_client`` 3.1.9 / ``connector_lib`` 4.0.x (which
cannot run under current Python), as described in ``docs/protocols/sepl.md`` (from
SENERGY-Platform ``client-connector-lib`` and the Go ``platform-connector``):

* Handshake: the first frame is ``{"user","pw","gid","token":"credentials"}``; the reply
  ``{"status":200,"token":"credentials","payload":{"gid","hash"}}`` gives the gateway id (stored
  by the caller through ``on_gateway_id`` and sent again on every connect) and the last committed
  hash. The server refuses credentials by closing the TCP connection without any reply. A gid
  other than the one sent (the platform no longer lets this user use it, §2) is taken, as the
  client library does: the caller is told through ``on_gateway_id`` and a full
  synchronisation follows; ``hash_matched`` says whether a later handshake found the commit.
* Requests ``{"status":0,"handler","token":<uuid4>,"content_type":"","payload"}`` are answered in
  order with the same token; every request has a timeout (a handler panic answers nothing):
  ``request_timeout`` (10 s) and ``sync_timeout`` (40 s, at least 35 s) for ``clear`` and
  ``commit``, which the server retries for up to 30 s on a new gateway.
* Hashes: device hash = hex ``sha1(uri + iot_type + name + concat(key + value))``; gateway hash =
  ``sha1(concat(sorted(device hashes)))``. On connect a different hash means ``clear``, one
  ``put`` per device, ``commit(hash)``; afterwards each change is ``put`` / ``disconnect`` /
  ``delete`` and one ``commit`` of the new hash per batch of changes.
* Commands (``handler:"command"``) may arrive at any time, also before the synchronisation and
  twice; each task id is executed once and every copy is answered with a ``response`` echoing
  the command with ``protocol_parts = [metadata: <message>, data: "<status>"]``.
* Events go out without waiting for each reply (a window of ``EVENT_WINDOW``), only for devices
  the platform listens to in this session; while not synchronised only the latest event per
  device and service is kept and sent after the next synchronisation.
* Tolerated: unsolicited replies (empty or unknown token), non-JSON frames, any
  ``content_type``, missing replies (timeouts), a close frame or a bare TCP close.
* Keepalive as the 3.x client: a ping (payload: unix time) after ``keepalive`` (15 s) without a
  data frame, the connection is dropped when no pong comes within ``keepalive`` s; this also
  feeds the server's 40 s read deadline. Server pings are answered.
* Reconnect: exponential back-off from ``backoff_base`` to ``backoff_max`` s with jitter (half to
  all of the delay), reset once a session was synchronised.
* Refused credentials are told apart from network failures by timing and count: the websocket
  upgrade succeeded, the credentials were sent, and the socket closed with no reply within
  ``AUTH_CLOSE_WINDOW`` s, ``auth_refusals`` times in a row (a connect error, a timeout or any
  reply resets the count). Then ``on_auth_failed`` is called and the client stops retrying.
"""

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping
import contextlib
from dataclasses import dataclass, field
from enum import StrEnum
import hashlib
import json
import logging
import ssl
import time
from typing import Any, Final
import uuid

import aiohttp

from ...net import Backoff

_LOGGER = logging.getLogger(__name__)

CREDENTIALS_TOKEN: Final = "credentials"  # noqa: S105 - the handshake's token value
HANDSHAKE_TIMEOUT: Final = 20.0
"""Seconds the handshake reply may take (the 3.x client waits 20 s)."""
AUTH_CLOSE_WINDOW: Final = 10.0
"""A close without reply this soon after the credentials counts as a refusal."""
AUTH_REFUSALS: Final = 3
"""Consecutive refusals after which the credentials are taken as wrong."""
REQUEST_TIMEOUT: Final = 10.0
SYNC_TIMEOUT: Final = 40.0
"""``clear`` / ``commit`` timeout: the server retries 412 "gateway not ready" for 30 s."""
KEEPALIVE: Final = 15.0
EVENT_WINDOW: Final = 256
"""Events sent and not yet answered, at most."""
RECENT_COMMANDS: Final = 512
"""Task ids remembered to answer a repeated command without running it again."""
STATUS_OK: Final = 200
STATUS_BAD_REQUEST: Final = 400
STATUS_FAILED: Final = 500


def clean_tag_part(text: str) -> str:
    """A tag key or value without the ``:`` and ``;`` the protocol reserves."""
    return str(text).replace(":", "").replace(";", "")


@dataclass(frozen=True, slots=True)
class SeplDevice:
    """A device of the gateway: local ``uri``, platform type id, name and ordered tags."""

    uri: str
    iot_type: str
    name: str
    tags: tuple[tuple[str, str], ...] = ()

    @property
    def hash(self) -> str:
        """Hex ``sha1(uri + iot_type + name + concat(key + value))`` (C3 ``device.py``)."""
        text = self.uri + self.iot_type + self.name + "".join(k + v for k, v in self.tags)
        return hashlib.sha1(text.encode()).hexdigest()

    def put_payload(self) -> dict[str, Any]:
        """The payload of a ``put`` request."""
        return {
            "uri": self.uri,
            "name": self.name,
            "iot_type": self.iot_type,
            "tags": [f"{key}:{value}" for key, value in self.tags],
        }


def gateway_hash(devices: Iterable[SeplDevice]) -> str:
    """``sha1(concat(sorted(device hashes)))``; no devices -> sha1 of the empty string."""
    return hashlib.sha1("".join(sorted(d.hash for d in devices)).encode()).hexdigest()


class ConnectionState(StrEnum):
    """Where the client is."""

    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    SYNCHRONISING = "synchronising"
    READY = "ready"
    AUTH_FAILED = "auth_failed"
    STOPPED = "stopped"


class SeplError(Exception):
    """A request failed."""


class SeplRequestError(SeplError):
    """The server answered a request with an error status and text."""

    def __init__(self, handler: str, status: int, text: Any) -> None:
        """``status`` 400 or 500 and the server's text."""
        super().__init__(f"{handler}: {status} {text}")
        self.handler = handler
        self.status = status
        self.text = str(text)


class SeplTimeoutError(SeplError):
    """No reply came in time (the server answers nothing after a handler panic)."""


class SeplConnectionLost(SeplError):
    """The connection closed while a request waited for its reply."""


class SeplCertificateError(SeplError):
    """``wss://``: the platform's TLS certificate was refused.

    An untrusted issuer (a self-signed certificate, for example), expired, or issued for
    another host than the URL's.
    """


class SeplAuthError(SeplError):
    """The server closed the connection right after the credentials (refused)."""


@dataclass(frozen=True, slots=True)
class SeplCommand:
    """A platform command: the raw payload and its parts by segment name."""

    payload: Mapping[str, Any]

    @property
    def task_id(self) -> str:
        """The process engine's task id (``""`` if absent)."""
        return str(self.payload.get("task_id") or "")

    @property
    def device_uri(self) -> str:
        """The local uri of the device the command is for."""
        return str(self.payload.get("device_url") or "")

    @property
    def service_url(self) -> str:
        """The service (here: the Home Assistant action name)."""
        return str(self.payload.get("service_url") or "")

    @property
    def parts(self) -> dict[str, Any]:
        """``protocol_parts`` as ``{segment name: value}`` (empty when null)."""
        parts = self.payload.get("protocol_parts")
        if not isinstance(parts, list):
            return {}
        return {
            str(part.get("name")): part.get("value") for part in parts if isinstance(part, dict)
        }

    def response(self, status: int, message: str) -> dict[str, Any]:
        """The response payload: every field echoed, ``protocol_parts`` = metadata + data."""
        payload = dict(self.payload)
        payload["protocol_parts"] = [
            {"name": "metadata", "value": message},
            {"name": "data", "value": str(status)},
        ]
        return payload


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What a command did: HTTP-like ``status`` (200 / 400 / 500) and a message."""

    status: int
    message: str = ""


@dataclass
class ClientStats:
    """Counters for diagnostics."""

    connects: int = 0
    synchronisations: int = 0
    full_synchronisations: int = 0
    devices_synced: int = 0
    commands: int = 0
    duplicate_commands: int = 0
    events_sent: int = 0
    events_failed: int = 0
    error_replies: int = 0
    unsolicited_replies: int = 0
    non_json_frames: int = 0
    timeouts: int = 0
    pongs: int = 0
    """Keepalive pings answered in time."""
    missed_pongs: int = 0
    auth_refusals: int = 0
    last_error: str | None = None
    rejected: dict[str, str] = field(default_factory=dict)
    """uri -> the server's text, for devices the platform refused."""


type CommandHandler = Callable[[SeplCommand], Awaitable[CommandResult]]


class SeplClient:
    """One gateway's connection to the platform connector, kept up until :meth:`async_stop`.

    The caller sets the devices (``async_put`` / ``async_disconnect`` / ``async_delete``, any
    time), sends events (``send_event``) and answers commands through ``on_command``. Calls
    never block on the network; the client synchronises whenever it is connected.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        user: str,
        password: str,
        *,
        gateway_id: str = "",
        ssl_context: ssl.SSLContext | bool = True,
        on_command: CommandHandler | None = None,
        on_gateway_id: Callable[[str], None] | None = None,
        on_state: Callable[[ConnectionState], None] | None = None,
        on_auth_failed: Callable[[], None] | None = None,
        on_rejected: Callable[[str, str], None] | None = None,
        on_certificate_refused: Callable[[str], None] | None = None,
        request_timeout: float = REQUEST_TIMEOUT,
        sync_timeout: float = SYNC_TIMEOUT,
        keepalive: float = KEEPALIVE,
        backoff_base: float = 2.0,
        backoff_max: float = 300.0,
        auth_refusals: int = AUTH_REFUSALS,
        handshake_timeout: float = HANDSHAKE_TIMEOUT,
    ) -> None:
        """Prepare; nothing is sent before :meth:`async_start`."""
        self._session = session
        self.url = url
        self._user = user
        self._password = password
        self.gateway_id = gateway_id
        self._ssl = ssl_context
        self._on_command = on_command
        self._on_gateway_id = on_gateway_id
        self._on_state = on_state
        self._on_auth_failed = on_auth_failed
        self._on_rejected = on_rejected
        self._on_certificate_refused = on_certificate_refused
        self.request_timeout = request_timeout
        self.sync_timeout = sync_timeout
        self.keepalive = keepalive
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.auth_refusals = auth_refusals
        self.handshake_timeout = handshake_timeout
        self.state = ConnectionState.DISCONNECTED
        self.stats = ClientStats()
        self.platform_hash: str | None = None
        self.hash_matched = False
        """Whether the last handshake's hash was the local one (the platform kept the commit)."""
        self._devices: dict[str, SeplDevice] = {}
        """What should be listened to: every available exposed device."""
        self._synced: dict[str, SeplDevice] = {}
        """What the platform listens to in this session (its hash is what was committed)."""
        self._rejected: dict[str, SeplDevice] = {}
        self._deleted: set[str] = set()
        self._dirty: set[str] = set()
        self._dirty_event = asyncio.Event()
        self._pending_events: dict[tuple[str, str], tuple[str, str | None]] = {}
        self._pending: dict[str, asyncio.Future[tuple[int, Any]]] = {}
        self._window = asyncio.Semaphore(EVENT_WINDOW)
        self._commands: OrderedDict[str, asyncio.Task[CommandResult]] = OrderedDict()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ready = asyncio.Event()
        self._pong = asyncio.Event()
        self._last_data = 0.0

    # -- public API ------------------------------------------------------------------------

    @property
    def devices(self) -> dict[str, SeplDevice]:
        """The devices to be listened to, by uri (a copy)."""
        return dict(self._devices)

    @property
    def synced(self) -> dict[str, SeplDevice]:
        """The devices the platform listens to in this session, by uri (a copy)."""
        return dict(self._synced)

    @property
    def ready(self) -> bool:
        """Whether the session is synchronised."""
        return self.state is ConnectionState.READY

    def local_hash(self) -> str:
        """The gateway hash of the devices to be listened to, without refused ones."""
        return gateway_hash(
            device for uri, device in self._devices.items() if self._rejected.get(uri) != device
        )

    def async_put(self, device: SeplDevice) -> None:
        """Add or update a device (or bring it back after ``async_disconnect``)."""
        if self._devices.get(device.uri) == device and device.uri not in self._deleted:
            return
        self._devices[device.uri] = device
        self._deleted.discard(device.uri)
        self._mark(device.uri)

    def async_disconnect(self, uri: str) -> None:
        """The device went offline: the platform stops listening and keeps it."""
        if self._devices.pop(uri, None) is not None:
            self._mark(uri)

    def async_delete(self, uri: str) -> None:
        """The device is gone: delete it on the platform."""
        self._devices.pop(uri, None)
        self._rejected.pop(uri, None)
        self.stats.rejected.pop(uri, None)
        self._deleted.add(uri)
        self._mark(uri)

    def send_event(
        self, uri: str, service_url: str, data: str, metadata: str | None = None
    ) -> None:
        """Send an event now, or keep it (latest per device and service) until synchronised."""
        if self.ready and uri in self._synced and uri not in self._dirty:
            self._spawn(self._send_event(uri, service_url, data, metadata))
        elif uri in self._devices:
            self._pending_events[uri, service_url] = (data, metadata)

    async def async_probe(self) -> str:
        """Connect, hand the credentials over, close; return the gateway id.

        For the config flow. Raises :class:`SeplAuthError` (closed without a reply right after
        the credentials), :class:`SeplCertificateError` (``wss://`` certificate refused) or
        :class:`SeplError` (cannot connect, no or a bad reply). An empty gateway id makes the
        platform create a gateway: keep the id returned.
        """
        try:
            ws = await self._session.ws_connect(self.url, ssl=self._ssl, autoping=True)
        except aiohttp.ClientConnectorCertificateError as err:
            raise SeplCertificateError(f"certificate refused: {err.certificate_error}") from err
        except (aiohttp.ClientError, OSError, TimeoutError) as err:
            raise SeplError(f"cannot connect: {err}") from err
        try:
            reply = await self._handshake(ws)
        finally:
            await ws.close()
        if isinstance(reply, str):
            raise SeplAuthError(self.stats.last_error or "refused")
        if reply is None:
            raise SeplError(self.stats.last_error or "no reply")
        return self.gateway_id

    async def async_start(self) -> None:
        """Start connecting in the background."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="sepl client")

    async def async_stop(self) -> None:
        """Close the connection and stop."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for pending in list(self._tasks):
            pending.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for command in self._commands.values():
            command.cancel()
        self._set_state(ConnectionState.STOPPED)

    # -- connection loop -------------------------------------------------------------------

    def _set_state(self, state: ConnectionState) -> None:
        if state is self.state:
            return
        self.state = state
        if state is ConnectionState.READY:
            self._ready.set()
        else:
            self._ready.clear()
        if self._on_state is not None:
            self._on_state(state)

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _mark(self, uri: str) -> None:
        self._dirty.add(uri)
        self._dirty_event.set()

    def backoff_delay(self, attempt: int) -> float:
        """Seconds before reconnect ``attempt`` (0-based): exponential, capped, jittered."""
        return Backoff(base=self.backoff_base, cap=self.backoff_max).delay(attempt)

    async def _run(self) -> None:
        attempt = 0
        refusals = 0
        while True:
            self._set_state(ConnectionState.CONNECTING)
            outcome = await self._connect_once()
            if outcome == "ready":
                attempt = 0
                refusals = 0
            elif outcome == "refused":
                refusals += 1
                self.stats.auth_refusals += 1
                if refusals >= self.auth_refusals:
                    _LOGGER.warning(
                        "SEPL platform %s closed the connection %d times right after the "
                        "credentials: the user name or password is not accepted",
                        self.url,
                        refusals,
                    )
                    self._set_state(ConnectionState.AUTH_FAILED)
                    if self._on_auth_failed is not None:
                        self._on_auth_failed()
                    return
            else:
                refusals = 0
            self._set_state(ConnectionState.DISCONNECTED)
            delay = self.backoff_delay(attempt)
            attempt += 1
            _LOGGER.debug("SEPL: reconnecting in %.1f s", delay)
            await asyncio.sleep(delay)

    async def _connect_once(self) -> str:
        """One connection: ``"ready"`` (was synchronised), ``"refused"`` or ``"failed"``."""
        try:
            ws = await self._session.ws_connect(self.url, ssl=self._ssl, autoping=False)
        except aiohttp.ClientConnectorCertificateError as err:
            reason = str(err.certificate_error)
            self.stats.last_error = f"connect: certificate refused: {reason}"
            _LOGGER.debug("SEPL: %s refused: certificate: %s", self.url, reason)
            if self._on_certificate_refused is not None:
                self._on_certificate_refused(reason)
            return "failed"
        except (aiohttp.ClientError, OSError, TimeoutError) as err:
            self.stats.last_error = f"connect: {err}"
            _LOGGER.debug("SEPL: cannot connect to %s: %s", self.url, err)
            return "failed"
        self._ws = ws
        self._last_data = time.monotonic()
        self.stats.connects += 1
        reached_ready = False
        helpers: set[asyncio.Task[Any]] = set()
        try:
            reply = await self._handshake(ws)
            if reply is None:
                return "failed"
            if isinstance(reply, str):
                return "refused"
            reader = self._spawn(self._read(ws))
            keepalive = self._spawn(self._keepalive(ws))
            helpers = {reader, keepalive}
            self._set_state(ConnectionState.SYNCHRONISING)
            try:
                await self._synchronise(reply)
            except SeplError as err:
                self.stats.last_error = f"synchronisation: {err}"
                _LOGGER.warning("SEPL: synchronisation failed: %s", err)
                return "failed"
            reached_ready = True
            self._set_state(ConnectionState.READY)
            self._flush_events()
            helpers.add(self._spawn(self._apply_changes()))
            await asyncio.wait(helpers, return_when=asyncio.FIRST_COMPLETED)
            return "ready"
        finally:
            for helper in helpers:
                helper.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            self._ws = None
            self._synced.clear()
            self._fail_pending()
            if not ws.closed:
                await ws.close(message=b"closed by client")
            if reached_ready:
                _LOGGER.info("SEPL: disconnected from %s", self.url)

    async def _handshake(self, ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any] | str | None:
        """Send the credentials; the reply payload, ``"refused"`` or ``None`` (failure)."""
        sent = time.monotonic()
        await ws.send_str(
            json.dumps(
                {
                    "user": self._user,
                    "pw": self._password,
                    "gid": self.gateway_id,
                    "token": CREDENTIALS_TOKEN,
                }
            )
        )
        try:
            message = await ws.receive(timeout=self.handshake_timeout)
        except TimeoutError:
            self.stats.last_error = "handshake: no reply"
            return None
        if message.type in {
            aiohttp.WSMsgType.CLOSE,
            aiohttp.WSMsgType.CLOSING,
            aiohttp.WSMsgType.CLOSED,
            aiohttp.WSMsgType.ERROR,
        }:
            if time.monotonic() - sent <= AUTH_CLOSE_WINDOW:
                self.stats.last_error = "handshake: closed without reply (credentials refused?)"
                return "refused"
            self.stats.last_error = "handshake: closed without reply"
            return None
        try:
            reply = json.loads(message.data) if message.type == aiohttp.WSMsgType.TEXT else None
        except ValueError, RecursionError:  # RecursionError: nested too deeply
            reply = None
        payload = reply.get("payload") if isinstance(reply, dict) else None
        if (
            not isinstance(reply, dict)
            or reply.get("status") != STATUS_OK
            or reply.get("token") != CREDENTIALS_TOKEN
            or not isinstance(payload, dict)
            or not isinstance(payload.get("gid"), str)
            or not payload["gid"]
        ):
            self.stats.last_error = f"handshake: unexpected reply {str(message.data)[:200]}"
            return None
        gid = payload["gid"]
        if gid != self.gateway_id:
            _LOGGER.info("SEPL: gateway id is now %s", gid)
            self.gateway_id = gid
            if self._on_gateway_id is not None:
                self._on_gateway_id(gid)
        return payload

    async def _keepalive(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        while not ws.closed:
            await asyncio.sleep(max(0.0, self._last_data + self.keepalive - time.monotonic()))
            if time.monotonic() - self._last_data < self.keepalive:
                continue
            self._pong.clear()
            await ws.ping(str(int(time.time())).encode())
            try:
                async with asyncio.timeout(self.keepalive):
                    await self._pong.wait()
            except TimeoutError:
                self.stats.missed_pongs += 1
                _LOGGER.info("SEPL: no pong within %s s: reconnecting", self.keepalive)
                await ws.close()
                return
            self.stats.pongs += 1
            self._last_data = time.monotonic()

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type == aiohttp.WSMsgType.PING:
                await ws.pong(message.data)
                continue
            if message.type == aiohttp.WSMsgType.PONG:
                self._pong.set()
                continue
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            self._last_data = time.monotonic()
            try:
                frame = json.loads(message.data)
            except ValueError, RecursionError:  # RecursionError: nested too deeply
                self.stats.non_json_frames += 1
                _LOGGER.debug("SEPL: non-JSON frame ignored: %.200s", message.data)
                continue
            if not isinstance(frame, dict):
                self.stats.non_json_frames += 1
                continue
            handler = frame.get("handler")
            if handler == "command":
                payload = frame.get("payload")
                if isinstance(payload, dict):
                    self._on_command_frame(payload)
                continue
            future = self._pending.pop(str(frame.get("token") or ""), None)
            if future is None:
                self.stats.unsolicited_replies += 1
                _LOGGER.debug("SEPL: unsolicited reply ignored: %.200s", message.data)
                continue
            if not future.done():
                status = frame.get("status")
                future.set_result((status if isinstance(status, int) else 0, frame.get("payload")))
        self.stats.last_error = f"connection closed ({ws.close_code})"

    def _fail_pending(self) -> None:
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(SeplConnectionLost("connection closed"))

    async def _send(self, handler: str, payload: Any) -> asyncio.Future[tuple[int, Any]]:
        ws = self._ws
        if ws is None or ws.closed:
            raise SeplConnectionLost("not connected")
        token = str(uuid.uuid4())
        future: asyncio.Future[tuple[int, Any]] = asyncio.get_running_loop().create_future()
        self._pending[token] = future
        frame = {
            "status": 0,
            "handler": handler,
            "token": token,
            "content_type": "",
            "payload": payload,
        }
        try:
            await ws.send_str(json.dumps(frame))
        except (ConnectionError, RuntimeError, aiohttp.ClientError) as err:
            self._pending.pop(token, None)
            raise SeplConnectionLost(str(err)) from err
        future.add_done_callback(lambda done: self._forget(token, done))
        return future

    def _forget(self, token: str, future: asyncio.Future[tuple[int, Any]]) -> None:
        self._pending.pop(token, None)
        if not future.cancelled():
            future.exception()  # retrieved: a reply nobody waits for (response) is fine

    async def _request(self, handler: str, payload: Any, within: float | None = None) -> Any:
        """Send a request and return the reply payload; raise :class:`SeplError`."""
        future = await self._send(handler, payload)
        try:
            async with asyncio.timeout(within or self.request_timeout):
                status, reply = await asyncio.shield(future)
        except TimeoutError as err:
            self.stats.timeouts += 1
            future.cancel()
            raise SeplTimeoutError(f"{handler}: no reply") from err
        except asyncio.CancelledError:
            # The caller is gone: so is the reply future (left to the shield, the connection's
            # end would set an error on it that asyncio reports as unretrieved).
            future.cancel()
            raise
        if status != STATUS_OK:
            self.stats.error_replies += 1
            raise SeplRequestError(handler, status, reply)
        return reply

    # -- synchronisation -------------------------------------------------------------------

    async def _synchronise(self, handshake: Mapping[str, Any]) -> None:
        self.platform_hash = str(handshake.get("hash") or "")
        self._dirty.clear()
        for uri in sorted(self._deleted):
            await self._delete(uri)
        wanted = {
            uri: device
            for uri, device in self._devices.items()
            if self._rejected.get(uri) != device
        }
        local = gateway_hash(wanted.values())
        self.stats.synchronisations += 1
        self.hash_matched = local == self.platform_hash
        if local == self.platform_hash:
            _LOGGER.debug("SEPL: gateway hash matches, no synchronisation needed")
            self._synced = wanted
            self.stats.devices_synced = len(self._synced)
            return
        self.stats.full_synchronisations += 1
        _LOGGER.debug("SEPL: hash %s != %s: full synchronisation", local, self.platform_hash)
        await self._request("clear", None, self.sync_timeout)
        self._synced = {}
        for device in wanted.values():
            await self._put(device)
        await self._commit()

    async def _put(self, device: SeplDevice) -> None:
        try:
            await self._request("put", device.put_payload())
        except SeplRequestError as err:
            # Duplicate uri (400) or unknown / empty device type (500): keep the device out of
            # the gateway until it changes, and say so (repair issue in the integration).
            self._rejected[device.uri] = device
            self.stats.rejected[device.uri] = err.text
            _LOGGER.warning("SEPL: the platform refused device %s: %s", device.uri, err.text)
            if self._on_rejected is not None:
                self._on_rejected(device.uri, err.text)
            return
        self._synced[device.uri] = device
        if self.stats.rejected.pop(device.uri, None) is not None:
            self._rejected.pop(device.uri, None)
            if self._on_rejected is not None:
                self._on_rejected(device.uri, "")

    async def _delete(self, uri: str) -> None:
        with contextlib.suppress(SeplRequestError):  # 500: no such device (any more)
            await self._request("delete", uri)
        self._deleted.discard(uri)
        self._synced.pop(uri, None)

    async def _commit(self) -> None:
        digest = gateway_hash(self._synced.values())
        await self._request("commit", digest, self.sync_timeout)
        self.platform_hash = digest
        self.stats.devices_synced = len(self._synced)

    async def _apply_changes(self) -> None:
        """Send the changes made since the synchronisation, one commit per batch."""
        while True:
            await self._dirty_event.wait()
            self._dirty_event.clear()
            dirty, self._dirty = self._dirty, set()
            changed = False
            for uri in sorted(dirty):
                device = self._devices.get(uri)
                if device is not None:
                    if self._synced.get(uri) != device:
                        await self._put(device)
                        changed = True
                elif uri in self._deleted:
                    await self._delete(uri)
                    changed = True
                elif uri in self._synced:
                    with contextlib.suppress(SeplRequestError):  # 500: not listening
                        await self._request("disconnect", uri)
                    self._synced.pop(uri, None)
                    changed = True
            if changed:
                await self._commit()
            self._flush_events()

    # -- events ----------------------------------------------------------------------------

    def _flush_events(self) -> None:
        pending, self._pending_events = self._pending_events, {}
        for (uri, service_url), (data, metadata) in pending.items():
            if uri in self._synced:
                self._spawn(self._send_event(uri, service_url, data, metadata))
            elif uri in self._devices and uri not in self._rejected:
                self._pending_events[uri, service_url] = (data, metadata)

    async def _send_event(
        self, uri: str, service_url: str, data: str, metadata: str | None
    ) -> None:
        payload = {
            "device_uri": uri,
            "service_uri": service_url,
            "value": [{"name": "metadata", "value": metadata}, {"name": "data", "value": data}],
        }
        async with self._window:
            try:
                await self._request("event", payload)
            except SeplRequestError as err:
                self.stats.events_failed += 1
                _LOGGER.warning("SEPL: event of %s refused: %s", uri, err.text)
                return
            except SeplError:
                # The connection went away: keep the latest state for the next session.
                self.stats.events_failed += 1
                self._pending_events.setdefault((uri, service_url), (data, metadata))
                return
        self.stats.events_sent += 1

    # -- commands --------------------------------------------------------------------------

    def _on_command_frame(self, payload: dict[str, Any]) -> None:
        command = SeplCommand(payload)
        key = command.task_id
        known = self._commands.get(key) if key else None
        if known is not None:
            self.stats.duplicate_commands += 1
            _LOGGER.debug("SEPL: command %s repeated: answered, not run again", key)
            task = known
        else:
            self.stats.commands += 1
            task = asyncio.get_running_loop().create_task(self._execute(command))
            if key:
                self._commands[key] = task
                while len(self._commands) > RECENT_COMMANDS:
                    self._commands.popitem(last=False)
        self._spawn(self._answer(command, task))

    async def _execute(self, command: SeplCommand) -> CommandResult:
        if self._on_command is None:
            return CommandResult(STATUS_FAILED, "this client runs no commands")
        try:
            return await self._on_command(command)
        except Exception as err:  # a failing handler must still be answered
            _LOGGER.exception("SEPL: command %s failed", command.task_id)
            return CommandResult(STATUS_FAILED, f"internal error: {type(err).__name__}")

    async def _answer(self, command: SeplCommand, task: asyncio.Task[CommandResult]) -> None:
        result = await asyncio.shield(task)
        try:
            await self._send("response", command.response(result.status, result.message))
        except SeplError as err:
            _LOGGER.warning("SEPL: response to %s not sent: %s", command.task_id, err)
