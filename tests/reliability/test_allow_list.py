"""The MQTT command topic runs only allow-listed device actions, never a Home Assistant service.

With a few core integrations set up (``homeassistant``, ``shell_command`` with a command that
would leave a marker file, ``input_boolean``, ``script``), every action name Home Assistant's
services carry, bare (``restart``) and qualified (``homeassistant.restart``,
``shell_command.leave_marker``), is sent to a bridged strip's command topic over a real mosquitto.
Each must come back as an error result; no service call may happen, no marker file appear, and
the strip must receive no command.
"""

from pathlib import Path

from homeassistant.const import EVENT_CALL_SERVICE
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.switchboard.const import DOMAIN
from emulators.maxsmart import MaxSmartEmulator
from tests.bridge.conftest import STRIP_TOPIC, UserClient


async def test_other_services_are_refused_over_mqtt(
    hass: HomeAssistant,
    bridged_entry: MockConfigEntry,
    user: UserClient,
    strip: MaxSmartEmulator,
    tmp_path: Path,
) -> None:
    """Every other service's name as an action: an error result each, nothing executed."""
    marker = tmp_path / "executed"
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(
        hass, "shell_command", {"shell_command": {"leave_marker": f"touch {marker}"}}
    )
    assert await async_setup_component(hass, "input_boolean", {"input_boolean": {"flag": {}}})
    assert await async_setup_component(
        hass,
        "script",
        {"script": {"marker": {"sequence": [{"action": "shell_command.leave_marker"}]}}},
    )
    await hass.async_block_till_done()
    services = hass.services.async_services()
    assert "restart" in services["homeassistant"]
    assert "leave_marker" in services["shell_command"]
    names = sorted(
        {
            name
            for domain, domain_services in services.items()
            if domain != DOMAIN
            for service in domain_services
            for name in (service, f"{domain}.{service}")
        }
    )
    await user.wait_for(f"{STRIP_TOPIC}/availability", lambda m: m.payload == "online")
    switch_before = list(strip.switch)
    commands_before = strip.requests[200] + strip.requests[201]
    calls: list[Event] = []

    @callback
    def record(event: Event) -> None:
        calls.append(event)

    unsubscribe = hass.bus.async_listen(EVENT_CALL_SERVICE, record)
    try:
        for index, name in enumerate(names):
            user.command(STRIP_TOPIC, name, {}, f"refuse-{index}")
        results = [await user.result(STRIP_TOPIC, f"refuse-{index}") for index in range(len(names))]
    finally:
        unsubscribe()
    assert len(names) > 40
    for name, result in zip(names, results, strict=True):
        assert result["status"] == "error", (name, result)
        assert result["action"] == name
        # Bare names the strip also allows (turn_on/turn_off) are refused for their arguments.
        expected = "invalid_action_args" if name in ("turn_on", "turn_off") else "unknown_action"
        assert result["error"] == expected, (name, result)
    assert calls == []
    assert not marker.exists()
    assert strip.switch == switch_before
    assert strip.requests[200] + strip.requests[201] == commands_before  # set port, rename
