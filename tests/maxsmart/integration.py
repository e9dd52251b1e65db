"""Helpers for MaxSmart integration tests: config entries pointing at an emulator."""

from typing import Any

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.switchboard.const import CONF_FAMILY, DOMAIN
from emulators.maxsmart import MaxSmartEmulator


def entry_data(emulator: MaxSmartEmulator) -> dict[str, Any]:
    """The data the config flow stores for ``emulator`` (see ``_maxsmart_entry_data``)."""
    return {
        CONF_FAMILY: "maxsmart",
        "host": emulator.host,
        "port": emulator.http_port,
        "discovery_port": emulator.udp_port,
        "serial": emulator.serial,
        "mac": emulator.mac.lower().replace("-", ":"),
    }


async def setup_entry(
    hass: HomeAssistant, emulator: MaxSmartEmulator, options: dict[str, Any] | None = None
) -> MockConfigEntry:
    """Add and set up a config entry for ``emulator``; return it loaded."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=emulator.name,
        unique_id=emulator.serial,
        data=entry_data(emulator),
        options=options or {},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def reported_watts(emulator: MaxSmartEmulator, port: int) -> float:
    """The watts the emulator's last cmd 511 reply reported for ``port`` (1-based)."""
    assert emulator.last_reading is not None
    raw = emulator.last_reading["watt"][port - 1]
    return raw / 1000 if isinstance(raw, int) else float(raw)
