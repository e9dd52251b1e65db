"""Services every family shares. Family-specific services live in their vendor package."""

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import config_validation as cv, service
import probatio

from .const import DOMAIN

SERVICE_RENAME_PORT = "rename_port"
MAX_PORT_NAME_LENGTH = 21
"""MaxSmart firmware limit on port names (protocols.md 1.7, ``change_port_name``)."""


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the shared services once, in ``async_setup``."""
    service.async_register_platform_entity_service(
        hass,
        DOMAIN,
        SERVICE_RENAME_PORT,
        entity_domain=Platform.SWITCH,
        schema={
            probatio.Required("name"): probatio.All(
                cv.string, probatio.Strip, probatio.Length(min=1, max=MAX_PORT_NAME_LENGTH)
            )
        },
        func="async_rename",
    )
