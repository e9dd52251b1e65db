"""Midea end to end through Home Assistant: entities, push, commands, outages, unload.

The appliances' threads and sockets run in real time, so tests wait (bounded) for a state
rather than advancing a frozen clock; nothing here asserts how long anything took.
"""

import asyncio
from collections.abc import Callable
import logging
import socket
import threading
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID, STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.switchboard.const import DOMAIN
from custom_components.switchboard.vendors.midea.client import MideaApplianceClient
from custom_components.switchboard.vendors.midea.source import tank_full

from .conftest import MideaStack, appliance_record, setup_account_entry, start_stack, stop_stack


async def until(hass: HomeAssistant, check: Callable[[], Any], timeout: float = 30.0) -> None:
    """Wait until ``check()`` is true (the appliances' threads run in real time).

    ``timeout`` is a safety net for a loaded machine, not a measurement.
    """
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)
    await hass.async_block_till_done()


def state(hass: HomeAssistant, entity_id: str) -> str:
    """The state of ``entity_id`` (which must exist)."""
    current = hass.states.get(entity_id)
    assert current is not None, entity_id
    return current.state


def attribute(hass: HomeAssistant, entity_id: str, name: str) -> Any:
    """One state attribute of ``entity_id``."""
    current = hass.states.get(entity_id)
    assert current is not None, entity_id
    return current.attributes.get(name)


async def test_account_entities(
    hass: HomeAssistant, stack: MideaStack, account_entry: MockConfigEntry
) -> None:
    """Both appliances of the account come up with their entities and registry data."""
    assert account_entry.state is ConfigEntryState.LOADED
    assert state(hass, "humidifier.cellar") == STATE_OFF
    assert attribute(hass, "humidifier.cellar", "humidity") == 50
    assert attribute(hass, "humidifier.cellar", "current_humidity") == 62
    assert attribute(hass, "humidifier.cellar", "device_class") == "dehumidifier"
    assert attribute(hass, "humidifier.cellar", "available_modes") == [
        "manual",
        "continuous",
        "auto",
        "clothes_dry",
        "shoes_dry",
    ]
    assert state(hass, "sensor.cellar_humidity") == "62"
    assert state(hass, "sensor.cellar_temperature") == "21.0"
    assert state(hass, "sensor.cellar_tank_level") == "0"
    assert state(hass, "binary_sensor.cellar_tank_full") == STATE_OFF
    assert state(hass, "select.cellar_fan_speed") == "medium"
    assert state(hass, "select.cellar_full_at_tank_level") == "50"
    for switch in ("ionizer", "pump", "swing", "child_lock", "prompt_tone"):
        assert hass.states.get(f"switch.cellar_{switch}") is not None, switch
    assert state(hass, "climate.bedroom") == "off"
    assert attribute(hass, "climate.bedroom", "current_temperature") == 26.5
    assert attribute(hass, "climate.bedroom", "current_humidity") == 55
    assert attribute(hass, "climate.bedroom", "min_temp") == 16
    assert attribute(hass, "climate.bedroom", "max_temp") == 30
    assert attribute(hass, "climate.bedroom", "target_temp_step") == 0.5
    assert set(attribute(hass, "climate.bedroom", "hvac_modes")) >= {"off", "cool", "heat", "dry"}
    assert attribute(hass, "climate.bedroom", "fan_modes") == [
        "silent",
        "low",
        "medium",
        "high",
        "full",
        "auto",
    ]
    assert attribute(hass, "climate.bedroom", "preset_modes")[0] == "none"
    energy = hass.states.get("sensor.bedroom_energy")
    assert energy is not None
    assert energy.state == "123.45"
    assert energy.attributes["state_class"] == "total_increasing"
    assert energy.attributes["unit_of_measurement"] == "kWh"
    assert state(hass, "sensor.bedroom_power") == "0.0"
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, str(stack.dehumidifier.appliance_id)), account_entry.entry_id
    )
    assert device is not None
    assert device.model == "Dehumidifier"
    assert device.serial_number == stack.dehumidifier.serial
    assert device.hw_version == "00000Q1B"
    assert device.sw_version == "3.0.8"
    assert (dr.CONNECTION_NETWORK_MAC, "88:c2:9c:96:3b:b0") in device.connections


async def test_push_reaches_entities_without_a_poll(
    hass: HomeAssistant, stack: MideaStack, account_entry: MockConfigEntry
) -> None:
    """A status frame the appliance sends on its own updates the entities; nothing polls."""
    coordinator = account_entry.runtime_data.runtime.coordinators["appliances"]
    fetches = 0
    original = coordinator.source.async_fetch

    async def counting_fetch() -> Any:
        nonlocal fetches
        fetches += 1
        return await original()

    coordinator.source.async_fetch = counting_fetch  # type: ignore[method-assign]
    stack.dehumidifier.humidity = 71
    stack.dehumidifier.tank = 55
    stack.dehumidifier.push()
    await until(hass, lambda: state(hass, "sensor.cellar_humidity") == "71")
    assert state(hass, "binary_sensor.cellar_tank_full") == STATE_ON
    stack.air_conditioner.power = True
    stack.air_conditioner.mode = 4
    stack.air_conditioner.push()
    await until(hass, lambda: state(hass, "climate.bedroom") == "heat")
    assert fetches == 0


async def test_dehumidifier_commands(
    hass: HomeAssistant, stack: MideaStack, account_entry: MockConfigEntry
) -> None:
    """Every dehumidifier control reaches the appliance and shows from its reply."""
    appliance = stack.dehumidifier
    coordinator = account_entry.runtime_data.runtime.coordinators["appliances"]
    entity = {ATTR_ENTITY_ID: "humidifier.cellar"}
    await hass.services.async_call("humidifier", "turn_on", entity, blocking=True)
    assert appliance.power
    assert state(hass, "humidifier.cellar") == STATE_ON
    assert coordinator.update_interval.total_seconds() == 2  # the burst after a command
    await hass.services.async_call(
        "humidifier", "set_humidity", {**entity, "humidity": 45}, blocking=True
    )
    assert appliance.target_humidity == 45
    assert attribute(hass, "humidifier.cellar", "humidity") == 45
    await hass.services.async_call(
        "humidifier", "set_mode", {**entity, "mode": "continuous"}, blocking=True
    )
    assert appliance.mode == 2
    assert attribute(hass, "humidifier.cellar", "mode") == "continuous"
    await hass.services.async_call(
        "select",
        "select_option",
        {ATTR_ENTITY_ID: "select.cellar_fan_speed", "option": "high"},
        blocking=True,
    )
    assert appliance.fan_speed == 80
    await hass.services.async_call(
        "select",
        "select_option",
        {ATTR_ENTITY_ID: "select.cellar_full_at_tank_level", "option": "75"},
        blocking=True,
    )
    assert appliance.water_level_set == 75
    for switch, attr in (("ionizer", "anion"), ("pump", "pump"), ("swing", "swing")):
        await hass.services.async_call(
            "switch", "turn_on", {ATTR_ENTITY_ID: f"switch.cellar_{switch}"}, blocking=True
        )
        assert getattr(appliance, attr), switch
        assert state(hass, f"switch.cellar_{switch}") == STATE_ON
    await hass.services.async_call(
        "switch", "turn_on", {ATTR_ENTITY_ID: "switch.cellar_child_lock"}, blocking=True
    )
    assert appliance.child_lock
    appliance.filter_reminder = True
    appliance.push()
    await until(hass, lambda: state(hass, "binary_sensor.cellar_filter_needs_cleaning") == "on")
    await hass.services.async_call(
        "button", "press", {ATTR_ENTITY_ID: "button.cellar_reset_filter_reminder"}, blocking=True
    )
    assert not appliance.filter_reminder
    assert state(hass, "binary_sensor.cellar_filter_needs_cleaning") == STATE_OFF
    # Every set carried the whole state: nothing set earlier was undone by a later set.
    assert (appliance.target_humidity, appliance.mode, appliance.fan_speed) == (45, 2, 80)
    await hass.services.async_call("humidifier", "turn_off", entity, blocking=True)
    assert not appliance.power


async def test_air_conditioner_commands(
    hass: HomeAssistant, stack: MideaStack, account_entry: MockConfigEntry
) -> None:
    """HVAC mode, temperature, fan, swing and presets reach the air conditioner."""
    appliance = stack.air_conditioner
    entity = {ATTR_ENTITY_ID: "climate.bedroom"}
    await hass.services.async_call(
        "climate", "set_hvac_mode", {**entity, "hvac_mode": "cool"}, blocking=True
    )
    assert appliance.power
    assert appliance.mode == 2
    assert state(hass, "climate.bedroom") == "cool"
    await hass.services.async_call(
        "climate", "set_temperature", {**entity, "temperature": 21.5}, blocking=True
    )
    assert appliance.target_temperature == 21.5
    assert attribute(hass, "climate.bedroom", "temperature") == 21.5
    await hass.services.async_call(
        "climate", "set_fan_mode", {**entity, "fan_mode": "low"}, blocking=True
    )
    assert appliance.fan_speed == 40
    assert attribute(hass, "climate.bedroom", "fan_mode") == "low"
    await hass.services.async_call(
        "climate", "set_swing_mode", {**entity, "swing_mode": "both"}, blocking=True
    )
    assert (appliance.swing_vertical, appliance.swing_horizontal) == (True, True)
    assert attribute(hass, "climate.bedroom", "swing_mode") == "both"
    await hass.services.async_call(
        "climate", "set_preset_mode", {**entity, "preset_mode": "boost"}, blocking=True
    )
    assert appliance.boost
    assert attribute(hass, "climate.bedroom", "preset_mode") == "boost"
    await hass.services.async_call(
        "climate", "set_preset_mode", {**entity, "preset_mode": "none"}, blocking=True
    )
    assert not appliance.boost
    await hass.services.async_call("climate", "turn_off", entity, blocking=True)
    assert not appliance.power
    assert state(hass, "climate.bedroom") == "off"


def test_tank_full_rule() -> None:
    """Full at the setpoint; with a setpoint of 0 only at 100 % (midea-local: any water)."""
    assert tank_full(0, "50") is False
    assert tank_full(49, "50") is False
    assert tank_full(50, "50") is True
    assert tank_full(40, "0") is False
    assert tank_full(99, "0") is False
    assert tank_full(100, "0") is True
    assert tank_full(None, "50") is None
    assert tank_full(30, "bogus") is False


async def test_tank_full_with_setpoint_zero(hass: HomeAssistant, socket_enabled: None) -> None:
    """An appliance reporting a water-level setpoint of 0 is not "full" with some water in it."""
    stack = await start_stack(water_level_set=0)
    try:
        stack.dehumidifier.tank = 40
        entry = await setup_account_entry(hass, stack)
        assert state(hass, "sensor.cellar_tank_level") == "40"
        assert state(hass, "binary_sensor.cellar_tank_full") == STATE_OFF
        stack.dehumidifier.tank = 100
        stack.dehumidifier.push()
        await until(hass, lambda: state(hass, "binary_sensor.cellar_tank_full") == STATE_ON)
        await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await stop_stack(stack)


async def test_power_cut_and_return(
    hass: HomeAssistant,
    stack: MideaStack,
    account_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A powered-off appliance goes unavailable (logged once) and comes back by itself."""
    caplog.set_level(logging.INFO, logger="custom_components.switchboard")
    await stack.dehumidifier_server.stop()
    await until(hass, lambda: state(hass, "humidifier.cellar") == STATE_UNAVAILABLE)
    assert state(hass, "climate.bedroom") == "off"  # the other appliance is unaffected
    await asyncio.sleep(1)  # several reconnection attempts while it is away
    stack.dehumidifier.humidity = 44
    await stack.dehumidifier_server.start()
    await until(hass, lambda: state(hass, "sensor.cellar_humidity") == "44")
    assert state(hass, "humidifier.cellar") == STATE_OFF
    messages = [record.getMessage() for record in caplog.records]
    assert messages.count("Cellar is unavailable") == 1
    assert messages.count("Cellar is available again") == 1
    await hass.services.async_call(
        "humidifier",
        "set_humidity",
        {ATTR_ENTITY_ID: "humidifier.cellar", "humidity": 60},
        blocking=True,
    )
    assert stack.dehumidifier.target_humidity == 60


async def test_silent_appliance_recovers(
    hass: HomeAssistant, stack: MideaStack, account_entry: MockConfigEntry
) -> None:
    """An appliance that keeps its socket open but stops answering is found by the poll."""
    coordinator = account_entry.runtime_data.runtime.coordinators["appliances"]
    stack.air_conditioner.faults.silent = True
    await coordinator.async_refresh()
    await until(hass, lambda: state(hass, "climate.bedroom") == STATE_UNAVAILABLE)
    stack.air_conditioner.faults.silent = False
    await until(hass, lambda: state(hass, "climate.bedroom") == "off")


async def test_dropped_connection_and_garbage(
    hass: HomeAssistant,
    stack: MideaStack,
    account_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A dropped connection, garbage and truncated frames: errors, then recovery.

    midea-local's tracebacks for the undecodable bytes are at debug level, not error.
    """
    caplog.set_level(logging.DEBUG)
    appliance = stack.dehumidifier
    entity = {ATTR_ENTITY_ID: "humidifier.cellar"}
    for fault in ("garbage", "truncated"):
        setattr(appliance.faults, fault, True)
        with pytest.raises(Exception, match="Cellar"):
            await hass.services.async_call(
                "humidifier", "set_humidity", {**entity, "humidity": 40}, blocking=True
            )
        setattr(appliance.faults, fault, False)
        await until(hass, lambda: state(hass, "humidifier.cellar") != STATE_UNAVAILABLE)
    appliance.faults.drop_connection = True
    with pytest.raises(Exception, match="Cellar"):
        await hass.services.async_call(
            "humidifier", "set_humidity", {**entity, "humidity": 41}, blocking=True
        )
    appliance.faults.drop_connection = False
    await until(hass, lambda: state(hass, "humidifier.cellar") == STATE_OFF)
    await hass.services.async_call(
        "humidifier", "set_humidity", {**entity, "humidity": 42}, blocking=True
    )
    assert appliance.target_humidity == 42
    records = [record for record in caplog.records if record.name == "midealocal.device"]
    assert any(record.exc_info for record in records)  # the library did log the tracebacks
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []


async def test_unload_leaves_no_thread_or_socket(hass: HomeAssistant, stack: MideaStack) -> None:
    """Unloading stops every appliance thread and closes every connection."""
    before = set(threading.enumerate())
    entry = await setup_account_entry(hass, stack)
    assert len(set(threading.enumerate()) - before) >= 2  # one midea-local thread each
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    leftover = [
        thread
        for thread in set(threading.enumerate()) - before
        if not thread.name.startswith(("SyncWorker", "ThreadPoolExecutor"))
    ]
    assert leftover == []
    await until(
        hass,
        lambda: (
            not stack.dehumidifier._push_listeners and not stack.air_conditioner._push_listeners
        ),
    )


async def test_nothing_blocks_the_event_loop(
    hass: HomeAssistant,
    stack: MideaStack,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No blocking socket call runs on the event loop thread, and block_async_io stays quiet.

    Home Assistant's detector covers sleep, files and imports; sockets are checked here: any
    blocking-mode ``connect``/``send``/``recv`` on the loop's thread is recorded.
    """
    loop_thread = threading.get_ident()
    offenders: list[str] = []

    def guard(name: str) -> Any:
        original = getattr(socket.socket, name)

        def checked(self: socket.socket, *args: Any, **kwargs: Any) -> Any:
            if threading.get_ident() == loop_thread and self.getblocking():
                offenders.append(name)
            return original(self, *args, **kwargs)

        return checked

    for name in ("connect", "send", "sendall", "recv"):
        monkeypatch.setattr(socket.socket, name, guard(name))
    entry = await setup_account_entry(hass, stack)
    await hass.services.async_call(
        "humidifier",
        "set_humidity",
        {ATTR_ENTITY_ID: "humidifier.cellar", "humidity": 58},
        blocking=True,
    )
    stack.dehumidifier.push()
    await entry.runtime_data.runtime.coordinators["appliances"].async_refresh()
    await stack.air_conditioner_server.stop()
    await until(hass, lambda: state(hass, "climate.bedroom") == STATE_UNAVAILABLE)
    await stack.air_conditioner_server.start()
    await until(hass, lambda: state(hass, "climate.bedroom") == "off")
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert offenders == []
    assert "Detected blocking call" not in caplog.text


async def test_account_follows_appliances_added_and_removed(
    hass: HomeAssistant,
    stack: MideaStack,
    network_adapters: list[Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An appliance added to the account appears without a reload; a removed one leaves the
    device registry by itself; an offline one stays."""
    from homeassistant.setup import async_setup_component

    from custom_components.switchboard import async_remove_config_entry_device
    from custom_components.switchboard.vendors.midea.cloud import async_refresh_account

    from ..conftest import LOOPBACK_ADAPTER

    network_adapters.append(LOOPBACK_ADAPTER)
    assert await async_setup_component(hass, "network", {})
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="account",
        data={
            "family": "midea",
            "account": "comfee@example.com",
            "password": "correct horse",
            "cloud": "NetHome Plus",
            "api_url": stack.cloud.url,
            "discovery_port": stack.discovery_port,
            "appliances": {
                str(stack.dehumidifier.appliance_id): appliance_record(stack.dehumidifier)
            },
        },
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    source = entry.runtime_data.runtime.source
    await until(hass, lambda: hass.states.get("climate.bedroom") is not None)
    assert str(stack.air_conditioner.appliance_id) in entry.data["appliances"]
    assert entry.runtime_data.runtime.source is source  # no reload
    registry = dr.async_get(hass)
    dehumidifier = registry.async_get_device_by_identifier(
        (DOMAIN, str(stack.dehumidifier.appliance_id)), entry.entry_id
    )
    assert dehumidifier is not None
    stack.account.appliances.remove(stack.air_conditioner)
    await stack.dehumidifier_server.stop()  # powered off, still in the account
    await until(hass, lambda: state(hass, "humidifier.cellar") == STATE_UNAVAILABLE)
    await async_refresh_account(hass, entry, source)
    await hass.async_block_till_done()
    assert hass.states.get("climate.bedroom") is None
    assert str(stack.air_conditioner.appliance_id) not in entry.data["appliances"]
    assert (
        registry.async_get_device_by_identifier(
            (DOMAIN, str(stack.air_conditioner.appliance_id)), entry.entry_id
        )
        is None
    )
    assert not [
        item
        for item in er.async_get(hass).entities.values()
        if item.unique_id.startswith(f"{stack.air_conditioner.appliance_id}_")
    ]
    # The offline dehumidifier stays, and cannot be deleted by hand while the entry has it.
    assert registry.async_get(dehumidifier.id) is not None
    assert not await async_remove_config_entry_device(hass, entry, dehumidifier)
    assert state(hass, "humidifier.cellar") == STATE_UNAVAILABLE
    await stack.dehumidifier_server.start()
    # Back in the account, but the cloud refuses its key: offered under Discovered.
    stack.account.appliances.append(stack.air_conditioner)
    stack.account.refuse_token.add(stack.air_conditioner.appliance_id)
    await async_refresh_account(hass, entry, source)
    await hass.async_block_till_done()
    offered = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["step_id"] for flow in offered] == ["midea_discovery_keys"]
    assert offered[0]["context"]["unique_id"] == str(stack.air_conditioner.appliance_id)
    # The step shows the cloud's refusal, as the account's own keys step does.
    shown = await hass.config_entries.flow.async_configure(offered[0]["flow_id"])
    assert shown["description_placeholders"]["code"] == "9999"
    assert "new appliance Bedroom (cloud error 9999)" in caplog.text
    hass.config_entries.flow.async_abort(offered[0]["flow_id"])
    # A refused password asks the user to sign in again.
    stack.cloud.accounts["comfee@example.com"].password = "changed"
    await async_refresh_account(hass, entry, source)
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]
    await hass.config_entries.async_unload(entry.entry_id)


async def test_slow_replies(
    hass: HomeAssistant, stack: MideaStack, account_entry: MockConfigEntry
) -> None:
    """A slow appliance still takes commands; one slower than the reply timeout fails them
    with a translated error and then recovers."""
    appliance = stack.dehumidifier
    entity = {ATTR_ENTITY_ID: "humidifier.cellar"}
    appliance.faults.delay = 0.3  # tests wait 3 s for a reply
    await hass.services.async_call(
        "humidifier", "set_humidity", {**entity, "humidity": 52}, blocking=True
    )
    assert attribute(hass, "humidifier.cellar", "humidity") == 52
    appliance.faults.delay = MideaApplianceClient.reply_timeout + 1
    with pytest.raises(HomeAssistantError) as raised:
        await hass.services.async_call(
            "humidifier", "set_humidity", {**entity, "humidity": 53}, blocking=True
        )
    assert raised.value.translation_key == "command_failed"
    appliance.faults.delay = 0
    await until(hass, lambda: state(hass, "humidifier.cellar") == STATE_OFF)


async def test_refused_token_after_a_reset(
    hass: HomeAssistant,
    stack: MideaStack,
    account_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An appliance that starts refusing its token (reset, new key) stays unavailable, says
    why once, and does not get hammered with handshakes."""
    appliance = stack.air_conditioner
    appliance.faults.reject_token = True
    await stack.air_conditioner_server.stop()
    await stack.air_conditioner_server.start()
    await until(hass, lambda: state(hass, "climate.bedroom") == STATE_UNAVAILABLE)
    source = account_entry.runtime_data.runtime.source
    client = source.clients[str(appliance.appliance_id)]
    await until(hass, lambda: client.last_error == "wrong_token")
    connections = stack.air_conditioner_server.connections
    await asyncio.sleep(1)  # several normal reconnection intervals (0.2 s in tests)
    assert stack.air_conditioner_server.connections == connections
    assert caplog.text.count("Bedroom refuses its token") == 1
    issues = ir.async_get(hass)
    issue = issues.async_get_issue(
        DOMAIN, f"midea_key_refused_{appliance.appliance_id}_{account_entry.entry_id}"
    )
    assert issue is not None
    assert issue.translation_placeholders == {
        "entry": account_entry.title,
        "appliance": "Bedroom",
        "what": "token",
    }
    # Reconfigure reloads the entry with the right token and key: the issue goes.
    appliance.faults.reject_token = False
    assert await hass.config_entries.async_reload(account_entry.entry_id)
    await until(hass, lambda: state(hass, "climate.bedroom") == "off")
    assert (
        issues.async_get_issue(
            DOMAIN, f"midea_key_refused_{appliance.appliance_id}_{account_entry.entry_id}"
        )
        is None
    )


async def test_refused_key_issue_clears_by_itself(
    hass: HomeAssistant,
    stack: MideaStack,
    account_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The repair issue goes as soon as the appliance accepts its token again, no reload."""
    from custom_components.switchboard.vendors.midea.client import MideaApplianceClient

    monkeypatch.setattr(MideaApplianceClient, "auth_retry_interval", 0.2)
    appliance = stack.dehumidifier
    issue_id = f"midea_key_refused_{appliance.appliance_id}_{account_entry.entry_id}"
    issues = ir.async_get(hass)
    appliance.faults.reject_token = True
    await stack.dehumidifier_server.stop()
    await stack.dehumidifier_server.start()
    await until(hass, lambda: issues.async_get_issue(DOMAIN, issue_id) is not None)
    assert state(hass, "humidifier.cellar") == STATE_UNAVAILABLE
    appliance.faults.reject_token = False
    await until(hass, lambda: state(hass, "humidifier.cellar") == STATE_OFF)
    assert issues.async_get_issue(DOMAIN, issue_id) is None
