"""The README's automation examples are valid Home Assistant automations, and they work.

The YAML is read from the README itself, so an example edited there is tested as written.
"""

from datetime import timedelta
import json
from pathlib import Path
import re
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.automation.config import async_validate_config_item
from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed
import yaml

from custom_components.switchboard.export.mqtt.bridge import parse_command
from emulators.maxsmart import MaxSmartEmulator

from .maxsmart.conftest import strip_kwargs
from .maxsmart.integration import setup_entry

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _examples() -> list[dict[str, Any]]:
    section = README.split("\n## Automation examples\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)
    return [yaml.safe_load(block) for block in blocks]


EXAMPLES = {example["alias"]: example for example in _examples()}
IDLE_OFF = "Printer off when idle"
WINDOW = "Window opened at the thermostat"
MQTT_COMMAND = "Desk strip port 2 on at sunset"


def test_three_examples() -> None:
    """The examples the README promises are there."""
    assert set(EXAMPLES) == {IDLE_OFF, WINDOW, MQTT_COMMAND}


@pytest.mark.parametrize("alias", sorted(EXAMPLES))
async def test_example_is_valid(hass: HomeAssistant, alias: str) -> None:
    """Home Assistant's automation validation accepts each example (it raises otherwise)."""
    assert await async_validate_config_item(hass, alias, EXAMPLES[alias]) is not None


def test_bridge_command_payload() -> None:
    """The MQTT example publishes a command the bridge accepts, on a command topic."""
    data = EXAMPLES[MQTT_COMMAND]["actions"][0]["data"]
    assert re.fullmatch(r"switchboard/[a-z0-9_]+/[a-z0-9_]+/command", data["topic"])
    command, command_id = parse_command(data["payload"])
    assert command == {"action": "turn_on", "args": {"port": 2}, "id": "sunset"}
    assert command_id == "sunset"


async def test_idle_port_switched_off(
    hass: HomeAssistant, socket_enabled: None, freezer: FrozenDateTimeFactory
) -> None:
    """A strip whose printer port drops to 1.2 W: after 10 minutes below 2 W it is off."""
    strip = MaxSmartEmulator(
        "127.0.0.1", loads=[10.0, 10.0, 10.0, 25.0, 10.0, 10.0], seed=1, **strip_kwargs()
    )
    await strip.start()
    try:
        await setup_entry(hass, strip)
        assert await async_setup_component(hass, "automation", {"automation": EXAMPLES[IDLE_OFF]})
        await hass.async_block_till_done()
        assert hass.states.get("switch.desk_printer").state == STATE_ON

        async def poll(seconds: float) -> None:
            freezer.tick(timedelta(seconds=seconds))
            async_fire_time_changed(hass)
            await hass.async_block_till_done(wait_background_tasks=True)

        strip.loads[3] = 1.2  # the printer goes to standby
        await poll(5)
        assert float(hass.states.get("sensor.desk_printer_power").state) < 2
        for _ in range(119):  # 9 min 55 s of polls below 2 W: not yet
            await poll(5)
        assert strip.switch[3] == 1
        for _ in range(2):
            await poll(5)
        assert strip.switch[3] == 0
        assert hass.states.get("switch.desk_printer").state == STATE_OFF
        assert strip.switch[:3] == [1, 1, 1]
    finally:
        await strip.stop()


async def test_window_notification(hass: HomeAssistant) -> None:
    """A WindowOpened push becomes a persistent notification; other pushes do not."""
    assert await async_setup_component(hass, "persistent_notification", {})
    assert await async_setup_component(hass, "automation", {"automation": EXAMPLES[WINDOW]})
    await hass.async_block_till_done()
    data = {"device_id": None, "uuid": "1901000000000000000000000000aa03"}
    hass.bus.async_fire(
        "switchboard_push",
        {**data, "namespace": "Appliance.Control.ToggleX", "payload": {"togglex": []}},
    )
    await hass.async_block_till_done()
    assert not _notifications(hass)
    window = {"windowOpened": [{"channel": 0, "status": 1, "detect": 1}]}
    hass.bus.async_fire(
        "switchboard_push",
        {**data, "namespace": "Appliance.Control.Thermostat.WindowOpened", "payload": window},
    )
    await hass.async_block_till_done()
    (notification,) = _notifications(hass)
    assert notification["title"] == "Window open"
    assert data["uuid"] in notification["message"]
    assert json.loads(notification["message"].split(" reports ", 1)[1]) == window["windowOpened"]


def _notifications(hass: HomeAssistant) -> list[dict[str, Any]]:
    from homeassistant.components import persistent_notification

    return list(persistent_notification._async_get_or_create_notifications(hass).values())
