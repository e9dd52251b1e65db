"""Meross services (facts: docs/protocols/meross.md).

* ``switchboard.meross_request``: send a raw GET/SET to a Meross device and return its reply.
* ``switchboard.meross_capture``: record everything on a device's MQTT topics for ``duration``
  seconds (10-600; the Meross app's requests too) and return it, redacted (``capture.py``).
* ``switchboard.meross_dump_registry``: the account's cached device list as a registry dump
  (``registry.py``), redacted.
* ``switchboard.meross_load_registry`` (admin): set the account's devices up from such a dump,
  without asking the cloud (a cloud outage, a rate limit).
"""

import logging
from typing import Any, Protocol, cast

from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv, device_registry as dr, service
import probatio

from ...const import CONF_FAMILY, DOMAIN
from ...coordinator import command_error
from ...model import CommandRejectedError, DeviceConnectionError, SwitchboardError
from ...validation import strict_int
from .capture import MAX_DURATION, MIN_DURATION
from .cloud import MerossDeviceInfo, MerossSubdeviceInfo
from .const import (
    FAMILY_KEY,
    SERVICE_MEROSS_CAPTURE,
    SERVICE_MEROSS_DUMP_REGISTRY,
    SERVICE_MEROSS_LOAD_REGISTRY,
    SERVICE_MEROSS_REQUEST,
)
from .errors import MerossDeviceError, MerossError, MerossTimeoutError
from .registry import RegistryDumpError, parse_registry
from .source import MerossAccount, map_error


class _RegistryRuntime(Protocol):
    """What the registry services need of a Meross entry's runtime (``family.MerossRuntime``)."""

    def dump_registry(self) -> dict[str, Any]:
        """The cached device list as a registry dump."""

    async def async_load_registry(
        self,
        devices: list[MerossDeviceInfo],
        subdevices: dict[str, list[MerossSubdeviceInfo]],
        abilities: dict[str, Any],
    ) -> dict[str, Any]:
        """Set the account's devices up from a parsed dump; say what changed."""


_LOGGER = logging.getLogger(__name__)

ATTR_DEVICE_ID = "device_id"
REQUEST_TIMEOUT = 10.0
"""Seconds to wait for the device's reply."""

REQUEST_SCHEMA = probatio.Schema(
    {
        probatio.Required(ATTR_DEVICE_ID): cv.string,
        probatio.Required("namespace"): probatio.All(cv.string, probatio.Match(r"^Appliance\.")),
        probatio.Optional("method", default="GET"): probatio.In(["GET", "SET"]),
        probatio.Optional("payload", default=dict): dict,
    }
)


CAPTURE_SCHEMA = probatio.Schema(
    {
        probatio.Required(ATTR_DEVICE_ID): probatio.All(
            cv.ensure_list, [cv.string], probatio.Length(min=1, max=1)
        ),
        probatio.Optional("duration", default=60): probatio.All(
            strict_int, probatio.Range(min=MIN_DURATION, max=MAX_DURATION)
        ),
    }
)

DUMP_SCHEMA = probatio.Schema({probatio.Required(ATTR_CONFIG_ENTRY_ID): cv.string})

LOAD_SCHEMA = probatio.Schema(
    {
        probatio.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        probatio.Required("registry"): dict,
    }
)


def async_setup_services(hass: HomeAssistant) -> None:
    """Register the services once."""
    if hass.services.has_service(DOMAIN, SERVICE_MEROSS_REQUEST):
        return
    hass.services.async_register(
        DOMAIN,
        SERVICE_MEROSS_REQUEST,
        _async_request,
        schema=REQUEST_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_MEROSS_CAPTURE,
        _async_capture,
        schema=CAPTURE_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_MEROSS_DUMP_REGISTRY,
        _async_dump_registry,
        schema=DUMP_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
    service.async_register_admin_service(
        hass,
        DOMAIN,
        SERVICE_MEROSS_LOAD_REGISTRY,
        _async_load_registry,
        schema=LOAD_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )


def _meross_device(hass: HomeAssistant, device_id: str) -> tuple[MerossAccount, str, str]:
    """(account, uuid, name) of a Meross device of a loaded entry; translated errors."""
    device = dr.async_get(hass).async_get(device_id)
    if device is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_device",
            translation_placeholders={"device": device_id},
        )
    for entry_id in device.config_entries:
        entry = hass.config_entries.async_get_entry(entry_id)
        if entry is None or entry.domain != DOMAIN or entry.data.get(CONF_FAMILY) != FAMILY_KEY:
            continue
        # Raises Home Assistant's translated error when the entry is not loaded.
        entry = service.async_get_config_entry(hass, DOMAIN, entry_id)
        account = entry.runtime_data.runtime.account
        uuid = next((ident for domain, ident in device.identifiers if domain == DOMAIN), None)
        if uuid is None or uuid not in account.sources:
            break
        return account, uuid, device.name_by_user or device.name or uuid
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="meross_not_a_device",
        translation_placeholders={"device": device.name or device.id},
    )


async def _async_request(call: ServiceCall) -> ServiceResponse:
    account, uuid, name = _meross_device(call.hass, call.data[ATTR_DEVICE_ID])
    namespace = call.data["namespace"]
    try:
        reply: dict[str, Any] = await account.brokers.async_request(
            uuid, call.data["method"], namespace, call.data["payload"], timeout=REQUEST_TIMEOUT
        )
    except MerossError as err:
        raise command_error(_request_error(err, namespace), name) from err
    return {"uuid": uuid, "namespace": namespace, "payload": reply}


async def _async_capture(call: ServiceCall) -> ServiceResponse:
    """Capture the device's traffic; the response is the capture (see capture.record)."""
    account, uuid, name = _meross_device(call.hass, call.data[ATTR_DEVICE_ID][0])
    try:
        return await account.async_capture(uuid, name, call.data["duration"])
    except CommandRejectedError as err:
        # A capture of this device is running: the user's request, not the device, is wrong.
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="meross_capture_running",
            translation_placeholders={"device": name},
        ) from err
    except SwitchboardError as err:
        raise command_error(err, name) from err


def _meross_runtime(hass: HomeAssistant, entry_id: str) -> _RegistryRuntime:
    """The runtime of a loaded Meross entry (translated errors otherwise)."""
    entry = service.async_get_config_entry(hass, DOMAIN, entry_id)
    if entry.data.get(CONF_FAMILY) != FAMILY_KEY:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="meross_not_an_account",
            translation_placeholders={"entry": entry.title},
        )
    return cast(_RegistryRuntime, entry.runtime_data.runtime)


async def _async_dump_registry(call: ServiceCall) -> ServiceResponse:
    """The cached device list as a registry dump (what ``meross_load_registry`` takes)."""
    runtime = _meross_runtime(call.hass, call.data[ATTR_CONFIG_ENTRY_ID])
    return runtime.dump_registry()


async def _async_load_registry(call: ServiceCall) -> ServiceResponse:
    """Validate a dump and set the account's devices up from it; say what was loaded."""
    runtime = _meross_runtime(call.hass, call.data[ATTR_CONFIG_ENTRY_ID])
    try:
        devices, subdevices, abilities = parse_registry(call.data["registry"])
    except RegistryDumpError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=f"meross_registry_{err.reason}",
            translation_placeholders={"where": err.where},
        ) from err
    result = await runtime.async_load_registry(devices, subdevices, abilities)
    _LOGGER.info(
        "Meross registry loaded: %d devices (%d added, %d removed, %d moved)",
        result["loaded"],
        len(result["added"]),
        len(result["removed"]),
        len(result["moved"]),
    )
    return result


def _request_error(err: MerossError, namespace: str) -> SwitchboardError:
    """The model error of a failed raw request, with the request's own message.

    Timeout -> ``meross_request_timeout``; the device's error reply -> ``meross_device_error``
    (code, detail); anything else -> ``meross_request_failed``. Mapped to Home Assistant's
    error by ``coordinator.command_error`` like any command.
    """
    if isinstance(err, MerossTimeoutError):
        return DeviceConnectionError(
            str(err),
            translation_key="meross_request_timeout",
            placeholders={"namespace": namespace, "timeout": f"{REQUEST_TIMEOUT:g}"},
        )
    if isinstance(err, MerossDeviceError):
        return CommandRejectedError(
            str(err),
            translation_key="meross_device_error",
            placeholders={
                "namespace": namespace,
                "code": str(err.code),
                "detail": err.detail or "-",
            },
        )
    mapped = map_error(err)
    mapped.translation_key = "meross_request_failed"
    return mapped
