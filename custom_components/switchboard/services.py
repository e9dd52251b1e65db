"""Services every family shares. Family-specific services live in their vendor package."""

from typing import Any

from homeassistant.const import ATTR_CONFIG_ENTRY_ID, Platform
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv, device_registry as dr, service
import probatio

from .const import DOMAIN
from .data import SwitchboardConfigEntry
from .export.mqtt.bridge import MqttBridge, bridged_devices
from .export.sepl.const import is_connector_entry

SERVICE_RENAME_PORT = "rename_port"

SERVICE_BRIDGE_START = "bridge_start"
SERVICE_BRIDGE_STOP = "bridge_stop"
SERVICE_BRIDGE_PUBLISH = "bridge_publish"
SERVICE_BRIDGE_SEND_COMMAND = "bridge_send_command"
ATTR_DEVICE_ID = "device_id"

BRIDGE_TARGET_SCHEMA = probatio.Schema({probatio.Optional(ATTR_CONFIG_ENTRY_ID): cv.string})
BRIDGE_COMMAND_SCHEMA = probatio.Schema(
    {
        probatio.Required(ATTR_DEVICE_ID): cv.string,
        probatio.Required("action"): cv.string,
        probatio.Optional("args", default=dict): dict,
        probatio.Optional("id"): probatio.Any(cv.string, int),
    }
)


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the shared services once, in ``async_setup``."""
    service.async_register_platform_entity_service(
        hass,
        DOMAIN,
        SERVICE_RENAME_PORT,
        entity_domain=Platform.SWITCH,
        schema={
            # Device limits (MaxSmart: 21 characters) are the family's rename action schema's.
            probatio.Required("name"): probatio.All(
                cv.string, probatio.Strip, probatio.Length(min=1)
            )
        },
        func="async_rename",
    )
    hass.services.async_register(
        DOMAIN, SERVICE_BRIDGE_START, _async_bridge_start, schema=BRIDGE_TARGET_SCHEMA
    )
    hass.services.async_register(
        DOMAIN, SERVICE_BRIDGE_STOP, _async_bridge_stop, schema=BRIDGE_TARGET_SCHEMA
    )
    hass.services.async_register(
        DOMAIN, SERVICE_BRIDGE_PUBLISH, _async_bridge_publish, schema=BRIDGE_TARGET_SCHEMA
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_BRIDGE_SEND_COMMAND,
        _async_bridge_send_command,
        schema=BRIDGE_COMMAND_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )


def _bridges(call: ServiceCall) -> list[MqttBridge]:
    """The bridges of ``config_entry_id``, or of every loaded Switchboard entry.

    Raises Home Assistant's translated ``ServiceValidationError`` for an unknown, foreign or
    not loaded entry.
    """
    hass = call.hass
    entries: list[SwitchboardConfigEntry]
    if (entry_id := call.data.get(ATTR_CONFIG_ENTRY_ID)) is not None:
        entries = [service.async_get_config_entry(hass, DOMAIN, entry_id)]
    else:
        entries = hass.config_entries.async_loaded_entries(DOMAIN)
    return [
        bridge
        for entry in entries
        if not is_connector_entry(entry.data)
        and (bridge := entry.runtime_data.exporter(MqttBridge))
    ]


async def _async_bridge_start(call: ServiceCall) -> None:
    """``switchboard.bridge_start``: start the bridges (until stopped or the entry reloads).

    Raises ``HomeAssistantError`` ``mqtt_not_available`` without Home Assistant's mqtt.
    """
    for bridge in _bridges(call):
        await bridge.async_start()


async def _async_bridge_stop(call: ServiceCall) -> None:
    """``switchboard.bridge_stop``: mark the devices offline and stop the bridges."""
    for bridge in _bridges(call):
        await bridge.async_stop()


async def _async_bridge_publish(call: ServiceCall) -> None:
    """``switchboard.bridge_publish``: republish every retained message now.

    Raises ``ServiceValidationError`` ``bridge_not_running`` when no targeted bridge runs.
    """
    bridges = [bridge for bridge in _bridges(call) if bridge.running]
    if not bridges:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="bridge_not_running"
        )
    for bridge in bridges:
        bridge.async_republish()
    for bridge in bridges:
        await bridge.async_wait_idle()


async def _async_bridge_send_command(call: ServiceCall) -> ServiceResponse:
    """``switchboard.bridge_send_command``: one bridge command, outcome as the response.

    ``device_id`` is the device registry id of a Switchboard device; ``action``, ``args``
    and ``id`` are the command topic's JSON. Works whether or not the bridge publishes. The
    outcome (see ``bridge.Outcome``) is returned when a response is asked for; without one,
    an error outcome raises ``ServiceValidationError`` (bad input) or ``HomeAssistantError``.
    """
    hass = call.hass
    device = dr.async_get(hass).async_get(call.data[ATTR_DEVICE_ID])
    identifiers = (
        [ident for domain, ident in device.identifiers if domain == DOMAIN] if device else []
    )
    devices = bridged_devices(_bridges(call))
    bridge = next((devices[ident] for ident in identifiers if ident in devices), None)
    if bridge is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_device",
            translation_placeholders={"device": str(call.data[ATTR_DEVICE_ID])},
        )
    device_id = next(ident for ident in identifiers if ident in devices)
    command: dict[str, Any] = {"action": call.data["action"], "args": call.data["args"]}
    if "id" in call.data:
        command["id"] = call.data["id"]
    outcome = await bridge.async_command(device_id, command)
    if not call.return_response and outcome["status"] != "ok":
        error = ServiceValidationError if outcome["error"] in _INPUT_ERRORS else HomeAssistantError
        raise error(
            translation_domain=DOMAIN,
            translation_key="bridge_command_failed",
            translation_placeholders={"reason": outcome["reason"]},
        )
    return outcome if call.return_response else None


_INPUT_ERRORS = frozenset(
    {"invalid_json", "invalid_command", "unknown_action", "invalid_action_args"}
)
