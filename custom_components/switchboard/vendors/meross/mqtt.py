"""MQTT connection of a Meross account (app side): requests to devices and their pushes.

Built on aiomqtt: paho's connect (TCP + TLS handshake) runs in an executor thread and the socket is
then driven by the asyncio loop, so nothing blocks the event loop (meross-iot, by contrast, calls
paho's blocking ``connect()`` inside the loop). One background task keeps the connection up and
reconnects with the shared back-off (``net.Backoff``: exponential, capped, jitter).

Credentials (docs/protocols/meross.md §3): client id ``app:<app_id>``, username = user id,
password = ``md5(userid + key)``; pushes arrive on ``/app/<userid>/subscribe``, replies on
``/app/<userid>-<app_id>/subscribe``; requests go to ``/appliance/<uuid>/subscribe``.
"""

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
import contextlib
from dataclasses import dataclass
import json
import logging
import ssl
import time
from typing import Any, Literal, cast, override

import aiomqtt

from ...net import Backoff
from .errors import MerossConnectionError, MerossDeviceError, MerossTimeoutError
from .limiter import RequestLimiter, RequestPriority
from .protocol import (
    InvalidMessageError,
    Message,
    Method,
    app_mqtt_password,
    build_message,
    md5_hex,
    new_message_id,
    parse_message,
)

_LOGGER = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0
SUBSCRIBE_TIMEOUT = 60.0
"""Seconds to wait for the SUBACK of the account's two topics.

Longer than the connect timeout: on a busy Home Assistant (a start with hundreds of entities)
the event loop may read the SUBACK late; giving up after 10 s dropped a working connection
(aiomqtt then logged "Unexpected message ID 1 in on_subscribe" for the late SUBACK) and started
over with back-off, so the account's devices had no connection for minutes.
"""
PENDING_PUBLISHES_WARNING = 100
"""aiomqtt warns when more publishes than this wait to be written (its default, 10, is below
the request limiter's burst: every start-up burst logged 10 warnings)."""

type PushCallback = Callable[[str, str, dict[str, Any]], None]
type ConnectionCallback = Callable[[bool], None]
type TraceCallback = Callable[[MessageTrace], None]
type TaskFactory = Callable[[Coroutine[Any, Any, None]], asyncio.Task[None]]


class _RedactingLogger(logging.LoggerAdapter[logging.Logger]):
    """paho's and aiomqtt's log lines with the account's user id replaced.

    paho logs every SUBSCRIBE and PUBLISH with its topic, and the account's topics carry the
    user id (``/app/<userid>/subscribe``), which is personal data.
    """

    def __init__(self, logger: logging.Logger, user_id: str) -> None:
        """Wrap ``logger``; ``user_id`` is replaced by ``<user id>`` in every line."""
        super().__init__(logger, {})
        self._user_id = user_id

    @override
    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        """Format the line, remove the user id, log it."""
        if not self.isEnabledFor(level):
            return
        text = str(msg) % args if args else str(msg)
        if self._user_id:
            text = text.replace(self._user_id, "<user id>")
        self.logger.log(level, "%s", text, **kwargs)


@dataclass(frozen=True, slots=True)
class MessageTrace:
    """One message sent to or received from a device (for diagnostics)."""

    direction: Literal["tx", "rx"]
    uuid: str
    method: str
    namespace: str
    payload: dict[str, Any]
    time: float


class MerossMqttClient:
    """Talk to the devices of one Meross account through its MQTT broker."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        user_id: str,
        key: str,
        ssl_context: ssl.SSLContext | None = None,
        app_id: str | None = None,
        limiter: RequestLimiter | None = None,
        on_push: PushCallback | None = None,
        on_connection_change: ConnectionCallback | None = None,
        on_trace: TraceCallback | None = None,
        keepalive: int = 30,
        reconnect_min_delay: float = 1.0,
        reconnect_max_delay: float = 60.0,
        connect_timeout: float = 10.0,
    ) -> None:
        """Configure the connection; ``async_start`` opens it."""
        self.host = host
        self.port = port
        self.user_id = str(user_id)
        self._key = key
        self._ssl_context = ssl_context
        self.app_id = app_id or md5_hex(f"API{new_message_id()}")
        self.limiter = limiter
        self.on_push = on_push
        self.on_connection_change = on_connection_change
        self.on_trace = on_trace
        self._keepalive = keepalive
        self._reconnect_min = reconnect_min_delay
        self._reconnect_max = reconnect_max_delay
        self._connect_timeout = connect_timeout
        self._client: aiomqtt.Client | None = None
        self._paho_logger = cast(
            logging.Logger, _RedactingLogger(_LOGGER.getChild("paho"), self.user_id)
        )
        self._task: asyncio.Task[None] | None = None
        self._connected_event = asyncio.Event()
        self._pending: dict[str, tuple[str, str, asyncio.Future[dict[str, Any]]]] = {}
        self._stop = asyncio.Event()
        self.connected = False
        self.connect_count = 0
        self.last_error: str | None = None
        self.dropped_messages = 0
        """Messages dropped because they failed to parse or verify (or crashed a handler)."""
        self.task_failures = 0
        """Times the connection task failed unexpectedly and was restarted."""

    @property
    def client_id(self) -> str:
        """MQTT client id."""
        return f"app:{self.app_id}"

    @property
    def push_topic(self) -> str:
        """Topic on which the cloud relays device pushes for this account."""
        return f"/app/{self.user_id}/subscribe"

    @property
    def reply_topic(self) -> str:
        """Topic on which devices answer this client's requests."""
        return f"/app/{self.user_id}-{self.app_id}/subscribe"

    @property
    def requests_per_minute(self) -> int:
        """Requests sent during the last minute (0 without a limiter)."""
        return self.limiter.requests_per_minute if self.limiter else 0

    async def async_start(self, task_factory: TaskFactory | None = None) -> None:
        """Start the connection task (``task_factory`` lets Home Assistant own the task)."""
        if self._task is not None:
            return
        self._stop.clear()
        if self._ssl_context is None:
            loop = asyncio.get_running_loop()
            self._ssl_context = await loop.run_in_executor(None, ssl.create_default_context)
        coro = self._run()
        self._task = task_factory(coro) if task_factory else asyncio.create_task(coro)

    async def async_wait_connected(self, timeout: float) -> bool:  # noqa: ASYNC109
        """Wait up to ``timeout`` seconds for the connection; return whether it is up."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._connected_event.wait()
        return self.connected

    async def async_stop(self) -> None:
        """Close the connection and stop reconnecting."""
        self._stop.set()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception:  # stopping must succeed (entry unload)
                _LOGGER.exception("Meross MQTT connection task had failed")
        self._fail_pending("client stopped")

    def _set_connected(self, connected: bool) -> None:
        if connected == self.connected:
            return
        self.connected = connected
        if connected:
            self._connected_event.set()
        else:
            self._connected_event.clear()
        if self.on_connection_change is not None:
            try:
                self.on_connection_change(connected)
            except Exception:
                _LOGGER.exception("Meross connection callback failed")

    def _fail_pending(self, reason: str) -> None:
        for _, _, future in self._pending.values():
            if not future.done():
                future.set_exception(MerossConnectionError(reason))
        self._pending.clear()

    async def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            try:
                client = aiomqtt.Client(
                    self.host,
                    self.port,
                    username=self.user_id,
                    password=app_mqtt_password(self.user_id, self._key),
                    identifier=self.client_id,
                    tls_context=self._ssl_context,
                    keepalive=self._keepalive,
                    clean_session=True,
                    timeout=self._connect_timeout,
                    logger=self._paho_logger,
                )
                client.pending_calls_threshold = PENDING_PUBLISHES_WARNING
                await _async_connect(client)
                async with _connected(client):
                    await client.subscribe(
                        [(self.push_topic, 1), (self.reply_topic, 1)], timeout=SUBSCRIBE_TIMEOUT
                    )
                    self._client = client
                    attempt = 0
                    self.connect_count += 1
                    self.last_error = None
                    _LOGGER.debug("Connected to Meross MQTT %s:%s", self.host, self.port)
                    self._set_connected(True)
                    async for message in client.messages:
                        self._handle(message.payload)
            except aiomqtt.MqttError as err:
                self.last_error = str(err)
                if self.connected:
                    _LOGGER.info("Meross MQTT connection lost: %s", err)
                else:
                    _LOGGER.debug("Meross MQTT connection failed: %s", err)
            except Exception as err:  # the task must outlive any bug
                # Whatever went wrong, push must come back: log it and reconnect.
                self.last_error = f"{type(err).__name__}: {err}"
                self.task_failures += 1
                _LOGGER.exception("Meross MQTT connection task failed; reconnecting")
            finally:
                self._client = None
                self._set_connected(False)
                self._fail_pending("connection lost")
            if self._stop.is_set():
                break
            delay = Backoff(base=self._reconnect_min, cap=self._reconnect_max, jitter=0.2).delay(
                attempt
            )
            attempt += 1
            await asyncio.sleep(delay)

    def _handle(self, raw: Any) -> None:
        """Handle one received payload; never raises (a bad message is dropped and counted)."""
        try:
            self._handle_message(raw)
        except Exception:  # one message must not end the connection
            self.dropped_messages += 1
            _LOGGER.exception("Meross message handling failed; message dropped")

    def _handle_message(self, raw: Any) -> None:
        if not isinstance(raw, (bytes, bytearray, str)):
            self.dropped_messages += 1
            _LOGGER.debug("Dropped Meross message: payload of type %s", type(raw).__name__)
            return
        try:
            message = parse_message(bytes(raw) if not isinstance(raw, str) else raw, self._key)
        except InvalidMessageError as err:
            self.dropped_messages += 1
            _LOGGER.debug("Dropped Meross message: %s", err)
            return
        self._trace("rx", message.uuid or "", message.method, message.namespace, message.payload)
        if message.method == Method.PUSH:
            if message.uuid and self.on_push is not None:
                try:
                    self.on_push(message.uuid, message.namespace, message.payload)
                except Exception:
                    _LOGGER.exception("Meross push handler failed for %s", message.namespace)
            return
        pending = self._pending.pop(message.message_id, None)
        if pending is None:
            return
        uuid, namespace, future = pending
        if future.done():
            return
        if message.method == Method.ERROR:
            future.set_exception(_device_error(uuid, namespace, message))
        else:
            future.set_result(message.payload)

    def _trace(
        self,
        direction: Literal["tx", "rx"],
        uuid: str,
        method: str,
        namespace: str,
        payload: dict[str, Any],
    ) -> None:
        if self.on_trace is None:
            return
        try:
            self.on_trace(MessageTrace(direction, uuid, method, namespace, payload, time.time()))
        except Exception:
            _LOGGER.exception("Meross trace handler failed")

    async def async_request(
        self,
        uuid: str,
        method: str,
        namespace: str,
        payload: dict[str, Any] | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109
        priority: RequestPriority | None = None,
    ) -> dict[str, Any]:
        """Send GET/SET ``namespace`` to device ``uuid``; return the reply payload.

        SET requests are commands and jump ahead of queued polls unless ``priority`` says
        otherwise. Raises MerossConnectionError (no connection), MerossTimeoutError,
        MerossDeviceError (ERROR reply).
        """
        if priority is None:
            priority = RequestPriority.COMMAND if method == Method.SET else RequestPriority.POLL
        if self._client is None:
            raise MerossConnectionError("not connected to the Meross broker")
        if self.limiter is not None:
            # Waiting for a slot is not the device's fault: the timeout starts after it.
            await self.limiter.acquire(priority)
        try:
            async with asyncio.timeout(timeout):
                return await self._async_send(uuid, method, namespace, payload or {})
        except TimeoutError as err:
            raise MerossTimeoutError(f"{namespace} on {uuid}: no reply in {timeout} s") from err

    async def _async_send(
        self, uuid: str, method: str, namespace: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        client = self._client
        if client is None:
            raise MerossConnectionError("not connected to the Meross broker")
        message = self.envelope(uuid, method, namespace, payload)
        message_id: str = message["header"]["messageId"]
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[message_id] = (uuid, namespace, future)
        try:
            self._trace("tx", uuid, method, namespace, payload)
            try:
                await client.publish(f"/appliance/{uuid}/subscribe", json.dumps(message), qos=0)
            except aiomqtt.MqttError as err:
                raise MerossConnectionError(f"publish failed: {err}") from err
            return await future
        finally:
            self._pending.pop(message_id, None)

    def envelope(
        self, uuid: str, method: str, namespace: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        """A signed request to device ``uuid`` answered on this client's reply topic.

        Sent as it is, or as one item of an ``Appliance.Control.Multiple`` request
        (docs/protocols/meross.md §4).
        """
        return build_message(
            method=method,
            namespace=namespace,
            payload=payload,
            key=self._key,
            reply_topic=self.reply_topic,
            uuid=uuid,
        )

    async def async_get(
        self,
        uuid: str,
        namespace: str,
        payload: dict[str, Any] | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109
    ) -> dict[str, Any]:
        """Shortcut for a GET poll."""
        return await self.async_request(uuid, Method.GET, namespace, payload, timeout=timeout)


async def _async_connect(client: aiomqtt.Client) -> None:
    """Connect, shielded: aiomqtt leaves a half-open socket behind when cancelled mid-connect.

    On cancellation the connection attempt is allowed to finish (bounded by the client's
    timeout) and is then closed, and the cancellation goes on.
    """
    attempt = asyncio.ensure_future(client.__aenter__())
    try:
        await asyncio.shield(attempt)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await attempt
            await client.__aexit__(None, None, None)
        raise


@contextlib.asynccontextmanager
async def _connected(client: aiomqtt.Client) -> AsyncIterator[aiomqtt.Client]:
    """Disconnect a client connected with ``_async_connect`` when the block ends."""
    try:
        yield client
    finally:
        await client.__aexit__(None, None, None)


def _device_error(uuid: str, namespace: str, message: Message) -> MerossDeviceError:
    error = message.payload.get("error")
    code: int | None = None
    detail = ""
    if isinstance(error, dict):
        raw_code = error.get("code")
        if isinstance(raw_code, (int, str)):
            with contextlib.suppress(ValueError):
                code = int(raw_code)
        detail = str(error.get("detail") or error.get("message") or "")
    return MerossDeviceError(uuid, namespace, code, detail)
