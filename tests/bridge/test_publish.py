"""Publishing: retained attributes and availability, changes, topics, birth, restarts."""

import asyncio
import hashlib
import json

from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar, device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.switchboard.const import DOMAIN
from emulators.maxsmart import MaxSmartEmulator
from emulators.mosquitto import Mosquitto
from tests.maxsmart.conftest import STRIP_SERIAL

from .conftest import BASE, STRIP_TOPIC, UserClient, bridge_of, strip_entry, wait_connected


async def test_attributes_and_availability_are_retained(
    hass: HomeAssistant, bridged_entry: MockConfigEntry, user: UserClient
) -> None:
    """Every attribute is retained under <base>/<area>/<device>/<attribute>, text or JSON."""
    await user.wait_for(f"{STRIP_TOPIC}/availability")
    retained = await user.retained(STRIP_TOPIC)
    assert retained[f"{STRIP_TOPIC}/availability"] == "online"
    assert retained[f"{STRIP_TOPIC}/name"] == "Desk"  # str: plain text
    assert retained[f"{STRIP_TOPIC}/port_1_name"] == "TV"
    assert retained[f"{STRIP_TOPIC}/port_1_on"] == "true"  # bool: JSON
    assert isinstance(json.loads(retained[f"{STRIP_TOPIC}/power"]), float)
    state = bridged_entry.runtime_data.runtime.devices()[STRIP_SERIAL][1]
    assert {topic.rsplit("/", 1)[1] for topic in retained} == {*state.attributes, "availability"}


async def test_only_changes_are_published(
    hass: HomeAssistant, bridged_entry: MockConfigEntry, user: UserClient, strip: MaxSmartEmulator
) -> None:
    """A change publishes the changed attributes only; an unchanged poll publishes nothing."""
    await user.wait_for(f"{STRIP_TOPIC}/availability")
    await bridge_of(bridged_entry).async_wait_idle()
    await asyncio.sleep(0.2)
    user.clear()
    strip.set_switch(2, False)
    coordinator = bridged_entry.runtime_data.runtime.coordinator_for_device(STRIP_SERIAL)
    await coordinator.async_refresh()
    message = await user.wait_for(f"{STRIP_TOPIC}/port_2_on")
    assert message.payload == "false"
    await bridge_of(bridged_entry).async_wait_idle()
    await asyncio.sleep(0.2)
    topics = {m.topic for m in user.received()}
    assert f"{STRIP_TOPIC}/name" not in topics
    assert f"{STRIP_TOPIC}/port_1_on" not in topics
    assert f"{STRIP_TOPIC}/availability" not in topics


async def test_availability_follows_the_device(
    hass: HomeAssistant, bridged_entry: MockConfigEntry, user: UserClient, strip: MaxSmartEmulator
) -> None:
    """The strip stops answering: offline (retained); it answers again: online."""
    coordinator = bridged_entry.runtime_data.runtime.coordinator_for_device(STRIP_SERIAL)
    await user.wait_for(f"{STRIP_TOPIC}/availability", lambda m: m.payload == "online")
    strip.faults.http_500 = True
    await coordinator.async_refresh()
    await user.wait_for(f"{STRIP_TOPIC}/availability", lambda m: m.payload == "offline")
    assert (await user.retained(STRIP_TOPIC))[f"{STRIP_TOPIC}/availability"] == "offline"
    user.clear()
    strip.faults.clear()
    await coordinator.async_refresh()
    await user.wait_for(f"{STRIP_TOPIC}/availability", lambda m: m.payload == "online")


async def test_area_and_name_move_the_topics(
    hass: HomeAssistant, bridged_entry: MockConfigEntry, user: UserClient
) -> None:
    """Moving the device to an area or renaming it moves its topics and clears the old ones."""
    await user.wait_for(f"{STRIP_TOPIC}/availability")
    device_registry = dr.async_get(hass)
    device = device_registry.async_get_device_by_identifier(
        (DOMAIN, STRIP_SERIAL), bridged_entry.entry_id
    )
    assert device is not None
    area = ar.async_get(hass).async_create("Living Room")
    device_registry.async_update_device(device.id, area_id=area.id, name_by_user="Desk #2")
    await hass.async_block_till_done()
    moved = f"{BASE}/living_room/desk_2"
    await user.wait_for(f"{moved}/port_1_on", lambda m: m.payload == "true")
    await bridge_of(bridged_entry).async_wait_idle()
    assert await user.retained(STRIP_TOPIC) == {}
    retained = await user.retained(moved)
    assert retained[f"{moved}/availability"] == "online"
    user.command(moved, "turn_off", {"port": 1}, "moved-1")
    assert (await user.result(moved, "moved-1"))["status"] == "ok"


async def test_birth_message_republishes_everything(
    hass: HomeAssistant, bridged_entry: MockConfigEntry, user: UserClient
) -> None:
    """Home Assistant's birth message (homeassistant/status online) republishes every topic."""
    await user.wait_for(f"{STRIP_TOPIC}/availability")
    await bridge_of(bridged_entry).async_wait_idle()
    await asyncio.sleep(0.2)
    user.clear()
    user.publish("homeassistant/status", "offline")
    await asyncio.sleep(0.3)
    assert user.received(f"{STRIP_TOPIC}/port_1_name") == []  # only "online" republishes
    user.publish("homeassistant/status", "online")
    await user.wait_for(f"{STRIP_TOPIC}/port_1_name", lambda m: m.payload == "TV")
    await user.wait_for(f"{STRIP_TOPIC}/availability", lambda m: m.payload == "online")
    assert bridge_of(bridged_entry).stats.republishes >= 2


async def test_retained_state_across_home_assistant_restart(
    hass: HomeAssistant,
    mqtt_entry: MockConfigEntry,
    broker: Mosquitto,
    user: UserClient,
    strip: MaxSmartEmulator,
) -> None:
    """Home Assistant goes away: the broker keeps the state, offline; it comes back: updated.

    The restart is both config entries unloaded (Home Assistant's MQTT client disconnects) and
    set up again with fresh objects, as after a restart.
    """
    entry = strip_entry(strip)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await user.wait_for(f"{STRIP_TOPIC}/availability", lambda m: m.payload == "online")
    await bridge_of(entry).async_wait_idle()

    assert await hass.config_entries.async_unload(entry.entry_id)
    assert await hass.config_entries.async_unload(mqtt_entry.entry_id)
    await wait_connected(hass, False)
    retained = await user.retained(STRIP_TOPIC)
    assert retained[f"{STRIP_TOPIC}/availability"] == "offline"
    assert retained[f"{STRIP_TOPIC}/port_3_on"] == "true"
    assert retained[f"{STRIP_TOPIC}/port_3_name"] == "Router"

    strip.set_switch(3, False)  # changed while Home Assistant was down
    user.clear()
    assert await hass.config_entries.async_setup(mqtt_entry.entry_id)
    await wait_connected(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await user.wait_for(f"{STRIP_TOPIC}/port_3_on", lambda m: m.payload == "false")
    await bridge_of(entry).async_wait_idle()
    retained = await user.retained(STRIP_TOPIC)
    assert retained[f"{STRIP_TOPIC}/availability"] == "online"
    assert retained[f"{STRIP_TOPIC}/port_3_on"] == "false"
    user.command(STRIP_TOPIC, "turn_on", {"port": 3}, "after-restart")
    assert (await user.result(STRIP_TOPIC, "after-restart"))["status"] == "ok"
    assert strip.switch[2] is True
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_broker_restart(
    hass: HomeAssistant,
    bridged_entry: MockConfigEntry,
    broker: Mosquitto,
    user: UserClient,
    strip: MaxSmartEmulator,
) -> None:
    """The broker restarts (losing every retained message) with a command in flight.

    The command's result arrives after the restart (or, resent with the same id, is answered
    from the cache without switching twice); the state is republished, including a change made
    while the broker was down; new commands work.
    """
    bridge = bridge_of(bridged_entry)
    coordinator = bridged_entry.runtime_data.runtime.coordinator_for_device(STRIP_SERIAL)
    await user.wait_for(f"{STRIP_TOPIC}/availability")
    await bridge.async_wait_idle()

    strip.faults.delay = 1.0  # the command is still running when the broker goes
    strip.faults.cmds = frozenset({200})
    user.command(STRIP_TOPIC, "turn_off", {"port": 4}, "in-flight")
    await asyncio.sleep(0.3)
    await broker.stop()
    await wait_connected(hass, False)
    strip.faults.clear()
    await asyncio.sleep(1.2)  # the command completes while the broker is down
    assert strip.switch[3] is False
    strip.set_switch(5, False)  # and another change is polled while it is down
    await coordinator.async_refresh()
    assert bridge.diagnostics()["unsent_results"] + bridge.diagnostics()["queued"] >= 1

    user.clear()
    await broker.start()
    await user.wait_subscribed()
    await wait_connected(hass)
    await user.wait_for(f"{STRIP_TOPIC}/port_5_on", lambda m: m.payload == "false")
    # Availability is announced once the command subscription is back.
    await user.wait_for(f"{STRIP_TOPIC}/availability", lambda m: m.payload == "online")
    try:
        result = await user.result(STRIP_TOPIC, "in-flight", timeout=3)
    except AssertionError:
        # The result left before this client resubscribed: a client resends the same id.
        user.command(STRIP_TOPIC, "turn_off", {"port": 4}, "in-flight")
        result = await user.result(STRIP_TOPIC, "in-flight")
    assert result["status"] == "ok"
    assert result["state"]["attributes"]["port_4_on"] is False
    await bridge.async_wait_idle()
    retained = await user.retained(STRIP_TOPIC)
    assert retained[f"{STRIP_TOPIC}/port_4_on"] == "false"
    assert retained[f"{STRIP_TOPIC}/port_5_on"] == "false"
    assert retained[f"{STRIP_TOPIC}/availability"] == "online"

    user.command(STRIP_TOPIC, "turn_on", {"port": 4}, "after")
    assert (await user.result(STRIP_TOPIC, "after"))["status"] == "ok"
    assert strip.switch[3] is True


async def test_resent_id_is_not_executed_twice(
    hass: HomeAssistant, bridged_entry: MockConfigEntry, user: UserClient, strip: MaxSmartEmulator
) -> None:
    """A command resent with the same id gets the same result; the device is switched once."""
    await user.wait_for(f"{STRIP_TOPIC}/availability")
    user.command(STRIP_TOPIC, "turn_off", {"port": 6}, 42)
    first = await user.result(STRIP_TOPIC, 42)
    strip.set_switch(6, True)  # someone switches it back on at the strip
    user.command(STRIP_TOPIC, "turn_off", {"port": 6}, 42)
    await user.wait_for(f"{STRIP_TOPIC}/command/result", lambda m: len(user.received(m.topic)) >= 2)
    results = [m.json() for m in user.received(f"{STRIP_TOPIC}/command/result")]
    assert results == [first, first]
    assert strip.switch[5] is True
    assert bridge_of(bridged_entry).stats.duplicates_answered == 1


async def test_bridge_off_by_default_and_excluded_devices(
    hass: HomeAssistant, mqtt_entry: MockConfigEntry, user: UserClient, strip: MaxSmartEmulator
) -> None:
    """Without the option nothing is published; an excluded device is not bridged."""
    entry = strip_entry(strip)
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, options={})
    assert await hass.config_entries.async_setup(entry.entry_id)
    await asyncio.sleep(0.5)
    assert not bridge_of(entry).running
    assert user.received(f"{STRIP_TOPIC}/availability") == []
    assert await hass.config_entries.async_unload(entry.entry_id)

    user.publish(f"{STRIP_TOPIC}/power", "1", retain=True)  # left from an earlier run
    hass.config_entries.async_update_entry(
        entry,
        options={
            "mqtt_bridge": {"enabled": True, "base_topic": BASE, "exclude_devices": [STRIP_SERIAL]}
        },
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert bridge_of(entry).running
    await bridge_of(entry).async_wait_idle()
    # Retained state is QoS 0: idle means written, so wait until the broker passed it on.
    await user.wait_for(f"{STRIP_TOPIC}/power", lambda m: m.payload == "")
    assert await user.retained(STRIP_TOPIC) == {}
    user.command(STRIP_TOPIC, "turn_off", {"port": 1}, "excluded")
    result = await user.result(STRIP_TOPIC, "excluded")
    assert result["error"] == "unknown_device"
    assert strip.switch[0] is True
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_discovery_configs(
    hass: HomeAssistant, mqtt_entry: MockConfigEntry, user: UserClient, strip: MaxSmartEmulator
) -> None:
    """With discovery on, a device discovery config names every attribute's topic."""
    entry = strip_entry(strip, discovery=True)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    # The node id is the documented public id: SHA-256 of the device id, 12 hex digits.
    node = f"switchboard_{hashlib.sha256(STRIP_SERIAL.encode()).hexdigest()[:12]}"
    topic = f"homeassistant/device/{node}/config"
    config = (await user.wait_for(topic)).json()
    assert config["dev"]["ids"] == [node]
    assert config["avty_t"] == f"{STRIP_TOPIC}/availability"
    components = config["cmps"]
    assert components["power"] == {
        "p": "sensor",
        "unique_id": f"{node}_power",
        "name": "Power",
        "stat_t": f"{STRIP_TOPIC}/power",
        "unit_of_meas": "W",
    }
    switch = components["switch_port_1"]
    assert switch["cmd_t"] == f"{STRIP_TOPIC}/command"
    assert json.loads(switch["pl_on"]) == {"action": "turn_on", "args": {"port": 1}}
    assert "port_1_on" not in components  # the switch stands for it
    # The discovery payload drives the real command path.
    user.publish(switch["cmd_t"], switch["pl_off"])
    await user.wait_for(f"{STRIP_TOPIC}/port_1_on", lambda m: m.payload == "false")
    assert strip.switch[0] is False
    assert await hass.config_entries.async_unload(entry.entry_id)
    await user.wait_for(f"{STRIP_TOPIC}/availability", lambda m: m.payload == "offline")


async def test_setup_without_mqtt(hass: HomeAssistant, strip: MaxSmartEmulator) -> None:
    """Without Home Assistant's mqtt the entry still loads; the bridge stays off."""
    entry = strip_entry(strip)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert bridge_of(entry) is not None
    assert not bridge_of(entry).running
    assert hass.states.get("switch.desk_tv").state == "on"
    assert await hass.config_entries.async_unload(entry.entry_id)
