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

from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import (
    CONF_HOST,
    CONF_PORT,
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfEnergy,
    UnitOfPower,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from ...coordinator import (
    PollingSettings,
    SwitchboardCoordinator,
)
from ...descriptions import (
    ActionCall,
    SwitchboardEntityDescription,
    SwitchboardSensorDescription,
    SwitchboardSwitchDescription,
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
from .source import MaxSmartSource, port_key
from .statistics import async_setup_statistics_import


class MaxSmartRuntime(FamilyRuntime):
    """One strip: its coordinator and its entity descriptions."""

    @override
    def describe(self, state: DeviceState) -> Iterable[SwitchboardEntityDescription]:
        """Switch, power, current and energy per port; master switch and totals per strip."""
        ports = sorted(
            int(key.split("_")[1])
            for key in state.attributes
            if key.startswith("port_") and key.endswith("_on")
        )
        if len(ports) > 1:
            yield SwitchboardSwitchDescription(
                key="all_ports",
                translation_key="all_ports",
                attribute="all_on",
                turn_on=ActionCall("turn_on", {"port": 0}),
                turn_off=ActionCall("turn_off", {"port": 0}),
            )
        yield SwitchboardSensorDescription(
            key="power",
            translation_key="total_power",
            attribute="power",
            device_class=SensorDeviceClass.POWER,
            state_class=SensorStateClass.MEASUREMENT,
            native_unit_of_measurement=UnitOfPower.WATT,
        )
        yield SwitchboardSensorDescription(
            key="energy",
            translation_key="total_energy",
            attribute="energy",
            device_class=SensorDeviceClass.ENERGY,
            state_class=SensorStateClass.TOTAL_INCREASING,
            native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
            suggested_display_precision=3,
        )
        for port in ports:
            placeholders = {"port": str(port)}
            # A port's sensors are named after the port ("Monitor power"), as its switch is.
            default_name = {"port": f"Port {port}"}
            name_placeholders = (("port", port_key(port, "name")),)
            yield SwitchboardSwitchDescription(
                key=f"port_{port}",
                translation_key="port",
                translation_placeholders=placeholders,
                attribute=port_key(port, "on"),
                name_attribute=port_key(port, "name"),
                turn_on=ActionCall("turn_on", {"port": port}),
                turn_off=ActionCall("turn_off", {"port": port}),
                rename=ActionCall("rename_port", {"port": port}),
            )
            yield SwitchboardSensorDescription(
                key=f"port_{port}_power",
                translation_key="port_power",
                translation_placeholders=default_name,
                name_placeholders=name_placeholders,
                attribute=port_key(port, "power"),
                device_class=SensorDeviceClass.POWER,
                state_class=SensorStateClass.MEASUREMENT,
                native_unit_of_measurement=UnitOfPower.WATT,
            )
            yield SwitchboardSensorDescription(
                key=f"port_{port}_energy",
                translation_key="port_energy",
                translation_placeholders=default_name,
                name_placeholders=name_placeholders,
                attribute=port_key(port, "energy"),
                device_class=SensorDeviceClass.ENERGY,
                state_class=SensorStateClass.TOTAL_INCREASING,
                native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
                suggested_display_precision=3,
            )
            yield SwitchboardSensorDescription(
                key=f"port_{port}_current",
                translation_key="port_current",
                translation_placeholders=default_name,
                name_placeholders=name_placeholders,
                attribute=port_key(port, "current"),
                device_class=SensorDeviceClass.CURRENT,
                state_class=SensorStateClass.MEASUREMENT,
                native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
                entity_category=EntityCategory.DIAGNOSTIC,
                entity_registry_enabled_default=False,
            )


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
