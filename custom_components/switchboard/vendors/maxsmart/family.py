"""The MaxSmart family: one config entry and one coordinator per strip or plug.

Facts: ``docs/protocols/maxsmart.md``. The strip is polled over HTTP (cmd 511) every 5 s,
every 2 s for 4 polls after a command. Its identity (serial, MAC, firmware, port names) comes
from a unicast UDP discovery datagram. Energy is integrated from the polled power and stored,
and the device's own hourly/daily/monthly history is imported into long-term statistics
(``statistics.py``).

Outlets are entities of one device, not child devices: a strip is one network endpoint with
one MAC and one firmware, its port names live on the strip itself, and Home Assistant already
lets an entity sit in another area than its device.
"""

from collections.abc import Iterable
from datetime import timedelta
from typing import override

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import (
    CONF_HOST,
    CONF_PORT,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from ...coordinator import (
    PollingSettings,
    SwitchboardCoordinator,
)
from ...descriptions import (
    SwitchboardEntityDescription,
)
from ...family import Family, FamilyRuntime
from ...model import (
    DeviceState,
)
from .client import (
    MaxSmartClient,
)
from .const import FAMILY_KEY
from .discovery import async_start_background_discovery
from .entities import describe_device
from .source import MaxSmartSource
from .statistics import async_setup_statistics_import


class MaxSmartRuntime(FamilyRuntime):
    """One strip: its coordinator and its entity descriptions."""

    @override
    def describe(self, state: DeviceState) -> Iterable[SwitchboardEntityDescription]:
        """The entities of ``entities.py`` this strip has."""
        return describe_device(state)


class MaxSmartFamily(Family):
    """MaxSmart / Revogi strips and plugs: local HTTP, UDP discovery, no authentication."""

    key = FAMILY_KEY
    polling = PollingSettings(
        normal=timedelta(seconds=5), burst=timedelta(seconds=2), burst_cycles=4
    )

    @override
    async def async_setup(self, hass: HomeAssistant) -> None:
        """Start background discovery every 15 minutes (new strips, changed addresses)."""
        async_start_background_discovery(hass)

    @override
    async def async_setup_entry(self, hass: HomeAssistant, entry: ConfigEntry) -> FamilyRuntime:
        """Create the client and coordinator, refresh once, and schedule statistics import."""
        client = MaxSmartClient(
            async_get_clientsession(hass),
            entry.data[CONF_HOST],
            entry.data.get(CONF_PORT, 80),
        )
        source = MaxSmartSource(hass, entry, client)
        coordinator = SwitchboardCoordinator(
            hass,
            entry,
            source=source,
            polling=self.polling.with_options(entry.options),
            name=f"MaxSmart {entry.title}",
        )
        await coordinator.async_config_entry_first_refresh()
        runtime = MaxSmartRuntime(self)
        runtime.async_add_coordinator(source.serial, coordinator)
        async_setup_statistics_import(hass, entry, source)
        return runtime
