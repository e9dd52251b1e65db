"""The Midea / Comfee family: one config entry per account (or per appliance), one coordinator.

Facts: ``docs/protocols/midea.md``. Appliances are reached on the LAN (V2, or V3 with a token and
key) through midea-local 12.2.0, wrapped so that nothing blocks the event loop
(``client.py``). Their own frames are pushed into the coordinator; the coordinator polls every
60 s as a safety net, and every 2 s for 3 polls after a command. An account entry asks the cloud
every 30 minutes for appliances added to or removed from the account (``cloud.py``) and follows
them without a reload. Background discovery every 15 minutes updates an appliance's address
(``discovery.py``). When Home Assistant stops, the appliances' threads and connections are
stopped (it does not unload entries then).
"""

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.selector import (
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
import probatio

from ...coordinator import PollingSettings, SwitchboardCoordinator
from ...descriptions import SwitchboardEntityDescription
from ...family import Family, FamilyRuntime
from ...model import DeviceState
from .client import ApplianceConfig
from .cloud import async_refresh_account
from .const import CLOUD_REFRESH_MINUTES, CONF_ACCOUNT, CONF_APPLIANCES, CONF_FOLLOW, FAMILY_KEY
from .discovery import async_start_background_discovery
from .entities import describe
from .source import MideaSource


def entry_appliances(entry: ConfigEntry) -> dict[str, ApplianceConfig]:
    """The appliances an entry follows (all of them unless the options name some)."""
    configs = {
        appliance_id: ApplianceConfig.from_dict(data)
        for appliance_id, data in entry.data.get(CONF_APPLIANCES, {}).items()
    }
    follow = entry.options.get(CONF_FOLLOW)
    if follow is None:
        return configs
    return {key: value for key, value in configs.items() if key in follow}


class MideaRuntime(FamilyRuntime):
    """One entry: its coordinator and source, registered when the runtime is built."""

    def __init__(
        self, family: Family, coordinator: SwitchboardCoordinator, source: MideaSource
    ) -> None:
        """Hold the entry's coordinator (key ``appliances``) and its source."""
        super().__init__(family)
        self.source = source
        self.coordinator = coordinator
        self.async_add_coordinator("appliances", coordinator)

    @override
    def describe(self, state: DeviceState) -> Iterable[SwitchboardEntityDescription]:
        """The appliance's entities (``entities.py``)."""
        return describe(state)

    @override
    def diagnostics(self) -> dict[str, Any]:
        """Per appliance: configuration (redacted by the caller), availability, raw attributes."""
        return {"appliances": self.source.diagnostics()}

    @override
    def device_diagnostics(self, device_id: str) -> dict[str, Any]:
        """One appliance's part of :meth:`diagnostics` (its device page's download)."""
        return {"appliance": self.source.diagnostics().get(device_id, {})}


class MideaFamily(Family):
    """Midea / Comfee dehumidifiers and air conditioners, local push through midea-local."""

    key = FAMILY_KEY
    polling = PollingSettings(
        normal=timedelta(seconds=60), burst=timedelta(seconds=2), burst_cycles=3
    )
    redact = frozenset(
        {"password", "token", "key", "mac", "serial", "serial_number", "sn", CONF_ACCOUNT}
    )

    @override
    async def async_setup(self, hass: HomeAssistant) -> None:
        """Start background discovery every 15 minutes (new appliances, changed addresses)."""
        async_start_background_discovery(hass)

    @override
    async def async_setup_entry(self, hass: HomeAssistant, entry: ConfigEntry) -> FamilyRuntime:
        """Connect every followed appliance and build the runtime."""
        source = MideaSource(hass, entry, entry_appliances(entry))
        coordinator = SwitchboardCoordinator(
            hass,
            entry,
            source=source,
            polling=self.polling.with_options(entry.options),
            name=f"Midea {entry.title}",
        )
        await coordinator.async_config_entry_first_refresh()
        runtime = MideaRuntime(self, coordinator, source)

        async def stop_appliances(_: Event) -> None:
            # Home Assistant does not unload entries when it stops: end the appliances'
            # midea-local threads and connections here (unloading stops them too).
            await source.async_shutdown()

        entry.async_on_unload(hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, stop_appliances))
        if CONF_ACCOUNT in entry.data:

            async def refresh(*_: object) -> None:
                await async_refresh_account(hass, entry, source)

            entry.async_create_background_task(hass, refresh(), f"midea {entry.title} account")
            entry.async_on_unload(
                async_track_time_interval(
                    hass, refresh, timedelta(minutes=CLOUD_REFRESH_MINUTES), cancel_on_shutdown=True
                )
            )
        return runtime

    @override
    def options_schema(self, entry: ConfigEntry) -> Mapping[probatio.Marker, Any]:
        """Which of the entry's appliances to follow."""
        appliances: dict[str, Any] = entry.data.get(CONF_APPLIANCES, {})
        if len(appliances) < 2:
            return {}
        options = [
            SelectOptionDict(value=appliance_id, label=str(data.get("name") or appliance_id))
            for appliance_id, data in appliances.items()
        ]
        return {
            probatio.Required(
                CONF_FOLLOW, default=list(entry.options.get(CONF_FOLLOW, appliances))
            ): SelectSelector(
                SelectSelectorConfig(options=options, multiple=True, mode=SelectSelectorMode.LIST)
            )
        }
