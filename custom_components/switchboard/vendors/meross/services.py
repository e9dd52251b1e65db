"""``switchboard.meross_request``: send a raw GET/SET to a Meross device and return its reply."""

from typing import Any

from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv, device_registry as dr, service
import probatio

from ...const import CONF_FAMILY, DOMAIN
from ...coordinator import command_error
from ...model import CommandRejectedError, DeviceConnectionError, SwitchboardError
from .const import FAMILY_KEY, SERVICE_MEROSS_REQUEST
from .errors import MerossDeviceError, MerossError, MerossTimeoutError
from .source import map_error

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


def async_setup_services(hass: HomeAssistant) -> None:
    """Register the service once."""
    if hass.services.has_service(DOMAIN, SERVICE_MEROSS_REQUEST):
        return
    hass.services.async_register(
        DOMAIN,
        SERVICE_MEROSS_REQUEST,
        _async_request,
        schema=REQUEST_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )


async def _async_request(call: ServiceCall) -> ServiceResponse:
    hass = call.hass
    device = dr.async_get(hass).async_get(call.data[ATTR_DEVICE_ID])
    if device is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_device",
            translation_placeholders={"device": call.data[ATTR_DEVICE_ID]},
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
        namespace = call.data["namespace"]
        name = device.name_by_user or device.name or uuid
        try:
            reply: dict[str, Any] = await account.brokers.async_request(
                uuid, call.data["method"], namespace, call.data["payload"], timeout=REQUEST_TIMEOUT
            )
        except MerossError as err:
            raise command_error(_request_error(err, namespace), name) from err
        return {"uuid": uuid, "namespace": namespace, "payload": reply}
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="meross_not_a_device",
        translation_placeholders={"device": device.name or device.id},
    )


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
