"""Diagnostics: the entry, every coordinator's state and devices, the family's extras.

Credentials, keys and tokens are redacted (the common set below plus ``Family.redact``).
"""

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_PASSWORD, CONF_TOKEN, CONF_USERNAME
from homeassistant.core import HomeAssistant

from .data import SwitchboardConfigEntry
from .export.sepl.const import is_connector_entry
from .export.sepl.entry import connector_diagnostics

TO_REDACT = frozenset(
    {CONF_PASSWORD, CONF_TOKEN, CONF_USERNAME, "key", "token", "access_token", "sak", "pcldak"}
)


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: SwitchboardConfigEntry
) -> dict[str, Any]:
    """Return a redacted snapshot of the entry and its coordinators (or its connector)."""
    if is_connector_entry(entry.data):
        return connector_diagnostics(entry)  # type: ignore[arg-type]
    runtime = entry.runtime_data.runtime
    coordinators = {
        key: {
            "name": coordinator.name,
            "last_update_success": coordinator.last_update_success,
            "update_interval": (
                coordinator.update_interval.total_seconds() if coordinator.update_interval else None
            ),
            "burst_remaining": coordinator.burst_remaining,
            "push_healthy": coordinator.push_healthy,
            "devices": {
                device_id: {
                    "descriptor": asdict(state.descriptor),
                    "available": state.available,
                    "attributes": {
                        name: {"value": attribute.value, "unit": attribute.unit}
                        for name, attribute in state.attributes.items()
                    },
                    "actions": sorted(coordinator.actions(device_id)),
                }
                for device_id, state in (coordinator.data or {}).items()
            },
        }
        for key, coordinator in runtime.coordinators.items()
    }
    return async_redact_data(
        {
            "entry": {
                "title": entry.title,
                "data": dict(entry.data),
                "options": dict(entry.options),
            },
            "coordinators": coordinators,
            "family": runtime.diagnostics(),
            **{exporter.key: exporter.diagnostics() for exporter in entry.runtime_data.exporters},
        },
        TO_REDACT | runtime.family.redact,
    )
