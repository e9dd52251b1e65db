"""One Midea appliance on the LAN, run by midea-local 12.2.0 without blocking the event loop.

No Home Assistant imports. midea-local is thread based (``docs/protocols/midea.md`` §7): each
appliance is a ``threading.Thread`` whose ``connect()`` and ``set_attribute()`` block and whose
update callbacks run on that thread. :class:`MideaApplianceClient` wraps one such device:

* every blocking call (``device_selector``, which imports a module, ``connect``,
  ``set_attribute``, ``refresh_status``, joining the thread) runs in the loop's executor;
* the library's callbacks are handed to the event loop with ``call_soon_threadsafe``; the
  client keeps its own copy of the attributes, changed only on the loop, and calls
  ``on_update(client)`` there;
* its known faults are handled: ``close()`` races with the thread's own socket close (we stop
  the thread by shutting its socket down and joining it instead); a wrong key is caught by our
  own handshake check (``lan.async_check_credentials``) before midea-local could log it as an
  error with a traceback; the library's reconnect back-off (up to 600 s) is replaced by our
  own loop, whose waits are capped at 3 s (``RECONNECT_BACKOFF``), however long the appliance
  was away; an appliance that went unavailable stays so until it has answered in time: each
  attempt first wants the reply to an appliance query within ``reply_timeout`` on a connection
  of its own (``lan.async_check_answer``), because midea-local's ``connect`` accepts replies up
  to 5 s late, and frames of a lost connection are dropped, so that a late reply can neither
  bring the appliance back nor make it flap (one "unavailable" per outage); bytes the library
  cannot decode (garbage, a truncated or wrongly signed frame) are the appliance's fault, not a
  bug: the library's error-level traceback for them is logged at debug level
  (:class:`MalformedReplyFilter`); a connection the library's thread opens by itself (its
  socket closed) identifies the appliance first (:meth:`MideaApplianceClient._thread_connect`);
* commands are serialised per appliance and wait for the appliance's reply, because a set
  carries the cached state and a second set sent before the first reply would undo it (§4);
* before every connection the appliance at the address is identified by a unicast discovery
  probe (§1: the reply carries the appliance id and the TCP port it serves): another appliance
  at the configured host and port (a new DHCP lease) is not connected to; the client stays
  unavailable with ``last_error`` ``other_device`` and :attr:`MideaApplianceClient.other`
  naming it, and keeps probing until the right appliance answers there. An address that
  does not answer discovery is not held against the appliance.
"""

import asyncio
from collections.abc import Callable
import contextlib
from dataclasses import asdict, dataclass
import functools
import logging
import socket
from typing import Any, Self

from midealocal.const import ProtocolVersion
from midealocal.devices import device_selector
import midealocal.devices.a1
import midealocal.devices.ac  # noqa: F401 - imported here so device_selector never imports
from midealocal.exceptions import (
    DataSignDoesntMatch,
    DataSignWrongType,
    DataUnexpectedLength,
    MessageWrongFormat,
    MideaLocalError,
)

from ...net import Backoff
from .lan import (
    SUPPORTED_TYPES,
    ApplianceUnreachable,
    DiscoveredAppliance,
    MideaLanError,
    NoAnswer,
    WrongKey,
    WrongToken,
    async_check_answer,
    async_check_credentials,
    async_discover,
)

_LOGGER = logging.getLogger(__name__)

MALFORMED_REPLY_ERRORS: tuple[type[MideaLocalError], ...] = (
    DataSignDoesntMatch,
    DataSignWrongType,
    DataUnexpectedLength,
    MessageWrongFormat,
)
"""midea-local's errors for bytes from the appliance that do not decode (§7 of the protocol
notes): the 8370 envelope, the handshake reply's signature, a frame's length."""


class MalformedReplyFilter(logging.Filter):
    """Lower midea-local's error-level tracebacks for an appliance's malformed bytes to debug.

    midea-local 12.2.0 logs ``Unexpected error`` (its receive loop) and ``Unknown error during
    connect device`` (the V3 handshake) with ``_LOGGER.exception`` when the appliance sends
    bytes it cannot decode (one of :data:`MALFORMED_REPLY_ERRORS`). Nothing is wrong with
    Home Assistant or the library then: the library closes the socket and reconnects, and the
    appliance goes unavailable (logged once by the coordinator) until it answers properly.
    Every other record keeps its level; nothing is dropped.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Return True (keep the record), at debug level for a malformed reply."""
        error = record.exc_info[1] if record.exc_info else None
        if record.levelno > logging.DEBUG and isinstance(error, MALFORMED_REPLY_ERRORS):
            record.levelno = logging.DEBUG
            record.levelname = logging.getLevelName(logging.DEBUG)
        return True


# Filterer.addFilter ignores a filter already added (a reloaded module adds a new instance of
# a new class, so it is looked up by name first).
_MIDEALOCAL_LOGGER = logging.getLogger("midealocal.device")
for _filter in list(_MIDEALOCAL_LOGGER.filters):
    if type(_filter).__name__ == MalformedReplyFilter.__name__:
        _MIDEALOCAL_LOGGER.removeFilter(_filter)
_MIDEALOCAL_LOGGER.addFilter(MalformedReplyFilter())

REPLY_TIMEOUT = 5.0
"""Seconds to wait for an appliance's reply to a command or a status query."""
RECONNECT_BACKOFF = Backoff(base=0.5, cap=3.0)
"""Waits between reconnection attempts while an appliance is unavailable: 0.5 s, 1 s, 2 s, then
3 s at most (with jitter), however long it is away: it is back within seconds of answering."""
AUTH_RETRY_INTERVAL = 60.0
"""Seconds between attempts while the appliance refuses the token or key (no hammering)."""
JOIN_TIMEOUT = 15.0
IDENTIFY_WAIT = 1.0
"""Seconds a discovery probe to the appliance's address waits when the appliance itself does
not answer (it returns as soon as it does)."""


class UnsupportedAppliance(MideaLanError):
    """The appliance is of a type this family does not run."""


class CommandFailed(MideaLanError):
    """The appliance did not take the command (no reply, or midea-local refused it)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplianceConfig:
    """Everything needed to reach one appliance; stored in the config entry (JSON).

    ``appliance_id`` is the cloud id; ``device_type`` 0xA1 or 0xAC; ``protocol`` 2 or 3;
    ``token`` (128 hex) and ``key`` (64 hex) are empty for V2; ``mac`` lowercase with colons.
    """

    appliance_id: int
    device_type: int
    name: str
    host: str
    port: int
    protocol: int
    token: str = ""
    key: str = ""
    serial: str = ""
    model: str = ""
    subtype: int = 0
    mac: str | None = None
    firmware: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON form stored in the entry."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Read the JSON form back."""
        return cls(**{key: data[key] for key in cls.__dataclass_fields__ if key in data})

    def with_changes(self, **changes: Any) -> ApplianceConfig:
        """A copy with some fields changed (a new address, token or key)."""
        return ApplianceConfig(**{**self.as_dict(), **changes})


async def async_check_appliance(
    config: ApplianceConfig, *, wait: float = 5.0, answer: bool = False
) -> None:
    """Check that ``config`` reaches the appliance: reachable and, for V3, token and key right.

    With ``answer``, the appliance must also answer a query within ``wait`` seconds
    (``lan.async_check_answer``). Raises :class:`UnsupportedAppliance`,
    ``ApplianceUnreachable`` (``NoAnswer`` for a late or undecodable reply), ``WrongToken``,
    ``WrongKey``.
    """
    if config.device_type not in SUPPORTED_TYPES:
        raise UnsupportedAppliance(f"device type 0x{config.device_type:02X}")
    if answer:
        await async_check_answer(
            config.host,
            config.port,
            appliance_id=config.appliance_id,
            device_type=config.device_type,
            token=config.token if config.protocol == 3 else "",
            key=config.key if config.protocol == 3 else "",
            wait=wait,
        )
        return
    if config.protocol == 3:
        await async_check_credentials(config.host, config.port, config.token, config.key, wait=wait)
        return
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(config.host, config.port), wait)
    except (OSError, TimeoutError) as err:
        raise ApplianceUnreachable(f"{config.host}:{config.port}: {err}") from err
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


class MideaApplianceClient:
    """One appliance: connection, attributes mirrored on the loop, commands, reconnection.

    ``attributes`` are midea-local's attribute names and values (``target_humidity``,
    ``mode``, ...), its defaults included; ``reported`` names the attributes the appliance has
    actually sent (a default ``False`` and a reported ``False`` look alike in ``attributes``);
    ``select_options`` maps an air conditioner's select attributes (``wind_ud_angle``,
    ``wind_lr_angle``, ``rate_select``, ``fresh_air_mode``) to midea-local's option names for
    this appliance; ``available`` says whether the appliance answers; ``on_update(self)`` is
    called on the event loop after every change of either.
    """

    reconnect_backoff: Backoff = RECONNECT_BACKOFF
    auth_retry_interval: float = AUTH_RETRY_INTERVAL
    reply_timeout: float = REPLY_TIMEOUT

    def __init__(
        self,
        config: ApplianceConfig,
        on_update: Callable[[MideaApplianceClient], None],
        discovery_ports: tuple[int, ...] = (),
    ) -> None:
        """Create the client; nothing connects before :meth:`async_start`.

        ``discovery_ports``: the UDP ports that identify the appliance before each connection
        (none: it is not identified).
        """
        self.config = config
        self.discovery_ports = discovery_ports
        self.other: DiscoveredAppliance | None = None
        """Another appliance found at the address (``last_error`` is ``other_device``)."""
        self.attributes: dict[str, Any] = {}
        self.capabilities: dict[str, Any] = {}
        self.modes: list[str] = []
        self.fan_speeds: list[str] = []
        self.hvac_modes: list[str] = []
        self.select_options: dict[str, list[str]] = {}
        self.reported: frozenset[str] = frozenset()
        self.temperature_step: float | None = None
        self.available = False
        self.last_error: str | None = None
        self._on_update = on_update
        self._device: Any = None
        self._device_callback: Callable[[dict[str, Any]], None] | None = None
        self._detached: list[Any] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: list[asyncio.Future[None]] = []
        self._command_lock = asyncio.Lock()
        self._reconnect_task: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def appliance_id(self) -> int:
        """The appliance's cloud id."""
        return self.config.appliance_id

    async def async_start(self) -> None:
        """Connect now; when that fails, keep trying in the background (never raises).

        The appliance is available as soon as a connection succeeds; ``last_error`` tells why
        it is not (``wrong_token``, ``wrong_key``, ``unreachable``, ``no_answer``: no reply in
        time, ``unsupported``).
        """
        self._loop = asyncio.get_running_loop()
        if not await self._async_try_connect():
            self._start_reconnect()

    async def async_set_address(self, host: str, port: int) -> None:
        """Use a new address (the appliance moved): reconnect there at once."""
        if (host, port) == (self.config.host, self.config.port):
            return
        self.config = self.config.with_changes(host=host, port=port)
        await self._async_drop_device()
        if not self._closing:
            self._set_available(False, "moved")
            self._start_reconnect()

    async def _async_identify(self) -> DiscoveredAppliance | None:
        """Probe the address; another appliance serving the configured host and port, or None."""
        config = self.config
        if not self.discovery_ports:
            return None
        found = await async_discover(
            [config.host], self.discovery_ports, wait=IDENTIFY_WAIT, wanted=[config.appliance_id]
        )
        if config.appliance_id in found:
            return None
        return next(
            (
                other
                for other in found.values()
                if other.host == config.host and other.port == config.port
            ),
            None,
        )

    async def _async_try_connect(self) -> bool:
        """One connection attempt: identify, a timely answer, midea-local's connect, thread."""
        other = await self._async_identify()
        if other is not None:
            changed = self.other != other or self.last_error != "other_device"
            self.other = other
            self.last_error = "other_device"
            if changed:
                _LOGGER.debug(
                    "Midea %s: appliance %s answers at %s:%s",
                    self.config.name,
                    other.appliance_id,
                    other.host,
                    other.port,
                )
                self._on_update(self)
            return False
        self.other = None
        try:
            await async_check_appliance(self.config, wait=self.reply_timeout, answer=True)
        except MideaLanError as err:
            kind = {
                WrongToken: "wrong_token",
                WrongKey: "wrong_key",
                UnsupportedAppliance: "unsupported",
                NoAnswer: "no_answer",
            }.get(type(err), "unreachable")
            changed = kind != self.last_error
            self.last_error = kind
            if changed and kind in ("wrong_token", "wrong_key"):
                _LOGGER.warning(
                    "Midea %s refuses its %s; reconfigure the appliance with the right "
                    "token and key",
                    self.config.name,
                    "token" if kind == "wrong_token" else "key",
                )
                self._on_update(self)
            elif changed:
                _LOGGER.debug("Midea %s: cannot connect: %s", self.config.name, err)
            return False
        loop = asyncio.get_running_loop()
        device = await loop.run_in_executor(None, self._create_device)
        if not await loop.run_in_executor(None, device.connect, True):
            self.last_error = "unreachable"
            return False
        if self._closing:
            await loop.run_in_executor(None, _stop_device, device)
            return False
        self._device = device
        self.attributes = dict(device.attributes)
        self._read_lists(device)
        self._device_callback = functools.partial(self._thread_update, device)
        device.register_update(self._device_callback)
        device.connect = functools.partial(self._thread_connect, device, device.connect)
        device.daemon = True
        device.open()
        self.last_error = None
        self._set_available(True)
        return True

    def _create_device(self) -> Any:
        """Build midea-local's device (executor: ``device_selector`` imports a module)."""
        config = self.config
        device = device_selector(
            name=config.name,
            device_id=config.appliance_id,
            device_type=config.device_type,
            ip_address=config.host,
            port=config.port,
            token=config.token,
            key=config.key,
            device_protocol=ProtocolVersion(config.protocol),
            model=config.model,
            subtype=config.subtype,
            customize="",
            mac=config.mac.replace(":", "") if config.mac else None,
            serial_number=config.serial or None,
        )
        # Registered before connect(), whose status queries already report attributes.
        device.register_update(self._record_reported)
        return device

    def _record_reported(self, status: dict[str, Any]) -> None:
        """midea-local's callback, on its thread: remember which attributes were reported.

        The set is replaced, never changed in place, so the loop always reads a whole one.
        """
        self.reported = self.reported | (status.keys() - {"available", "capabilities"})

    def _read_lists(self, device: Any) -> None:
        self.modes = list(getattr(device, "modes", []) or [])
        self.fan_speeds = list(getattr(device, "fan_speeds", []) or [])
        self.hvac_modes = [str(mode) for mode in getattr(device, "raw_hvac_modes", []) or []]
        # The AC's option lists; rate_selects depends on the B5 capabilities, which the
        # status queries of connect() have read by now.
        self.select_options = {
            attribute: list(getattr(device, lists, []) or [])
            for attribute, lists in (
                ("wind_ud_angle", "wind_ud_angles"),
                ("wind_lr_angle", "wind_lr_angles"),
                ("rate_select", "rate_selects"),
                ("fresh_air_mode", "fresh_air_fan_speeds"),
                ("fresh_air_exhaust_mode", "fresh_air_exhaust_fan_speeds"),
            )
            if hasattr(device, lists)
        }
        # The A1 exposes ``capabilities``; the AC only keeps them in ``_capabilities`` (B5).
        capabilities = getattr(device, "capabilities", None)
        if not isinstance(capabilities, dict):
            capabilities = getattr(device, "_capabilities", {})
        self.capabilities = dict(capabilities or {})
        step = getattr(device, "temperature_step", None)
        self.temperature_step = float(step) if isinstance(step, (int, float)) else None

    def _thread_connect(
        self, device: Any, connect: Callable[[bool], bool], check_protocol: bool = False
    ) -> bool:
        """Stands in for ``device.connect`` once the thread runs (called on the thread).

        midea-local's thread connects again by itself when its socket closes, straight to
        whatever answers at the address: the appliance is identified first (on the event loop;
        the thread waits). Another appliance there ends the thread instead (its run flag
        cleared, so it logs no retries) and hands the loss to the event loop, whose
        reconnection raises the repair issue.
        """
        loop = self._loop
        if loop is not None and not loop.is_closed() and self.discovery_ports:
            identify = asyncio.run_coroutine_threadsafe(self._async_identify(), loop)
            try:
                other = identify.result(IDENTIFY_WAIT + 5)
            except Exception:  # not identified: not held against the appliance
                other = None
            if other is not None:
                device._is_run = False
                self._thread_update(device, {"available": False})
                return True
        return connect(check_protocol)

    def _thread_update(self, device: Any, status: dict[str, Any]) -> None:
        """midea-local's callback for ``device``, on its thread: hand a copy to the event loop."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._apply_update, device, dict(status))

    def _apply_update(self, device: Any, status: dict[str, Any]) -> None:
        """Apply a callback's changes on the loop; wake the commands waiting for a reply.

        Only frames of the current connection count: one that arrives after its connection was
        given up (a late reply) changes nothing, and never makes the appliance available (only
        a connection attempt that got a timely answer does).
        """
        if self._closing or device is not self._device:
            return
        if "available" in status and len(status) == 1:
            if not status["available"]:
                self._connection_lost("the appliance closed the connection")
            return
        if (capabilities := status.pop("capabilities", None)) is not None:
            self.capabilities = dict(capabilities)
        self.attributes.update(status)
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()
        self._on_update(self)

    def _set_available(self, available: bool, reason: str | None = None) -> None:
        if reason is not None:
            self.last_error = reason
        if available != self.available:
            self.available = available
            self._on_update(self)

    def _connection_lost(self, reason: str) -> None:
        """The appliance went away: unavailable now, reconnect in the background.

        The connection is detached at once (its thread is stopped by the reconnection task),
        so that a reply already on its way cannot touch the appliance any more.
        """
        if self._closing:
            return
        self._detach_device()
        self._set_available(False, "unreachable")
        _LOGGER.debug("Midea %s: %s", self.config.name, reason)
        self._start_reconnect()

    def _start_reconnect(self) -> None:
        if self._closing or (self._reconnect_task and not self._reconnect_task.done()):
            return
        assert self._loop is not None
        self._reconnect_task = self._loop.create_task(
            self._async_reconnect(), name=f"midea {self.config.appliance_id} reconnect"
        )

    async def _async_reconnect(self) -> None:
        """Drop midea-local's thread (its back-off grows to 600 s) and probe until it answers."""
        await self._async_drop_device()
        attempt = 0
        while not self._closing:
            if await self._async_try_connect():
                return
            refused = self.last_error in ("wrong_token", "wrong_key")
            await asyncio.sleep(
                self.auth_retry_interval if refused else self.reconnect_backoff.delay(attempt)
            )
            attempt += 1

    def _detach_device(self) -> None:
        """Forget the current midea-local device (its frames are ignored from now on)."""
        device, self._device = self._device, None
        if device is not None:
            if self._device_callback is not None:
                device.unregister_update(self._device_callback)
            self._device_callback = None
            self._detached.append(device)

    async def _async_drop_device(self) -> None:
        """Detach the current device and stop every detached device's thread (executor)."""
        self._detach_device()
        loop = asyncio.get_running_loop()
        while self._detached:
            device = self._detached[0]
            await loop.run_in_executor(None, _stop_device, device)
            if device in self._detached:
                self._detached.remove(device)

    async def async_refresh(self) -> None:
        """Ask for the status and wait for the reply (a safety poll; pushes need none).

        An appliance that stays silent is marked unavailable and reconnected, rather than
        waiting the library's 120 s of silence. Raises nothing.
        """
        if not self.available or self._device is None:
            return
        try:
            await self._async_send_and_wait(self._device.refresh_status)
        except CommandFailed as err:
            self._connection_lost(f"no reply to a status query: {err}")

    async def async_set(self, attribute: str, value: Any) -> None:
        """Set one midea-local attribute (``target_humidity``, ``mode``, ...) and await the reply.

        Raises :class:`CommandFailed` when the appliance is unavailable or does not answer.
        """
        await self._async_command(lambda device: device.set_attribute(attribute, value))

    async def async_reset_filter(self) -> None:
        """Reset the dehumidifier's filter-cleaning reminder; raises :class:`CommandFailed`."""
        await self._async_command(lambda device: device.reset_filter())

    async def _async_command(self, send: Callable[[Any], None]) -> None:
        async with self._command_lock:
            device = self._device
            if not self.available or device is None:
                raise CommandFailed(f"{self.config.name} is unavailable")
            await self._async_send_and_wait(lambda: send(device))

    async def _async_send_and_wait(self, send: Callable[[], None]) -> None:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append(waiter)
        try:
            await loop.run_in_executor(None, send)
            await asyncio.wait_for(asyncio.shield(waiter), self.reply_timeout)
        except (MideaLocalError, OSError) as err:
            raise CommandFailed(str(err) or type(err).__name__) from err
        except TimeoutError as err:
            raise CommandFailed("no reply") from err
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    async def async_stop(self) -> None:
        """Stop the thread and the reconnection loop; release the socket (waits for both)."""
        self._closing = True
        task, self._reconnect_task = self._reconnect_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._async_drop_device()
        for waiter in self._waiters:
            waiter.cancel()
        self._waiters.clear()


def _stop_device(device: Any) -> None:
    """Stop a midea-local device thread and wait for it (executor).

    ``MideaDevice.close()`` races with the thread's own ``close_socket()`` and can raise
    ``AttributeError`` (§7). Instead: clear the run flag, shut the socket down so the thread's
    blocking ``recv`` returns at once, let the thread close its own socket, and join it.
    """
    device._is_run = False
    sock: socket.socket | None = device._socket
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    if device.is_alive():
        device.join(JOIN_TIMEOUT)
    else:
        with contextlib.suppress(OSError, AttributeError):
            device.close_socket()
