"""Commands over MQTT: the MaxSmart allow-list, and every bad-input path."""

import logging
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from emulators.maxsmart import MaxSmartEmulator
from tests.maxsmart.conftest import STRIP_SERIAL

from .conftest import STRIP_TOPIC, UserClient, bridge_of

BRIDGE_LOGGER = "custom_components.switchboard.export.mqtt.bridge"


def bridge_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The bridge's warning lines so far."""
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == BRIDGE_LOGGER and record.levelno >= logging.WARNING
    ]


async def test_maxsmart_actions(
    hass: HomeAssistant, bridged_entry: MockConfigEntry, user: UserClient, strip: MaxSmartEmulator
) -> None:
    """turn_off / turn_on a port and every port, rename_port: device-confirmed results."""
    await user.wait_for(f"{STRIP_TOPIC}/availability")
    user.command(STRIP_TOPIC, "turn_off", {"port": 2}, "off-2")
    result = await user.result(STRIP_TOPIC, "off-2")
    assert result["status"] == "ok"
    assert result["action"] == "turn_off"
    assert result["device"] == STRIP_SERIAL
    assert result["state"]["available"] is True
    assert result["state"]["attributes"]["port_2_on"] is False
    assert strip.switch[1] is False
    await user.wait_for(f"{STRIP_TOPIC}/port_2_on", lambda m: m.payload == "false")
    assert hass.states.get("switch.desk_lamp").state == "off"

    user.command(STRIP_TOPIC, "turn_off", {"port": 0}, "all-off")
    result = await user.result(STRIP_TOPIC, "all-off")
    assert result["state"]["attributes"]["all_on"] is False
    assert strip.switch == [False] * 6

    user.command(STRIP_TOPIC, "turn_on", {"port": "3"}, "on-3")  # coerced by the schema
    assert (await user.result(STRIP_TOPIC, "on-3"))["state"]["attributes"]["port_3_on"] is True
    assert strip.switch[2] is True

    user.command(STRIP_TOPIC, "rename_port", {"port": 3, "name": "  Modem "}, "rename")
    result = await user.result(STRIP_TOPIC, "rename")
    assert result["status"] == "ok"
    assert result["state"]["attributes"]["port_3_name"] == "Modem"
    await user.wait_for(f"{STRIP_TOPIC}/port_3_name", lambda m: m.payload == "Modem")


async def test_command_without_id_and_without_args(
    hass: HomeAssistant, bridged_entry: MockConfigEntry, user: UserClient, strip: MaxSmartEmulator
) -> None:
    """``id`` is optional (result id null); ``args`` missing is ``{}`` (then validated)."""
    await user.wait_for(f"{STRIP_TOPIC}/availability")
    user.publish(f"{STRIP_TOPIC}/command", '{"action": "turn_off", "args": {"port": 1}}')
    result = await user.wait_for(f"{STRIP_TOPIC}/command/result")
    assert result.json()["id"] is None
    assert result.json()["status"] == "ok"
    assert result.retain is False
    assert strip.switch[0] is False


@pytest.mark.parametrize(
    ("payload", "error", "echoed_id"),
    [
        (b"{not json", "invalid_json", None),
        (b"\xff\xfe", "invalid_json", None),
        (b"[1, 2]", "invalid_command", None),
        (b'"turn_on"', "invalid_command", None),
        (b'{"args": {"port": 1}, "id": "no-action"}', "invalid_command", "no-action"),
        (
            b'{"action": "turn_on", "args": {"port": 1}, "id": "x", "exec": "rm"}',
            "invalid_command",
            "x",
        ),
        (b'{"action": "turn_on", "args": [1], "id": 7}', "invalid_command", 7),
        (b'{"action": 5, "id": "num"}', "invalid_command", "num"),
        (b'{"action": "self_destruct", "args": {}, "id": "u1"}', "unknown_action", "u1"),
        (b'{"action": "async_shutdown", "args": {}, "id": "u2"}', "unknown_action", "u2"),
        (b'{"action": "__init__", "id": "u3"}', "unknown_action", "u3"),
        (b'{"action": "turn_on", "args": {"port": 99}, "id": "a1"}', "invalid_action_args", "a1"),
        (b'{"action": "turn_on", "args": {"port": "x"}, "id": "a2"}', "invalid_action_args", "a2"),
        (b'{"action": "turn_on", "args": {}, "id": "a3"}', "invalid_action_args", "a3"),
        (
            b'{"action": "turn_on", "args": {"port": 1, "extra": 1}, "id": "a4"}',
            "invalid_action_args",
            "a4",
        ),
        (
            b'{"action": "rename_port", "args": {"port": 1, "name": "x'
            + b"y" * 30
            + b'"}, "id": "a5"}',
            "invalid_action_args",
            "a5",
        ),
    ],
)
async def test_bad_input_gives_one_error_result_and_one_log_line(
    hass: HomeAssistant,
    bridged_entry: MockConfigEntry,
    user: UserClient,
    strip: MaxSmartEmulator,
    caplog: pytest.LogCaptureFixture,
    payload: bytes,
    error: str,
    echoed_id: Any,
) -> None:
    """Bad JSON, envelope, action or args: an error result with a reason; nothing else."""
    await user.wait_for(f"{STRIP_TOPIC}/availability")
    await bridge_of(bridged_entry).async_wait_idle()
    switches = list(strip.switch)
    names = list(strip.port_names)
    commands_sent = (strip.requests[200], strip.requests[201])
    caplog.clear()
    user.clear()
    user.publish(f"{STRIP_TOPIC}/command", payload)
    message = await user.wait_for(f"{STRIP_TOPIC}/command/result")
    result = message.json()
    assert result["status"] == "error"
    assert result["error"] == error
    assert result["id"] == echoed_id
    assert result["reason"]
    await bridge_of(bridged_entry).async_wait_idle()
    assert len(user.received(f"{STRIP_TOPIC}/command/result")) == 1
    warnings = bridge_warnings(caplog)
    assert len(warnings) == 1
    assert error in warnings[0]
    assert strip.switch == switches
    assert list(strip.port_names) == names
    assert (strip.requests[200], strip.requests[201]) == commands_sent


async def test_unavailable_device(
    hass: HomeAssistant,
    bridged_entry: MockConfigEntry,
    user: UserClient,
    strip: MaxSmartEmulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A command to an unavailable device is refused without being sent."""
    coordinator = bridged_entry.runtime_data.runtime.coordinator_for_device(STRIP_SERIAL)
    strip.faults.http_500 = True
    await coordinator.async_refresh()
    await user.wait_for(f"{STRIP_TOPIC}/availability", lambda m: m.payload == "offline")
    strip.faults.clear()
    switch_commands = strip.requests[200]
    caplog.clear()
    user.command(STRIP_TOPIC, "turn_off", {"port": 1}, "down")
    result = await user.result(STRIP_TOPIC, "down")
    assert result["error"] == "device_unavailable"
    assert "unavailable" in result["reason"]
    assert len(bridge_warnings(caplog)) == 1
    assert strip.switch[0] is True
    assert strip.requests[200] == switch_commands


async def test_device_failure_is_an_error_result(
    hass: HomeAssistant,
    bridged_entry: MockConfigEntry,
    user: UserClient,
    strip: MaxSmartEmulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The strip rejects the command (code 400): an error result with the family's reason."""
    await user.wait_for(f"{STRIP_TOPIC}/availability")
    strip.faults.code_400 = True
    strip.faults.cmds = frozenset({200})
    caplog.clear()
    user.command(STRIP_TOPIC, "turn_off", {"port": 1}, "rejected")
    result = await user.result(STRIP_TOPIC, "rejected")
    assert result["status"] == "error"
    assert result["error"] == "command_rejected"
    assert "Desk" in result["reason"]
    assert len(bridge_warnings(caplog)) == 1


async def test_unknown_device_topic(
    hass: HomeAssistant,
    bridged_entry: MockConfigEntry,
    user: UserClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A command on a topic that is no device's gets an unknown_device error."""
    await user.wait_for(f"{STRIP_TOPIC}/availability")
    caplog.clear()
    user.command("switchboard/kitchen/toaster", "turn_on", {"port": 1}, "t")
    result = await user.result("switchboard/kitchen/toaster", "t")
    assert result["error"] == "unknown_device"
    assert len(bridge_warnings(caplog)) == 1


async def test_commands_run_in_order(
    hass: HomeAssistant, bridged_entry: MockConfigEntry, user: UserClient, strip: MaxSmartEmulator
) -> None:
    """Commands to one device run one after another in arrival order."""
    await user.wait_for(f"{STRIP_TOPIC}/availability")
    for index, action in enumerate(["turn_off", "turn_on", "turn_off", "turn_on", "turn_off"]):
        user.command(STRIP_TOPIC, action, {"port": 1}, index)
    results = [await user.result(STRIP_TOPIC, index) for index in range(5)]
    assert [r["state"]["attributes"]["port_1_on"] for r in results] == [
        False,
        True,
        False,
        True,
        False,
    ]
    assert strip.switch[0] is False
