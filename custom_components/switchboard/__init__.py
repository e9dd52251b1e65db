"""Switchboard: MaxSmart, Meross, INDI and more behind one config flow.

This module only sets config entries up and down; each entry runs the coordinators of the
family (vendor package) it was created for, see ``family.py``.
"""

import logging

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryError, HomeAssistantError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.device_registry import DeviceEntry
from homeassistant.helpers.typing import ConfigType

from .const import CONF_FAMILY, DOMAIN
from .data import SwitchboardConfigEntry, SwitchboardRuntimeData
from .descriptions import PLATFORMS
from .entity import async_track_devices
from .export.mqtt.bridge import BridgeSettings, MqttBridge
from .export.sepl.const import is_connector_entry
from .export.sepl.entry import async_setup_connector_entry, async_unload_connector_entry
from .families import FAMILIES
from .repairs import async_wait_for_mqtt
from .services import async_setup_services

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)

_LOGGER = logging.getLogger(__name__)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the services and start each family's integration-wide work (discovery)."""
    async_setup_services(hass)
    for family in FAMILIES.values():
        await family.async_setup(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: SwitchboardConfigEntry) -> bool:
    """Run the entry's family: client, coordinators (first refresh), then the platforms.

    A SEPL platform connector entry runs its connector instead (``export/sepl/``).
    """
    if is_connector_entry(entry.data):
        return await async_setup_connector_entry(hass, entry)
    family = FAMILIES.get(entry.data.get(CONF_FAMILY, ""))
    if family is None:
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="unknown_family",
            translation_placeholders={"family": str(entry.data.get(CONF_FAMILY))},
        )
    runtime = await family.async_setup_entry(hass, entry)
    entry.runtime_data = SwitchboardRuntimeData(
        runtime=runtime,
        exporters=(MqttBridge(hass, entry, runtime, BridgeSettings.from_options(entry.options)),),
    )
    async_track_devices(hass, entry)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    for exporter in entry.runtime_data.exporters:
        if not exporter.enabled:
            continue
        try:
            await exporter.async_start()
        except HomeAssistantError as err:
            # Exporters are optional: without Home Assistant's mqtt the devices still work.
            _LOGGER.warning("%s of %s not started: %s", exporter.key, entry.title, err)
            if err.translation_key == "mqtt_not_available":
                # A repair issue until MQTT is set up; the exporter starts then.
                async_wait_for_mqtt(hass, entry, exporter.async_start)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: SwitchboardConfigEntry) -> bool:
    """Unload the platforms, then stop the exporters and every coordinator of the entry."""
    if is_connector_entry(entry.data):
        return await async_unload_connector_entry(hass, entry)  # type: ignore[arg-type]
    if unloaded := await hass.config_entries.async_unload_platforms(entry, PLATFORMS):
        for exporter in entry.runtime_data.exporters:
            await exporter.async_stop()
        await entry.runtime_data.runtime.async_shutdown()
    return unloaded


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: ConfigEntry, device_entry: DeviceEntry
) -> bool:
    """Let the user delete a device only once the entry no longer reports it (stale device).

    Used where the family cannot know a device is gone for good (an INDI device deleted by its
    server comes back with a driver restart); Meross and Midea accounts remove departed devices
    themselves (``entity.async_remove_stale_devices``). Refuses a device some coordinator still
    has, as core integrations do.
    """
    data = getattr(entry, "runtime_data", None)
    if is_connector_entry(entry.data):
        return True  # its only device is the connector's own service device
    known = data.runtime.devices() if data is not None else {}
    return not any(
        domain == DOMAIN and identifier in known for domain, identifier in device_entry.identifiers
    )
