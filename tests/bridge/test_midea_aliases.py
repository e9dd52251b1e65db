"""Midea appliances over the MQTT bridge: Switchboard's actions and ComfeePool's command names.

ComfeePool users send ``{"action": <midea_inventor_lib method>, "args": {...}}``; the Midea
family accepts those names as aliases (docs/bridge.md), so their automations keep working.
Real mosquitto, Home Assistant's mqtt, the user's own paho client, emulated appliances.
"""

from collections.abc import AsyncGenerator
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.switchboard.export.mqtt.bridge import (
    CONF_BASE_TOPIC,
    CONF_BRIDGE,
    CONF_BRIDGE_ENABLED,
    CONF_DISCOVERY,
)
from tests.midea.conftest import MideaStack, setup_account_entry, start_stack, stop_stack

from .conftest import BASE, UserClient

CELLAR = f"{BASE}/unassigned/cellar"
BEDROOM = f"{BASE}/unassigned/bedroom"


@pytest.fixture
async def midea_stack(socket_enabled: None) -> AsyncGenerator[MideaStack]:
    """The emulated dehumidifier, air conditioner and cloud (``tests/midea``)."""
    stack = await start_stack()
    yield stack
    await stop_stack(stack)


@pytest.fixture
async def midea_entry(
    hass: HomeAssistant, mqtt_entry: MockConfigEntry, midea_stack: MideaStack
) -> AsyncGenerator[MockConfigEntry]:
    """The account entry with the bridge on."""
    entry = await setup_account_entry(
        hass,
        midea_stack,
        options={
            CONF_BRIDGE: {CONF_BRIDGE_ENABLED: True, CONF_BASE_TOPIC: BASE, CONF_DISCOVERY: False}
        },
    )
    yield entry
    await hass.config_entries.async_unload(entry.entry_id)


async def run_ok(
    user: UserClient, topic: str, action: str, args: dict[str, Any], command_id: str
) -> dict[str, Any]:
    """Send a command that must succeed; return the appliance-confirmed attributes."""
    user.command(topic, action, args, command_id)
    result = await user.result(topic, command_id)
    assert result["status"] == "ok", result
    return dict(result["state"]["attributes"])


async def test_comfeepool_names(
    hass: HomeAssistant, midea_entry: MockConfigEntry, user: UserClient, midea_stack: MideaStack
) -> None:
    """Every midea_inventor_lib command name ComfeePool sends works on the dehumidifier."""
    appliance = midea_stack.dehumidifier
    await user.wait_for(f"{CELLAR}/availability")
    assert (await run_ok(user, CELLAR, "send_poweron_command", {}, "1"))["power"] is True
    assert appliance.power
    attributes = await run_ok(user, CELLAR, "send_target_humidity_command", {"humidity": 55}, "2")
    assert attributes["target_humidity"] == 55
    assert appliance.target_humidity == 55
    assert (await run_ok(user, CELLAR, "send_fan_speed_command", {"speed": 80}, "3"))[
        "fan_speed"
    ] == "high"
    assert appliance.fan_speed == 80
    assert (await run_ok(user, CELLAR, "send_mode_command", {"mode": 2}, "4"))[
        "mode"
    ] == "continuous"
    assert (await run_ok(user, CELLAR, "send_ion_on_command", {}, "5"))["anion"] is True
    assert (await run_ok(user, CELLAR, "send_ion_off_command", {}, "6"))["anion"] is False
    assert (await run_ok(user, CELLAR, "send_pump_on_command", {}, "7"))["pump"] is True
    assert appliance.pump
    assert (await run_ok(user, CELLAR, "send_pump_off_command", {}, "8"))["pump"] is False
    assert (await run_ok(user, CELLAR, "send_poweroff_command", {}, "9"))["power"] is False
    assert not appliance.power
    # Invalid arguments are refused by the allow-list's schema.
    user.command(CELLAR, "send_mode_command", {"mode": 9}, "bad")
    result = await user.result(CELLAR, "bad")
    assert result["status"] == "error"


async def test_switchboard_names(
    hass: HomeAssistant, midea_entry: MockConfigEntry, user: UserClient, midea_stack: MideaStack
) -> None:
    """Switchboard's own action names on both appliances."""
    await user.wait_for(f"{CELLAR}/availability")
    await run_ok(user, CELLAR, "turn_on", {}, "a")
    assert (await run_ok(user, CELLAR, "set_humidity", {"humidity": 60}, "b"))[
        "target_humidity"
    ] == 60
    assert (await run_ok(user, CELLAR, "set_fan_speed", {"fan_speed": "low"}, "c"))[
        "fan_speed"
    ] == "low"
    assert (await run_ok(user, CELLAR, "set_mode", {"mode": "auto"}, "d"))["mode"] == "auto"
    assert (await run_ok(user, CELLAR, "turn_on", {"switch": "swing"}, "e"))["swing"] is True
    assert (await run_ok(user, CELLAR, "set_water_level", {"water_level": "100"}, "f"))[
        "water_level_set"
    ] == "100"
    await user.wait_for(f"{BEDROOM}/availability")
    assert (await run_ok(user, BEDROOM, "set_hvac_mode", {"hvac_mode": "dry"}, "g"))[
        "hvac_mode"
    ] == "dry"
    assert (await run_ok(user, BEDROOM, "set_temperature", {"temperature": 23}, "h"))[
        "target_temperature"
    ] == 23
    assert midea_stack.air_conditioner.mode == 3
    louvre = {"select": "wind_ud_angle", "option": "up"}
    assert (await run_ok(user, BEDROOM, "select_option", louvre, "i"))["wind_ud_angle"] == "up"
    gear = {"select": "rate_select", "option": "80"}
    assert (await run_ok(user, BEDROOM, "select_option", gear, "j"))["rate_select"] == "80"
    fresh_air = {"switch": "fresh_air_power"}
    assert (await run_ok(user, BEDROOM, "turn_on", fresh_air, "k"))["fresh_air_power"] is True
    assert (await run_ok(user, BEDROOM, "turn_on", {"switch": "breezeless"}, "l"))["breezeless"]
    appliance = midea_stack.air_conditioner
    assert (appliance.wind_ud_angle, appliance.rate_select) == (1, 80)
    assert appliance.fresh_air_power
    assert appliance.breezeless
