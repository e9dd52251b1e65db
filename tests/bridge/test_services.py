"""Services (bridge_start/stop/publish/send_command), options flow section, diagnostics."""

import asyncio

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.switchboard.const import DOMAIN
from custom_components.switchboard.diagnostics import async_get_config_entry_diagnostics
from emulators.maxsmart import MaxSmartEmulator
from emulators.mosquitto import Mosquitto
from tests.maxsmart.conftest import STRIP_SERIAL

from .conftest import (
    BASE,
    STRIP_TOPIC,
    UserClient,
    bridge_of,
    mqtt_config_entry,
    strip_entry,
    wait_connected,
)


def strip_device_id(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    """The device registry id of the strip."""
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, STRIP_SERIAL), entry.entry_id
    )
    assert device is not None
    return device.id


async def test_stop_and_start(
    hass: HomeAssistant, bridged_entry: MockConfigEntry, user: UserClient, strip: MaxSmartEmulator
) -> None:
    """bridge_stop: offline and deaf to commands; bridge_start: online and listening again."""
    await user.wait_for(f"{STRIP_TOPIC}/availability", lambda m: m.payload == "online")
    await hass.services.async_call(DOMAIN, "bridge_stop", {}, blocking=True)
    assert not bridge_of(bridged_entry).running
    await user.wait_for(f"{STRIP_TOPIC}/availability", lambda m: m.payload == "offline")
    user.command(STRIP_TOPIC, "turn_off", {"port": 1}, "while-stopped")
    await asyncio.sleep(0.5)
    assert user.received(f"{STRIP_TOPIC}/command/result") == []
    assert strip.switch[0] is True

    user.clear()
    await hass.services.async_call(
        DOMAIN, "bridge_start", {"config_entry_id": bridged_entry.entry_id}, blocking=True
    )
    await user.wait_for(f"{STRIP_TOPIC}/availability", lambda m: m.payload == "online")
    user.command(STRIP_TOPIC, "turn_off", {"port": 1}, "started")
    assert (await user.result(STRIP_TOPIC, "started"))["status"] == "ok"
    assert strip.switch[0] is False


async def test_publish_service(
    hass: HomeAssistant, bridged_entry: MockConfigEntry, user: UserClient
) -> None:
    """bridge_publish republishes every retained message now; it needs a running bridge."""
    await user.wait_for(f"{STRIP_TOPIC}/availability")
    await bridge_of(bridged_entry).async_wait_idle()
    await asyncio.sleep(0.2)
    user.clear()
    await hass.services.async_call(DOMAIN, "bridge_publish", {}, blocking=True)
    await user.wait_for(f"{STRIP_TOPIC}/port_6_name", lambda m: m.payload == "Spare")
    await user.wait_for(f"{STRIP_TOPIC}/availability", lambda m: m.payload == "online")

    await hass.services.async_call(DOMAIN, "bridge_stop", {}, blocking=True)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, "bridge_publish", {}, blocking=True)
    assert err.value.translation_key == "bridge_not_running"


async def test_send_command_service(
    hass: HomeAssistant, bridged_entry: MockConfigEntry, strip: MaxSmartEmulator
) -> None:
    """bridge_send_command returns the outcome; errors raise without a response."""
    device_id = strip_device_id(hass, bridged_entry)
    response = await hass.services.async_call(
        DOMAIN,
        "bridge_send_command",
        {"device_id": device_id, "action": "turn_off", "args": {"port": 5}, "id": "auto-1"},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    assert response["status"] == "ok"
    assert response["id"] == "auto-1"
    assert response["state"]["attributes"]["port_5_on"] is False
    assert strip.switch[4] is False

    response = await hass.services.async_call(
        DOMAIN,
        "bridge_send_command",
        {"device_id": device_id, "action": "explode", "args": {}},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    assert response["status"] == "error"
    assert response["error"] == "unknown_action"

    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "bridge_send_command",
            {"device_id": device_id, "action": "turn_on", "args": {"port": 42}},
            blocking=True,
        )
    assert err.value.translation_key == "bridge_command_failed"
    assert strip.switch[4] is False

    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "bridge_send_command",
            {"device_id": "not-a-device", "action": "turn_on", "args": {"port": 1}},
            blocking=True,
        )
    assert err.value.translation_key == "unknown_device"


async def test_start_without_mqtt_raises(hass: HomeAssistant, strip: MaxSmartEmulator) -> None:
    """Without Home Assistant's mqtt, bridge_start raises a translated error."""
    entry = strip_entry(strip)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(DOMAIN, "bridge_start", {}, blocking=True)
    assert err.value.translation_key == "mqtt_not_available"
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "bridge_start", {"config_entry_id": "nope"}, blocking=True
        )
    assert err.value.translation_key == "service_config_entry_not_found"
    # The command service works without MQTT.
    response = await hass.services.async_call(
        DOMAIN,
        "bridge_send_command",
        {"device_id": strip_device_id(hass, entry), "action": "turn_off", "args": {"port": 1}},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    assert response["status"] == "ok"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_options_flow_bridge_section(
    hass: HomeAssistant, mqtt_entry: MockConfigEntry, user: UserClient, strip: MaxSmartEmulator
) -> None:
    """The options flow has a bridge section; a bad base topic is refused; saving reloads."""
    entry = strip_entry(strip, enabled=False)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert "mqtt_bridge" in result["data_schema"].schema
    polling = {"scan_interval": 5, "burst_interval": 2, "burst_cycles": 4}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {**polling, "mqtt_bridge": {"enabled": True, "base_topic": "home/+/x", "discovery": False}},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"mqtt_bridge": "invalid_base_topic"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            **polling,
            "mqtt_bridge": {"enabled": True, "base_topic": "/home/sb/", "discovery": False},
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options["mqtt_bridge"]["base_topic"] == "home/sb"
    await hass.async_block_till_done()
    assert bridge_of(entry).running
    assert bridge_of(entry).settings.base_topic == "home/sb"
    fresh = UserClient(user.port, ("home/sb/#",))
    await fresh.start()
    try:
        message = await fresh.wait_for("home/sb/unassigned/desk/availability")
        assert message.payload == "online"
    finally:
        fresh.stop()
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_diagnostics_show_the_bridge(
    hass: HomeAssistant, bridged_entry: MockConfigEntry, user: UserClient
) -> None:
    """Diagnostics carry the bridge's settings, connection, counters and topics."""
    await user.wait_for(f"{STRIP_TOPIC}/availability")
    await bridge_of(bridged_entry).async_wait_idle()
    diagnostics = await async_get_config_entry_diagnostics(hass, bridged_entry)
    bridge = diagnostics["mqtt_bridge"]
    assert bridge["running"] is True
    assert bridge["connected"] is True
    assert bridge["settings"]["base_topic"] == BASE
    assert bridge["devices"] == {STRIP_SERIAL: STRIP_TOPIC}
    assert bridge["stats"]["published"] > 30


async def test_bridge_without_mqtt_repair_issue_clears_when_mqtt_comes(
    hass: HomeAssistant,
    strip: MaxSmartEmulator,
    broker: Mosquitto,
    fast_mqtt: None,
    mock_hass_config: None,
) -> None:
    """Bridge on, MQTT not set up: a repair issue; MQTT set up later: bridge runs, issue goes."""
    entry = strip_entry(strip)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    issues = ir.async_get(hass)
    issue_id = f"mqtt_bridge_without_mqtt_{entry.entry_id}"
    issue = issues.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "mqtt_bridge_without_mqtt"
    assert issue.translation_placeholders == {"entry": "Desk"}
    assert not bridge_of(entry).running

    mqtt_entry = mqtt_config_entry(broker.port)
    mqtt_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mqtt_entry.entry_id)
    await wait_connected(hass)
    async with asyncio.timeout(10):
        while issues.async_get_issue(DOMAIN, issue_id) is not None:
            await asyncio.sleep(0.02)
    assert bridge_of(entry).running
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert await hass.config_entries.async_unload(mqtt_entry.entry_id)


async def test_bridge_without_mqtt_repair_issue_goes_with_the_entry(
    hass: HomeAssistant, strip: MaxSmartEmulator
) -> None:
    """Unloading the entry (for example to switch the bridge off) clears the issue."""
    entry = strip_entry(strip)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    issue_id = f"mqtt_bridge_without_mqtt_{entry.entry_id}"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


async def test_options_flow_refuses_bridge_without_mqtt(
    hass: HomeAssistant, strip: MaxSmartEmulator
) -> None:
    """Without Home Assistant's MQTT integration, enabling the bridge is refused (issue 12)."""
    entry = strip_entry(strip, enabled=False)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    polling = {"scan_interval": 5, "burst_interval": 2, "burst_cycles": 4}
    bridge = {"base_topic": "switchboard", "discovery": False}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**polling, "mqtt_bridge": {**bridge, "enabled": True}}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"mqtt_bridge": "mqtt_not_set_up"}
    assert entry.options["mqtt_bridge"]["enabled"] is False  # nothing saved
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**polling, "mqtt_bridge": {**bridge, "enabled": False}}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options["mqtt_bridge"]["enabled"] is False
    await hass.async_block_till_done()  # the entry reloads with its new options
    assert await hass.config_entries.async_unload(entry.entry_id)
