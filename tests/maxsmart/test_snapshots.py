"""Entity snapshots of a MaxSmart strip (6 ports, firmware 1.30), one platform at a time."""

from collections.abc import AsyncGenerator

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import snapshot_platform
from syrupy.assertion import SnapshotAssertion

from emulators.maxsmart import MaxSmartEmulator

from ..snapshots import masked, only_platform, with_matcher
from .conftest import strip_kwargs
from .integration import setup_entry

LOADS = [12.5, 40.0, 7.25, 100.0, 0.0, 60.0]
"""Fixed base loads in W; the emulator adds a seeded ±2 % variation."""


@pytest.fixture
async def strip(
    socket_enabled: None, freezer: FrozenDateTimeFactory
) -> AsyncGenerator[MaxSmartEmulator]:
    """The 6-port strip with fixed loads and a seeded variation, clock frozen."""
    emulator = MaxSmartEmulator("127.0.0.1", loads=LOADS, seed=1, **strip_kwargs())
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.mark.parametrize("platform", [Platform.SENSOR, Platform.SWITCH])
async def test_entities(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    strip: MaxSmartEmulator,
    platform: Platform,
) -> None:
    """Every entity of the strip: names, unique ids, units, device classes and states."""
    with only_platform(platform):
        entry = await setup_entry(hass, strip)
    # Energy integrates power over the (monotonic) time between polls: record that the
    # sensors exist and what they are, not their running value.
    energy = [
        entity.entity_id
        for entity in er.async_entries_for_config_entry(entity_registry, entry.entry_id)
        if entity.entity_id.endswith("_energy")
    ]
    matcher = masked(volatile_entities=energy)
    await snapshot_platform(hass, entity_registry, with_matcher(snapshot, matcher), entry.entry_id)
