"""``switchboard.indi_set_vector``: write any INDI vector and return its resulting state."""

from typing import Any

from homeassistant.const import (
    ATTR_CONFIG_ENTRY_ID,
)
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv, service
import probatio

from ...const import CONF_FAMILY, DOMAIN
from ...validation import finite_float
from .actions import MEMBER_VALUE
from .const import (
    FAMILY_KEY,
    SERVICE_SET_VECTOR,
)
from .source import IndiHub


def async_setup_services(hass: HomeAssistant) -> None:
    """Register ``switchboard.indi_set_vector`` once, in ``async_setup``."""

    async def set_vector(call: ServiceCall) -> ServiceResponse:
        return await _async_service_set_vector(hass, call)

    hass.services.async_register(
        DOMAIN,
        SERVICE_SET_VECTOR,
        set_vector,
        schema=probatio.Schema(
            {
                probatio.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
                probatio.Required("device"): cv.string,
                probatio.Required("vector"): cv.string,
                probatio.Required("members"): probatio.All(
                    {cv.string: MEMBER_VALUE}, probatio.Length(min=1)
                ),
                probatio.Optional("timeout"): probatio.All(
                    finite_float, probatio.Range(min=0, max=600)
                ),
            }
        ),
        supports_response=SupportsResponse.OPTIONAL,
    )


async def _async_service_set_vector(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    """Write any vector and return its resulting state."""
    if entry_id := call.data.get(ATTR_CONFIG_ENTRY_ID):
        entries = [service.async_get_config_entry(hass, DOMAIN, entry_id)]
    else:
        entries = hass.config_entries.async_loaded_entries(DOMAIN)
    entries = [entry for entry in entries if entry.data.get(CONF_FAMILY) == FAMILY_KEY]
    device: str = call.data["device"]
    if len(entries) > 1:
        entries = [entry for entry in entries if device in entry.runtime_data.runtime.hub.devices]
    if len(entries) != 1:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="indi_no_entry",
            translation_placeholders={"device": device},
        )
    hub: IndiHub = entries[0].runtime_data.runtime.hub
    record = hub.devices.get(device)
    if record is None or record.coordinator is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_device",
            translation_placeholders={"device": device},
        )
    args: dict[str, Any] = {"vector": call.data["vector"], "members": call.data["members"]}
    if "timeout" in call.data:
        args["timeout"] = call.data["timeout"]
    await record.coordinator.async_execute(hub.device_id(device), "set_vector", args)
    vector = hub.client.vectors.get((device, call.data["vector"]))
    if vector is None:
        return {"device": device, "vector": call.data["vector"], "state": None}
    return {
        "device": device,
        "vector": vector.name,
        "state": vector.state,
        "message": vector.message,
        "timestamp": vector.timestamp,
        "members": {m.name: m.value for m in vector.members.values()},
    }
