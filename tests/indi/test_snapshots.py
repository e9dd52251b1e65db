"""Entity and diagnostics snapshots of an INDI server: our emulator's two devices, and the
CCD cooler of the real ``indi_simulator_ccd`` as a climate entity.

The server listens on a free port, which is part of device ids, unique ids and the server's
entity ids: it is replaced by ``<port>`` (entity ids are renamed in the registry first).
"""

import asyncio
from typing import Any

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.switchboard.const import CONF_FAMILY, DOMAIN
from emulators.indi import IndiEmulator

from ..snapshots import masked, only_platform, rename_entities, with_matcher
from .conftest import IndiServerAddress


async def _setup(
    hass: HomeAssistant, port: int, devices: list[str] | None = None
) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=f"INDI 127.0.0.1:{port}",
        unique_id=f"127.0.0.1:{port}",
        data={CONF_FAMILY: "indi", "host": "127.0.0.1", "port": port, "devices": devices or []},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    rename_entities(hass, f"127_0_0_1_{port}", "127_0_0_1_port")
    return entry


def _matcher(port: int, **kwargs: Any) -> Any:
    return masked(replace={f"127.0.0.1:{port}": "127.0.0.1:<port>"}, ports=[port], **kwargs)


@pytest.mark.parametrize(
    "platform",
    [Platform.BINARY_SENSOR, Platform.NUMBER, Platform.SENSOR, Platform.SWITCH],
)
async def test_emulator_entities(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    indi_emulator: IndiEmulator,
    platform: Platform,
) -> None:
    """Every entity of the emulator's Plug and Lamp (and the server), one platform at a time."""
    port = indi_emulator.port
    with only_platform(platform):
        entry = await _setup(hass, port)
    matcher = _matcher(port, volatile_keys=["timestamp"])
    await snapshot_platform(hass, entity_registry, with_matcher(snapshot, matcher), entry.entry_id)
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_emulator_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    snapshot: SnapshotAssertion,
    indi_emulator: IndiEmulator,
) -> None:
    """The entry's diagnostics: server, devices, attributes and actions."""
    port = indi_emulator.port
    entry = await _setup(hass, port)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics == snapshot(
        exclude=props("mqtt_bridge"), matcher=_matcher(port, volatile_keys=["timestamp"])
    )
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_ccd_cooler_climate(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    indiserver: IndiServerAddress,
) -> None:
    """The real CCD simulator, connected: its cooler as a climate entity (°C, cool/off)."""
    port = indiserver.port
    with only_platform(Platform.CLIMATE):
        entry = await _setup(hass, port, devices=["CCD Simulator"])
        await hass.services.async_call(
            DOMAIN,
            "indi_set_vector",
            {
                "config_entry_id": entry.entry_id,
                "device": "CCD Simulator",
                "vector": "CONNECTION",
                "members": {"CONNECT": True},
            },
            blocking=True,
            return_response=True,
        )
        async with asyncio.timeout(10):
            while not er.async_entries_for_config_entry(entity_registry, entry.entry_id):
                await asyncio.sleep(0.02)
        await hass.async_block_till_done()
    matcher = _matcher(port)
    await snapshot_platform(hass, entity_registry, with_matcher(snapshot, matcher), entry.entry_id)
    assert await hass.config_entries.async_unload(entry.entry_id)
