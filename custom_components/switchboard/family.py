"""What a device family (vendor package) supplies, and what one config entry runs.

Adding a family means adding a package under ``vendors/`` that provides

* a :class:`Family` (its key, default :class:`PollingSettings`, options, diagnostics redaction,
  optional integration-wide work such as background discovery, and ``async_setup_entry``),
* a :class:`FamilyRuntime` subclass (its coordinators, and ``describe`` turning a
  :class:`DeviceState` into entity descriptions),
* a config-flow mixin whose ``async_step_<key>`` is the menu entry,

then listing the family in ``families.py`` and the mixin in ``config_flow.py``. Platforms,
diagnostics, services and the MQTT bridge work from the common model and need no change.
"""

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
import probatio

from .coordinator import PollingSettings, SwitchboardCoordinator
from .descriptions import SwitchboardEntityDescription
from .model import DeviceState


class FamilyRuntime(ABC):
    """Everything one config entry runs: its coordinators and how its devices look as entities.

    Held by ``entry.runtime_data.runtime`` (see ``data.py``). Coordinators may be added at any
    time (a new device on a cloud account); platforms subscribe with
    :meth:`async_listen_coordinators` and add entities for them without a reload.
    """

    def __init__(self, family: Family) -> None:
        """Start with no coordinators."""
        self.family = family
        self.coordinators: dict[str, SwitchboardCoordinator] = {}
        self._listeners: list[Callable[[SwitchboardCoordinator], None]] = []

    @abstractmethod
    def describe(self, state: DeviceState) -> Iterable[SwitchboardEntityDescription]:
        """Return the entity descriptions of one device, for every platform.

        Called again whenever the coordinator's ``structure_version`` changes, so a family may
        describe attributes that appear later (INDI ``defXXXVector``); descriptions that are no
        longer returned have their entities removed.
        """

    @callback
    def async_add_coordinator(self, key: str, coordinator: SwitchboardCoordinator) -> None:
        """Register a coordinator under ``key`` and announce it to the platforms."""
        self.coordinators[key] = coordinator
        for listener in list(self._listeners):
            listener(coordinator)

    @callback
    def async_listen_coordinators(
        self, listener: Callable[[SwitchboardCoordinator], None]
    ) -> CALLBACK_TYPE:
        """Call ``listener`` for every coordinator, now and when one is added later."""
        self._listeners.append(listener)
        for coordinator in list(self.coordinators.values()):
            listener(coordinator)

        @callback
        def unsubscribe() -> None:
            self._listeners.remove(listener)

        return unsubscribe

    def coordinator_for_device(self, device_id: str) -> SwitchboardCoordinator | None:
        """Return the coordinator whose data holds ``device_id``."""
        for coordinator in self.coordinators.values():
            if coordinator.data and device_id in coordinator.data:
                return coordinator
        return None

    def devices(self) -> dict[str, tuple[SwitchboardCoordinator, DeviceState]]:
        """Return every device of the entry with its coordinator, by device id."""
        return {
            device_id: (coordinator, state)
            for coordinator in self.coordinators.values()
            for device_id, state in (coordinator.data or {}).items()
        }

    def diagnostics(self) -> dict[str, Any]:
        """Return family-specific diagnostics (redacted by the caller with ``Family.redact``)."""
        return {}

    def device_diagnostics(self, device_id: str) -> dict[str, Any]:
        """Return what the family keeps about one device, for its diagnostics download.

        Redacted by the caller like ``diagnostics``.
        """
        return {}

    async def async_shutdown(self) -> None:
        """Stop coordinators and release every connection of the entry."""
        for coordinator in self.coordinators.values():
            await coordinator.async_shutdown()
            await coordinator.source.async_shutdown()


class Family(ABC):
    """A device family: how config entries of this vendor are set up and configured."""

    key: ClassVar[str]
    """Menu key, ``entry.data["family"]`` and translation prefix (e.g. ``"maxsmart"``)."""

    polling: ClassVar[PollingSettings]
    """Default polling; users override normal/burst intervals and cycles in the options."""

    redact: ClassVar[frozenset[str]] = frozenset()
    """Keys redacted from diagnostics (credentials, keys, tokens)."""

    bursts: ClassVar[bool] = True
    """Whether fast polls after a command apply; False for push-only families (INDI), whose
    options then leave out the burst settings."""

    async def async_setup(self, hass: HomeAssistant) -> None:
        """Do integration-wide work once (for example background discovery)."""

    @abstractmethod
    async def async_setup_entry(self, hass: HomeAssistant, entry: ConfigEntry) -> FamilyRuntime:
        """Create the entry's client and coordinators and run their first refresh.

        Raise ``ConfigEntryNotReady`` / ``ConfigEntryAuthFailed`` / ``ConfigEntryError`` (with
        translation keys) when that fails.
        """

    def options_schema(self, entry: ConfigEntry) -> Mapping[probatio.Marker, Any]:
        """Return options fields beyond the polling settings (default: none)."""
        return {}
