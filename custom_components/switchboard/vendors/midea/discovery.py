"""Midea discovery in Home Assistant: broadcast on the enabled networks, every 15 minutes.

The probe and its reply are in ``lan.py`` (``docs/protocols/midea.md`` §1). Each appliance that
answers starts an integration-discovery flow (``midea_discovery``): a configured appliance
(matched by appliance id, else MAC) gets its new address without a reload, a new one is offered
to the user.
"""

from collections.abc import Iterable
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from homeassistant.config_entries import SOURCE_INTEGRATION_DISCOVERY
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import discovery_flow
from homeassistant.helpers.event import async_track_time_interval

from ...const import CONF_FAMILY, DOMAIN
from ...discovery import async_discovery_targets
from .const import (
    CONF_APPLIANCES,
    CONF_CLOUD_CODE,
    CONF_DISCOVERY_PORT,
    DEFAULT_DISCOVERY_PORT,
    DISCOVERY_INTERVAL_MINUTES,
    FAMILY_KEY,
)
from .lan import DiscoveredAppliance, async_discover

SECONDARY_PORT = 20086
"""Real appliances answer discovery on 6445 and 20086."""


def discovery_ports(port: int) -> tuple[int, ...]:
    """The ports to probe: both real ports when ``port`` is the default, else ``port`` alone."""
    return (port, SECONDARY_PORT) if port == DEFAULT_DISCOVERY_PORT else (port,)


async def async_discover_appliances(
    hass: HomeAssistant, port: int, *, wanted: Iterable[int] = (), wait: float = 3.0
) -> dict[int, DiscoveredAppliance]:
    """Broadcast on every network enabled in Home Assistant; supported appliances by id.

    Returns early once every appliance id in ``wanted`` answered.
    """
    targets = await async_discovery_targets(hass)
    if not targets:
        return {}
    found = await async_discover(targets, discovery_ports(port), wait=wait, wanted=wanted)
    return {key: value for key, value in found.items() if value.supported}


def discovery_data(
    found: DiscoveredAppliance, port: int, cloud_code: int | None = None
) -> dict[str, Any]:
    """The data a ``midea_discovery`` flow carries.

    ``cloud_code``: the error code the cloud answered for the appliance's key (an account's
    new appliance, ``cloud.async_refresh_account``); the flow then shows it.
    """
    data = {CONF_FAMILY: FAMILY_KEY, CONF_DISCOVERY_PORT: port, **asdict(found)}
    if cloud_code is not None:
        data[CONF_CLOUD_CODE] = cloud_code
    return data


def _configured_ports(hass: HomeAssistant) -> set[int]:
    ports = {DEFAULT_DISCOVERY_PORT}
    for entry in hass.config_entries.async_entries(DOMAIN):
        if entry.data.get(CONF_FAMILY) == FAMILY_KEY and entry.data.get(CONF_APPLIANCES):
            ports.add(int(entry.data.get(CONF_DISCOVERY_PORT, DEFAULT_DISCOVERY_PORT)))
    return ports


@callback
def async_start_background_discovery(hass: HomeAssistant) -> None:
    """Discover now and every 15 minutes; each appliance found starts a discovery flow."""

    async def discover(*_: object) -> None:
        for port in sorted(_configured_ports(hass)):
            for found in (await async_discover_appliances(hass, port)).values():
                discovery_flow.async_create_flow(
                    hass,
                    DOMAIN,
                    context={"source": SOURCE_INTEGRATION_DISCOVERY},
                    data=discovery_data(found, port),
                )

    hass.async_create_background_task(discover(), "switchboard midea discovery")
    async_track_time_interval(
        hass, discover, timedelta(minutes=DISCOVERY_INTERVAL_MINUTES), cancel_on_shutdown=True
    )
