"""Diagnostics: the entry, every coordinator's state and devices, the family's extras.

Credentials, keys and tokens are redacted (the common set below plus ``Family.redact``), and so
is the entry title (a Meross title used to be the account's e-mail address). The values of the
entry data's redacted keys (e-mail address, user id, ...) are also removed wherever else they
appear, in dictionary keys (device ids) as in text.
"""

from collections.abc import Iterable, Mapping
from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.const import CONF_PASSWORD, CONF_TOKEN, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr

from .const import DOMAIN
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
    to_redact = TO_REDACT | runtime.family.redact
    secrets = _secret_values(entry.data, to_redact)
    diagnostics: dict[str, Any] = _scrub(
        async_redact_data(
            {
                "entry": {
                    "title": REDACTED,
                    "data": dict(entry.data),
                    "options": dict(entry.options),
                },
                "coordinators": coordinators,
                "family": runtime.diagnostics(),
                **{
                    exporter.key: exporter.diagnostics()
                    for exporter in entry.runtime_data.exporters
                },
            },
            to_redact,
        ),
        secrets,
    )
    return diagnostics


async def async_get_device_diagnostics(
    hass: HomeAssistant, entry: SwitchboardConfigEntry, device: dr.DeviceEntry
) -> dict[str, Any]:
    """The entry's diagnostics plus what the family keeps about this one device.

    ``device`` holds ``FamilyRuntime.device_diagnostics(device_id)`` (a Meross device's last
    traffic capture), redacted like the rest.
    """
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    if is_connector_entry(entry.data):
        return diagnostics
    runtime = entry.runtime_data.runtime
    device_id = next((ident for domain, ident in device.identifiers if domain == DOMAIN), None)
    extra = runtime.device_diagnostics(device_id) if device_id is not None else {}
    to_redact = TO_REDACT | runtime.family.redact
    diagnostics["device"] = _scrub(
        async_redact_data(extra, to_redact), _secret_values(entry.data, to_redact)
    )
    return diagnostics


MIN_SECRET_LENGTH = 4
"""Shorter redacted values (``"1"``, ``"on"``) are not searched for elsewhere."""


def _secret_values(data: Any, keys: Iterable[str]) -> frozenset[str]:
    """Every string (or number) stored under one of ``keys`` anywhere in ``data``."""
    keys = frozenset(keys)
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                if key in keys and isinstance(item, (str, int)) and not isinstance(item, bool):
                    found.add(str(item))
                walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)

    walk(data)
    return frozenset(text for text in found if len(text) >= MIN_SECRET_LENGTH)


def _scrub(value: Any, secrets: frozenset[str]) -> Any:
    """``value`` with every secret replaced by ``**REDACTED**`` in keys and strings."""
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, Mapping):
        return {_scrub(key, secrets): _scrub(item, secrets) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub(item, secrets) for item in value]
    return value
