"""MaxSmart discovery: UDP broadcast on each enabled adapter (docs/protocols/maxsmart.md §2).

Used by the config flow (a list of unconfigured strips) and in the background every 15
minutes, where it starts discovery flows for new strips and, through those flows, updates the
host of strips already configured (matched by serial, or by MAC), as core's ``tplink`` does.
"""

import asyncio
from datetime import timedelta
import logging

from homeassistant.config_entries import SOURCE_INTEGRATION_DISCOVERY
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import discovery_flow
from homeassistant.helpers.event import async_track_time_interval

from ...const import CONF_FAMILY, DOMAIN
from ...discovery import async_discovery_targets
from .client import DEFAULT_UDP_PORT, MaxSmartDeviceInfo, MaxSmartError, async_discover
from .const import (
    CONF_DISCOVERY_PORT,
    CONF_MAC,
    CONF_SERIAL,
    DISCOVERY_INTERVAL_MINUTES,
    DISCOVERY_TIMEOUT,
    FAMILY_KEY,
)

_LOGGER = logging.getLogger(__name__)

DISCOVERY_PORT = DEFAULT_UDP_PORT
"""UDP port discovery datagrams are broadcast to (read at call time)."""


async def async_discover_devices(hass: HomeAssistant) -> list[MaxSmartDeviceInfo]:
    """Broadcast discovery on every target; devices deduplicated by serial."""
    targets = await async_discovery_targets(hass)
    results = await asyncio.gather(
        *(async_discover(target, DISCOVERY_PORT, timeout=DISCOVERY_TIMEOUT) for target in targets),
        return_exceptions=True,
    )
    found: dict[str, MaxSmartDeviceInfo] = {}
    for target, result in zip(targets, results, strict=True):
        if isinstance(result, MaxSmartError):
            _LOGGER.debug("MaxSmart discovery via %s failed: %s", target, result)
            continue
        if isinstance(result, BaseException):
            raise result
        for info in result:
            found.setdefault(info.serial, info)
    return list(found.values())


def discovery_data(info: MaxSmartDeviceInfo) -> dict[str, str | int | None]:
    """The data a discovery flow carries for one device."""
    return {
        CONF_FAMILY: FAMILY_KEY,
        CONF_SERIAL: info.serial,
        "host": info.host,
        CONF_DISCOVERY_PORT: info.udp_port,
        CONF_MAC: info.mac,
        "name": info.name,
        "firmware": info.firmware,
    }


@callback
def async_start_background_discovery(hass: HomeAssistant) -> None:
    """Discover now and every 15 minutes; each device found starts a discovery flow."""

    async def discover(*_: object) -> None:
        for info in await async_discover_devices(hass):
            discovery_flow.async_create_flow(
                hass,
                DOMAIN,
                context={"source": SOURCE_INTEGRATION_DISCOVERY},
                data=discovery_data(info),
            )

    hass.async_create_background_task(discover(), "switchboard maxsmart discovery")
    async_track_time_interval(
        hass,
        discover,
        timedelta(minutes=DISCOVERY_INTERVAL_MINUTES),
        cancel_on_shutdown=True,
    )
