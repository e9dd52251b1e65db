"""Entity snapshots of a Midea account: a Comfee dehumidifier and a Midea air conditioner.

The emulated appliances have fixed ids, serials and MACs, so unique ids and entity ids are the
same on every run; only their TCP ports vary, which no entity shows.
"""

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import snapshot_platform
from syrupy.assertion import SnapshotAssertion

from ..snapshots import only_platform
from .conftest import MideaStack, setup_account_entry
from .test_init import until


@pytest.mark.parametrize(
    "platform",
    [
        Platform.BINARY_SENSOR,
        Platform.BUTTON,
        Platform.CLIMATE,
        Platform.HUMIDIFIER,
        Platform.SELECT,
        Platform.SENSOR,
        Platform.SWITCH,
    ],
)
async def test_entities(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    stack: MideaStack,
    platform: Platform,
) -> None:
    """Every entity of both appliances, one platform at a time."""
    with only_platform(platform):
        entry = await setup_account_entry(hass, stack)
    if platform is Platform.SELECT:
        # midea-local asks for the power limit from the second refresh on (the first poll,
        # which returns at the appliance's first answer): wait for its value. The air
        # conditioner is off, so its louvre and power-limit selects are unavailable.
        coordinator = entry.runtime_data.runtime.coordinators["appliances"]
        appliance_id = str(stack.air_conditioner.appliance_id)
        await until(hass, lambda: coordinator.data[appliance_id].value("rate_select") == "100")
    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)
    assert await hass.config_entries.async_unload(entry.entry_id)
