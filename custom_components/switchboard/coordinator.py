"""The coordinator every family feeds: normal and burst polling, a push entry point, commands.

Contract of :class:`SwitchboardCoordinator` (families and platforms rely on it):

* **Data** is ``dict[device_id, DeviceState]`` (see :mod:`.model`). It is created with
  ``always_update=False``: listeners hear about a poll only when a device really changed.
* **Polling.** ``PollingSettings.normal`` between polls (MaxSmart: 5 s). After any command the
  coordinator switches to ``PollingSettings.burst`` for ``burst_cycles`` polls (MaxSmart: 2 s
  for 4 cycles), then back to normal. Changing ``update_interval`` alone would not move the
  timer already scheduled, so a command always ends with ``async_set_updated_data``, which
  reschedules the timer at the burst interval.
* **Commands show at once.** :meth:`SwitchboardCoordinator.async_execute` validates the action
  against the device's allow-list, runs it, and then applies the command's own reply (when the
  source returns device states) or an immediate read (when it returns ``None``) before it
  returns. The UI never waits for the next poll to show what the user just did.
* **Push.** Families with a push channel call
  :meth:`SwitchboardCoordinator.async_push_devices` with the whole states of the devices that
  changed; it goes through ``async_set_updated_data``, which also re-arms the poll timer. While
  :meth:`SwitchboardCoordinator.async_set_push_healthy` says the channel is up, the coordinator
  polls only every ``PollingSettings.push`` (a slow safety net, or never when ``None``); when it
  drops, normal polling resumes at once.
* **Spread.** Home Assistant arms each poll at the previous poll's whole second plus the
  interval plus a random 0.05 to 0.5 s, so coordinators set up in the same second (every
  strip of a home at start) would poll in the same half second for as long as they run. At
  the normal interval (whole seconds) each coordinator has its own second of the interval,
  :func:`poll_phase` (from its name); until it polls on that second, each poll comes one
  second sooner than Home Assistant would arm it, so within ``interval - 1`` polls every
  coordinator is on its own second, and stays there. No poll ever comes later than with Home
  Assistant's own timing (docs/benchmarks.md, issue 13).
* **Targeted updates.** Every update records which attributes of which devices changed;
  listeners registered with a :class:`Interest` context (every Switchboard entity) are called
  only when one of their attributes, their device's availability or descriptor changed, or the
  coordinator's success changed. Listeners registered with the :data:`STRUCTURE` context (the
  platforms adding entities, the device registration) are called only when devices or
  attribute keys came or went. Listeners without a context (the exporters) hear every update,
  and before the entities, so an exporter hands a change on before Home Assistant writes the
  entity states. An INDI device pushing one vector of hundreds therefore wakes one entity, not
  all of them.
* **Errors.** Sources raise the errors of :mod:`.model`; polls turn them into ``UpdateFailed`` /
  ``ConfigEntryAuthFailed`` (entities go unavailable, Home Assistant logs once and once more on
  recovery), commands into translated ``HomeAssistantError`` / ``ServiceValidationError``.
"""

from abc import ABC, abstractmethod
import asyncio
from collections.abc import AsyncIterator, Collection, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
import logging
from typing import Any, Final, override
import zlib

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    ConfigEntryNotReady,
    HomeAssistantError,
    ServiceValidationError,
)
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .const import CONF_BURST_CYCLES, CONF_BURST_INTERVAL, CONF_SCAN_INTERVAL, DOMAIN
from .model import (
    ActionSpec,
    DeviceAuthError,
    DeviceConnectionError,
    DeviceRateLimitError,
    DeviceState,
    SwitchboardError,
)

_LOGGER = logging.getLogger(__name__)

type SwitchboardData = dict[str, DeviceState]

type Changes = dict[str, frozenset[str] | None]
"""Device id -> keys of the attributes that changed (``None``: the whole device changed)."""


STRUCTURE: Final = object()
"""Listener context: call this listener only when devices or attribute keys came or went
(``structure_version`` changed), or when an update could not be narrowed down."""


@dataclass(frozen=True, slots=True)
class Interest:
    """A listener context: the device and the attribute keys a listener shows.

    Passed as the ``context`` of ``async_add_listener`` (``CoordinatorEntity``'s
    ``coordinator_context``), it lets the coordinator skip the listener when an update touched
    none of ``keys`` of ``device_id``.
    """

    device_id: str
    keys: frozenset[str]


@dataclass(slots=True)
class _ListenerIndex:
    """Listeners of a coordinator: always called, by device, by (device, attribute key)."""

    version: tuple[int, int]
    always: list[tuple[int, CALLBACK_TYPE]] = field(default_factory=list)
    """Listeners without an ``Interest``, ``STRUCTURE`` ones included (registration order)."""
    every_update: list[tuple[int, CALLBACK_TYPE]] = field(default_factory=list)
    """``always`` without the ``STRUCTURE`` listeners."""
    by_device: dict[str, list[tuple[int, CALLBACK_TYPE]]] = field(default_factory=dict)
    by_key: dict[tuple[str, str], list[tuple[int, CALLBACK_TYPE]]] = field(default_factory=dict)


def diff_data(
    old: SwitchboardData,
    new: SwitchboardData,
    touched: Mapping[str, Collection[str]] | None = None,
) -> Changes:
    """What changed from ``old`` to ``new`` (devices that are absent on one side: ``None``).

    ``touched`` limits the comparison of a device's attributes to the keys it names: the
    caller vouches that no other key changed, came or went. Descriptors and attribute objects
    are compared by identity first: a family that reuses unchanged :class:`DeviceDescriptor`
    and :class:`Attribute` objects pays a pointer comparison each.
    """
    changes: Changes = {}
    for device_id in old.keys() - new.keys():
        changes[device_id] = None
    for device_id, state in new.items():
        previous = old.get(device_id)
        if previous is state:
            continue
        if (
            previous is None
            or previous.available != state.available
            or (
                previous.descriptor is not state.descriptor
                and previous.descriptor != state.descriptor
            )
        ):
            changes[device_id] = None
            continue
        before, after = previous.attributes, state.attributes
        candidates = touched.get(device_id) if touched is not None else None
        keys = {
            key
            for key in (after.keys() if candidates is None else candidates)
            if (value := after.get(key)) is not (other := before.get(key)) and value != other
        }
        if candidates is None and before.keys() != after.keys():
            keys.update(before.keys() ^ after.keys())
        if keys:
            changes[device_id] = frozenset(keys)
    return changes


@dataclass(frozen=True, slots=True, kw_only=True)
class PollingSettings:
    """Polling intervals of a coordinator.

    ``normal``: between polls; ``burst``: between polls for ``burst_cycles`` polls after a
    command; ``push``: between polls while a push channel is healthy (``None``: do not poll).
    """

    normal: timedelta
    burst: timedelta
    burst_cycles: int
    push: timedelta | None = None

    def with_options(self, options: Mapping[str, Any]) -> PollingSettings:
        """Return these settings overridden by a config entry's options (seconds, cycles)."""
        return PollingSettings(
            normal=timedelta(seconds=options.get(CONF_SCAN_INTERVAL, self.normal.total_seconds())),
            burst=timedelta(seconds=options.get(CONF_BURST_INTERVAL, self.burst.total_seconds())),
            burst_cycles=int(options.get(CONF_BURST_CYCLES, self.burst_cycles)),
            push=self.push,
        )


class DeviceSource(ABC):
    """One vendor connection that a coordinator polls and sends commands through.

    A family implements this over its client. ``async_fetch`` returns every device the source
    serves; ``async_execute`` runs an allow-listed action (arguments already validated against
    its :class:`ActionSpec`) and returns the states the device reported in its reply, or
    ``None`` to ask the coordinator for an immediate read. Both raise the errors of
    :mod:`.model`.

    A source belongs to exactly one coordinator, which binds itself in its constructor:
    ``coordinator`` is that coordinator (``None`` only before it exists), so a source whose
    device pushes hands its states to ``self.coordinator.async_push_devices``.
    """

    coordinator: SwitchboardCoordinator | None = None

    async def async_setup(self) -> None:
        """Do one-time work before the first poll (connect, read identifiers)."""

    @abstractmethod
    async def async_fetch(self) -> SwitchboardData:
        """Read every device this source serves."""

    @abstractmethod
    def actions(self, device_id: str) -> Mapping[str, ActionSpec]:
        """Return the allow-list of actions device ``device_id`` accepts."""

    @abstractmethod
    async def async_execute(
        self, device_id: str, action: str, args: Mapping[str, Any]
    ) -> SwitchboardData | None:
        """Run ``action`` with validated ``args``; return the reply's states or ``None``."""

    async def async_shutdown(self) -> None:
        """Release connections; called when the config entry unloads."""


class SwitchboardCoordinator(DataUpdateCoordinator[SwitchboardData]):
    """Coordinator of one :class:`DeviceSource`; see the module docstring for its contract."""

    config_entry: ConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        config_entry: ConfigEntry,
        *,
        source: DeviceSource,
        polling: PollingSettings,
        name: str,
    ) -> None:
        """Create a coordinator that polls ``source`` with ``polling``."""
        super().__init__(
            hass,
            _LOGGER,
            config_entry=config_entry,
            name=name,
            update_interval=polling.normal,
            always_update=False,
        )
        self.source = source
        source.coordinator = self
        self.polling = polling
        self.burst_remaining = 0
        self.push_healthy = False
        self.structure_version = 0
        self._command_locks: dict[str, asyncio.Lock] = {}
        """Bumped whenever the set of devices or of their attribute keys changes."""
        self._changes: tuple[SwitchboardData, Changes, bool] | None = None
        """The data an update brings, what it changed, whether its structure changed."""
        self._index: _ListenerIndex | None = None
        self._touched: Mapping[str, Collection[str]] | None = None

    @property
    def base_interval(self) -> timedelta | None:
        """The interval outside a burst: slow while push is healthy, normal otherwise."""
        return self.polling.push if self.push_healthy else self.polling.normal

    @override
    @callback
    def _schedule_refresh(self) -> None:
        """Arm the poll timer; at the normal interval, drifting to the coordinator's second.

        Home Assistant arms the timer at ``int(now) + fraction + delay``, ``delay`` being the
        interval or, once, ``_retry_after`` (a rate limit's wait, which stands). At the normal
        interval, while ``int(now) + interval`` is not the coordinator's :func:`poll_phase`
        second, the delay is one second shorter (see "Spread" in the module docstring).
        """
        interval = self._update_interval_seconds
        if (
            interval is not None
            and interval >= 2
            and interval.is_integer()
            and self._retry_after is None
            and self.update_interval == self.polling.normal
            and not self.config_entry.pref_disable_polling
        ):
            period = int(interval)
            second = int(self.hass.loop.time()) + period
            if second % period != poll_phase(self.name, period):
                self._retry_after = interval - 1
        super()._schedule_refresh()

    @override
    async def _async_setup(self) -> None:
        """Run the source's one-time setup, mapping its errors like a poll."""
        async with _poll_errors():
            await self.source.async_setup()

    @override
    async def _async_update_data(self) -> SwitchboardData:
        """Poll the source; count down a running burst.

        While Home Assistant stops, the last data stands and nothing is polled: the clients are
        closing, and shutting down is not an error worth logging (issue 12, item 11).
        """
        if self.hass.is_stopping and self.data is not None:
            return self.data
        self._changes = None
        if self.burst_remaining > 0:
            self.burst_remaining -= 1
            if self.burst_remaining == 0:
                self.update_interval = self.base_interval
        async with _poll_errors():
            data = await self.source.async_fetch()
        self._note_changes(data)
        return data

    @override
    @callback
    def async_set_updated_data(self, data: SwitchboardData) -> None:
        """Replace the data (push or command reply) and reset the poll timer."""
        self._note_changes(data)
        super().async_set_updated_data(data)

    @callback
    def async_push_devices(
        self,
        states: Mapping[str, DeviceState],
        *,
        touched: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        """Replace or add whole device states (for example a command's reply).

        ``touched`` (optional) names, per device, every attribute key this push may have
        changed, added or removed; the coordinator then compares only those to find what its
        listeners must hear. A family pushing one vector of hundreds passes its keys.
        """
        self._touched = touched
        try:
            self.async_set_updated_data({**(self.data or {}), **states})
        finally:
            self._touched = None

    @callback
    def async_remove_device(self, device_id: str) -> None:
        """Forget a device (it left the account or the server deleted it)."""
        if self.data and device_id in self.data:
            self.async_set_updated_data(
                {key: value for key, value in self.data.items() if key != device_id}
            )

    @callback
    def async_set_push_healthy(self, healthy: bool) -> None:
        """Tell the coordinator whether its push channel is up.

        Healthy: poll only every ``polling.push``. Not healthy: back to normal polling, with an
        immediate poll so the state is fresh while push is gone.
        """
        if healthy == self.push_healthy:
            return
        self.push_healthy = healthy
        if self.burst_remaining == 0:
            self.update_interval = self.base_interval
        if not healthy and self.config_entry.state.recoverable:
            self.config_entry.async_create_background_task(
                self.hass, self.async_request_refresh(), f"{self.name} poll after push loss"
            )

    @override
    @callback
    def async_update_listeners(self) -> None:
        """Call the listeners this update concerns (see "Targeted updates" above)."""
        pending, self._changes = self._changes, None
        if pending is None or pending[0] is not self.data or not self.last_update_success:
            super().async_update_listeners()
            return
        index = self._index
        version = (self._last_listener_id, len(self._listeners))
        if index is None or index.version != version:
            index = self._index = self._listener_index(version)
        selected: dict[int, CALLBACK_TYPE] = {}
        for device_id, keys in pending[1].items():
            if keys is None:
                selected.update(index.by_device.get(device_id, ()))
                continue
            for key in keys:
                selected.update(index.by_key.get((device_id, key), ()))
        # Whole-coordinator listeners (the exporters) first: they hand the change on to another
        # system and need not wait behind the entities' state writes.
        first = index.always if pending[2] else index.every_update
        callbacks = [update_callback for _, update_callback in first]
        callbacks.extend(selected[key] for key in sorted(selected))
        for update_callback in callbacks:
            try:
                update_callback()
            except Exception:
                self.logger.exception(
                    "Unexpected error updating listener %s for %s",
                    id(update_callback),
                    self.name,
                )

    def _listener_index(self, version: tuple[int, int]) -> _ListenerIndex:
        """The listeners by device and attribute key (rebuilt when listeners come or go)."""
        index = _ListenerIndex(version)
        for listener_id, (update_callback, context) in self._listeners.items():
            item = (listener_id, update_callback)
            if not isinstance(context, Interest):
                index.always.append(item)
                if context is not STRUCTURE:
                    index.every_update.append(item)
                continue
            index.by_device.setdefault(context.device_id, []).append(item)
            for key in context.keys:
                index.by_key.setdefault((context.device_id, key), []).append(item)
        return index

    def actions(self, device_id: str) -> Mapping[str, ActionSpec]:
        """Return the allow-list of actions of ``device_id``."""
        return self.source.actions(device_id)

    async def async_execute(
        self, device_id: str, action: str, args: Mapping[str, Any] | None = None
    ) -> DeviceState:
        """Run an allow-listed action and return the device's state afterwards.

        Raises ``ServiceValidationError`` (unknown device or action, invalid arguments) and
        ``HomeAssistantError`` (device unavailable, unreachable, or rejected the command), all
        translated (:func:`command_error`); an auth error also starts the reauth flow. Starts a
        polling burst. Commands to one device are serialised here, the one place every caller
        goes through, so the command platforms keep ``PARALLEL_UPDATES = 0`` (commands to
        different devices still run in parallel).
        """
        state = (self.data or {}).get(device_id)
        if state is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_device",
                translation_placeholders={"device": device_id},
            )
        spec = self.source.actions(device_id).get(action)
        if spec is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_action",
                translation_placeholders={
                    "action": action,
                    "device": state.descriptor.name,
                    "actions": ", ".join(sorted(self.source.actions(device_id))) or "-",
                },
            )
        try:
            validated = spec.schema(dict(args or {}))
        except Exception as err:
            # Any failure is invalid input: a validator may raise more than probatio.Invalid
            # (Coerce(float) raises OverflowError for a huge integer, deep nesting RecursionError).
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="invalid_action_args",
                translation_placeholders={"action": action, "error": str(err)},
            ) from err
        if not state.available or not self.last_update_success:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="device_unavailable",
                translation_placeholders={"device": state.descriptor.name},
            )
        # One command at a time per device, in arrival order (asyncio.Lock is FIFO), whoever
        # sends it: an entity, a service, the MQTT bridge or another exporter.
        async with self._command_locks.setdefault(device_id, asyncio.Lock()):
            try:
                reply = await self.source.async_execute(device_id, action, validated)
                if reply is None:
                    reply = await self.source.async_fetch()
            except SwitchboardError as err:
                if isinstance(err, DeviceAuthError):
                    # As during a poll: the user must re-authenticate.
                    self.config_entry.async_start_reauth(self.hass)
                raise command_error(err, state.descriptor.name) from err
            self.burst_remaining = self.polling.burst_cycles
            if self.polling.burst_cycles > 0:
                self.update_interval = self.polling.burst
            self.async_set_updated_data({**(self.data or {}), **reply})
        return self.data[device_id]

    @callback
    def _note_changes(self, new: SwitchboardData) -> None:
        """Track structure and availability changes between old and new data.

        Bumps ``structure_version`` on new/removed devices or attribute keys, logs each
        device's availability change once each way, and records what changed for
        :meth:`async_update_listeners` (everything, after a failed update).
        """
        old = self.data or {}
        changes = diff_data(old, new, self._touched)
        structure_changed = _structure_changed(old, new, changes)
        if structure_changed:
            self.structure_version += 1
        self._changes = (
            (new, changes, structure_changed) if self.last_update_success and self.data else None
        )
        for key, state in new.items():
            previous = old.get(key)
            if previous is None or previous.available == state.available:
                continue
            if state.available:
                _LOGGER.info("%s is available again", state.descriptor.name)
            else:
                _LOGGER.info("%s is unavailable", state.descriptor.name)


def poll_phase(name: str, period: int) -> int:
    """The whole second of a ``period``-second cycle on which coordinator ``name`` polls.

    0 to ``period`` - 1, in the event loop's clock: CRC-32 of the name, so the same every run
    and different between devices.
    """
    return zlib.crc32(name.encode()) % period


def _structure_changed(old: SwitchboardData, new: SwitchboardData, changes: Changes) -> bool:
    """Whether devices or attribute keys came or went between ``old`` and ``new``."""
    if old.keys() != new.keys():
        return True
    for device_id, keys in changes.items():
        before, after = old[device_id].attributes, new[device_id].attributes
        if keys is None:
            if before.keys() != after.keys():
                return True
        else:
            for key in keys:
                if (key in before) != (key in after):
                    return True
    return False


def poll_error(err: SwitchboardError) -> ConfigEntryAuthFailed | UpdateFailed:
    """The Home Assistant error for a family error raised while reading (poll, setup).

    ``DeviceAuthError`` -> ``ConfigEntryAuthFailed`` (``auth_failed``, starts reauth);
    ``DeviceRateLimitError`` -> ``UpdateFailed(retry_after=...)`` (``rate_limited``);
    ``DeviceConnectionError`` -> ``cannot_connect``; anything else -> ``invalid_response``.
    """
    if isinstance(err, DeviceAuthError):
        return ConfigEntryAuthFailed(translation_domain=DOMAIN, translation_key="auth_failed")
    if isinstance(err, DeviceRateLimitError):
        return UpdateFailed(
            translation_domain=DOMAIN, translation_key="rate_limited", retry_after=err.retry_after
        )
    key = "cannot_connect" if isinstance(err, DeviceConnectionError) else "invalid_response"
    return UpdateFailed(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={"error": str(err)},
    )


def setup_error(err: SwitchboardError) -> ConfigEntryAuthFailed | ConfigEntryNotReady:
    """The error a family's ``async_setup_entry`` raises for a family error (as a poll would).

    ``ConfigEntryAuthFailed`` stays; an ``UpdateFailed`` becomes ``ConfigEntryNotReady`` with
    the same translation (Home Assistant retries the setup).
    """
    mapped = poll_error(err)
    if isinstance(mapped, ConfigEntryAuthFailed):
        return mapped
    return ConfigEntryNotReady(
        translation_domain=DOMAIN,
        translation_key=mapped.translation_key,
        translation_placeholders=mapped.translation_placeholders,
    )


def command_error(err: SwitchboardError, device: str) -> HomeAssistantError:
    """The translated ``HomeAssistantError`` for a family error raised by a command.

    ``device`` is the device's name (placeholder ``device``). An error carrying its own
    ``translation_key`` (``CommandRejectedError``, or any family error given one) keeps it,
    with ``device``, ``error`` and its placeholders; otherwise: ``auth_failed``,
    ``rate_limited_command`` or ``command_failed``.
    """
    if err.translation_key is not None:
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key=err.translation_key,
            translation_placeholders={"device": device, "error": str(err), **err.placeholders},
        )
    if isinstance(err, DeviceAuthError):
        return HomeAssistantError(translation_domain=DOMAIN, translation_key="auth_failed")
    if isinstance(err, DeviceRateLimitError):
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="rate_limited_command",
            translation_placeholders={"device": device, "retry_after": f"{err.retry_after:.0f}"},
        )
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="command_failed",
        translation_placeholders={"device": device, "error": str(err)},
    )


@asynccontextmanager
async def _poll_errors() -> AsyncIterator[None]:
    """Map family errors raised during a poll with :func:`poll_error`."""
    try:
        yield
    except SwitchboardError as err:
        raise poll_error(err) from err
