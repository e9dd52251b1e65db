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
  changed; it goes through ``async_set_updated_data``, which also resets the poll timer. While
  :meth:`SwitchboardCoordinator.async_set_push_healthy` says the channel is up, the coordinator
  polls only every ``PollingSettings.push`` (a slow safety net, or never when ``None``); when it
  drops, normal polling resumes at once.
* **Errors.** Sources raise the errors of :mod:`.model`; polls turn them into ``UpdateFailed`` /
  ``ConfigEntryAuthFailed`` (entities go unavailable, Home Assistant logs once and once more on
  recovery), commands into translated ``HomeAssistantError`` / ``ServiceValidationError``.
"""

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
import logging
from typing import Any, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    HomeAssistantError,
    ServiceValidationError,
)
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
import probatio

from .const import CONF_BURST_CYCLES, CONF_BURST_INTERVAL, CONF_SCAN_INTERVAL, DOMAIN
from .model import (
    ActionSpec,
    CommandRejectedError,
    DeviceAuthError,
    DeviceConnectionError,
    DeviceRateLimitError,
    DeviceResponseError,
    DeviceState,
    SwitchboardError,
)

_LOGGER = logging.getLogger(__name__)

type SwitchboardData = dict[str, DeviceState]


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
    """

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
        self.polling = polling
        self.burst_remaining = 0
        self.push_healthy = False
        self.structure_version = 0
        """Bumped whenever the set of devices or of their attribute keys changes."""

    @property
    def base_interval(self) -> timedelta | None:
        """The interval outside a burst: slow while push is healthy, normal otherwise."""
        return self.polling.push if self.push_healthy else self.polling.normal

    @override
    async def _async_setup(self) -> None:
        """Run the source's one-time setup, mapping its errors like a poll."""
        async with _poll_errors():
            await self.source.async_setup()

    @override
    async def _async_update_data(self) -> SwitchboardData:
        """Poll the source; count down a running burst."""
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
    def async_push_devices(self, states: Mapping[str, DeviceState]) -> None:
        """Replace or add whole device states (for example a command's reply)."""
        self.async_set_updated_data({**(self.data or {}), **states})

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

    def actions(self, device_id: str) -> Mapping[str, ActionSpec]:
        """Return the allow-list of actions of ``device_id``."""
        return self.source.actions(device_id)

    async def async_execute(
        self, device_id: str, action: str, args: Mapping[str, Any] | None = None
    ) -> DeviceState:
        """Run an allow-listed action and return the device's state afterwards.

        Raises ``ServiceValidationError`` (unknown device or action, invalid arguments) and
        ``HomeAssistantError`` (device unavailable, unreachable, or rejected the command), all
        translated. Starts a polling burst.
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
        except probatio.Invalid as err:
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
        async with _command_errors(state.descriptor.name):
            reply = await self.source.async_execute(device_id, action, validated)
            if reply is None:
                reply = await self.source.async_fetch()
        self.burst_remaining = self.polling.burst_cycles
        if self.polling.burst_cycles > 0:
            self.update_interval = self.polling.burst
        self.async_set_updated_data({**(self.data or {}), **reply})
        return self.data[device_id]

    @callback
    def _note_changes(self, new: SwitchboardData) -> None:
        """Track structure and availability changes between old and new data.

        Bumps ``structure_version`` on new/removed devices or attribute keys, and logs each
        device's availability change once each way.
        """
        old = self.data or {}
        if old.keys() != new.keys() or any(
            old[key].attributes.keys() != state.attributes.keys()
            for key, state in new.items()
            if key in old
        ):
            self.structure_version += 1
        for key, state in new.items():
            previous = old.get(key)
            if previous is None or previous.available == state.available:
                continue
            if state.available:
                _LOGGER.info("%s is available again", state.descriptor.name)
            else:
                _LOGGER.info("%s is unavailable", state.descriptor.name)


@asynccontextmanager
async def _poll_errors() -> AsyncIterator[None]:
    """Map family errors raised during a poll to Home Assistant's coordinator errors."""
    try:
        yield
    except DeviceAuthError as err:
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN, translation_key="auth_failed"
        ) from err
    except DeviceRateLimitError as err:
        raise UpdateFailed(
            translation_domain=DOMAIN,
            translation_key="rate_limited",
            retry_after=err.retry_after,
        ) from err
    except DeviceConnectionError as err:
        raise UpdateFailed(
            translation_domain=DOMAIN,
            translation_key="cannot_connect",
            translation_placeholders={"error": str(err)},
        ) from err
    except (DeviceResponseError, CommandRejectedError, SwitchboardError) as err:
        raise UpdateFailed(
            translation_domain=DOMAIN,
            translation_key="invalid_response",
            translation_placeholders={"error": str(err)},
        ) from err


@asynccontextmanager
async def _command_errors(device: str) -> AsyncIterator[None]:
    """Map family errors raised by a command to translated ``HomeAssistantError``s."""
    try:
        yield
    except CommandRejectedError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key=err.translation_key,
            translation_placeholders={"device": device, "error": str(err), **err.placeholders},
        ) from err
    except DeviceAuthError as err:
        raise HomeAssistantError(translation_domain=DOMAIN, translation_key="auth_failed") from err
    except DeviceRateLimitError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="rate_limited_command",
            translation_placeholders={"device": device, "retry_after": f"{err.retry_after:.0f}"},
        ) from err
    except SwitchboardError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="command_failed",
            translation_placeholders={"device": device, "error": str(err)},
        ) from err
