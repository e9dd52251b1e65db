"""Set-up of a SEPL platform connector entry: the connector, its diagnostic sensor, diagnostics.

``__init__.py``, ``sensor.py`` and ``diagnostics.py`` hand connector entries
(``is_connector_entry``) to the functions here; family entries never reach them.
"""

from datetime import timedelta
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.components.sensor import SensorDeviceClass, SensorEntity
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_PASSWORD, EntityCategory, Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect, async_dispatcher_send
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.event import async_track_time_interval

from ...const import DOMAIN
from .client import ConnectionState
from .connector import SIGNAL_UPDATED, SeplConfigEntry, SeplConnector

PLATFORMS = [Platform.SENSOR]
COUNTER_INTERVAL = timedelta(seconds=30)
"""How often the diagnostic sensor's counters are refreshed (its state changes at once)."""
TO_REDACT = frozenset({CONF_PASSWORD})


async def async_setup_connector_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Start the connector of ``entry`` (in the background) and its diagnostic sensor."""
    connector = SeplConnector(hass, entry)
    entry.runtime_data = connector
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    await connector.async_start()

    @callback
    def tick(_now: Any) -> None:
        async_dispatcher_send(hass, SIGNAL_UPDATED.format(entry.entry_id))

    entry.async_on_unload(async_track_time_interval(hass, tick, COUNTER_INTERVAL))
    return True


async def async_unload_connector_entry(hass: HomeAssistant, entry: SeplConfigEntry) -> bool:
    """Stop the connector and unload its sensor."""
    if unloaded := await hass.config_entries.async_unload_platforms(entry, PLATFORMS):
        await entry.runtime_data.async_stop()
    return unloaded


async def async_setup_connector_sensors(
    entry: SeplConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Add the connection sensor of a connector entry."""
    async_add_entities([SeplConnectionSensor(entry)])


def connector_diagnostics(entry: SeplConfigEntry) -> dict[str, Any]:
    """The entry (password redacted) and the connector's state, counters and devices."""
    return async_redact_data(
        {
            "entry": {
                "title": entry.title,
                "data": dict(entry.data),
                "options": dict(entry.options),
            },
            "connector": entry.runtime_data.diagnostics(),
        },
        TO_REDACT,
    )


class SeplConnectionSensor(SensorEntity):
    """Connection state of the connector; its counters as attributes (diagnostic)."""

    _attr_has_entity_name = True
    _attr_translation_key = "sepl_connection"
    _attr_device_class = SensorDeviceClass.ENUM
    _attr_options = [state.value for state in ConnectionState]
    _attr_entity_category = EntityCategory.DIAGNOSTIC
    _attr_should_poll = False

    def __init__(self, entry: SeplConfigEntry) -> None:
        """One per connector entry, on a service device named after the entry."""
        self._entry = entry
        self._attr_unique_id = f"{entry.entry_id}_sepl_connection"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, f"sepl_{entry.entry_id}")},
            name=entry.title,
            entry_type=DeviceEntryType.SERVICE,
            manufacturer="SEPL platform connector",
        )

    async def async_added_to_hass(self) -> None:
        """Follow the connector's updates."""
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass, SIGNAL_UPDATED.format(self._entry.entry_id), self.async_write_ha_state
            )
        )

    @property
    def native_value(self) -> str:
        """``ready``, ``synchronising``, ``connecting``, ``disconnected``, ..."""
        return self._entry.runtime_data.state.value

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Devices exposed and synced, commands, events, errors, refused devices."""
        return self._entry.runtime_data.counters()
