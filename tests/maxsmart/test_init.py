"""MaxSmart end to end: entities, polling, commands, availability, rename, unload."""

from datetime import timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID, STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er
import probatio
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.switchboard.const import DOMAIN
from emulators.maxsmart import MaxSmartEmulator

from .integration import reported_watts, setup_entry


async def _tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    # Coordinator polls run as background tasks.
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_strip_entities_and_device(hass: HomeAssistant, strip: MaxSmartEmulator) -> None:
    """A 6-port 1.30 strip: named port switches, master switch, power in W, device info."""
    entry = await setup_entry(hass, strip)
    assert entry.state is ConfigEntryState.LOADED

    # Port names come from the device.
    for index, name in enumerate(strip.port_names, start=1):
        state = hass.states.get(f"switch.desk_{name.lower()}")
        assert state is not None, name
        assert state.state == STATE_ON
        assert state.attributes["friendly_name"] == f"Desk {name}"
        # Every entity of a port is named after the port (issue 12, item 3).
        power = hass.states.get(f"sensor.desk_{name.lower()}_power")
        assert power is not None
        assert power.attributes["friendly_name"] == f"Desk {name} power"
        assert float(power.state) == pytest.approx(reported_watts(strip, index), abs=0.01)
        assert power.attributes["unit_of_measurement"] == "W"
    total = float(hass.states.get("sensor.desk_power").state)
    assert total == pytest.approx(sum(reported_watts(strip, i) for i in range(1, 7)), abs=0.05)
    assert hass.states.get("switch.desk_all_ports").state == STATE_ON

    energy = hass.states.get("sensor.desk_tv_energy")
    assert energy.attributes["state_class"] == "total_increasing"
    assert energy.attributes["device_class"] == "energy"
    assert energy.attributes["unit_of_measurement"] == "kWh"

    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, strip.serial), entry.entry_id
    )
    assert device is not None
    assert device.sw_version == "1.30"
    assert device.serial_number == strip.serial
    assert (dr.CONNECTION_NETWORK_MAC, "bc:2b:00:00:00:01") in device.connections
    assert device.model == "Power Station"

    # Current sensors are diagnostic and disabled by default.
    current = er.async_get(hass).async_get("sensor.desk_tv_current")
    assert current is not None
    assert current.disabled_by is er.RegistryEntryDisabler.INTEGRATION


async def test_plug_milliwatts(hass: HomeAssistant, plug: MaxSmartEmulator) -> None:
    """Firmware 2.11 reports integer milliwatts; the sensor shows watts."""
    entry = await setup_entry(hass, plug)
    assert plug.last_reading is not None
    raw = plug.last_reading["watt"][0]
    assert isinstance(raw, int)
    state = hass.states.get("sensor.kettle_kettle_power")
    assert float(state.state) == pytest.approx(raw / 1000, abs=0.01)
    # A one-port plug has no master switch.
    assert hass.states.get("switch.kettle_all_ports") is None
    assert hass.states.get("switch.kettle_kettle").state == STATE_ON
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, plug.serial), entry.entry_id
    )
    assert device.model == "Smart Plug"


async def test_command_shows_at_once_then_bursts(
    hass: HomeAssistant, strip: MaxSmartEmulator, freezer: FrozenDateTimeFactory
) -> None:
    """The switch shows the new state when the call returns; then 4 polls at 2 s, then 5 s."""
    entry = await setup_entry(hass, strip)
    coordinator = entry.runtime_data.runtime.coordinators[strip.serial]
    assert coordinator.update_interval == timedelta(seconds=5)

    before = strip.requests[511]
    await hass.services.async_call(
        "switch", "turn_off", {ATTR_ENTITY_ID: "switch.desk_tv"}, blocking=True
    )
    # No poll has run: the state comes from the immediate read after the command.
    assert hass.states.get("switch.desk_tv").state == STATE_OFF
    assert hass.states.get("sensor.desk_tv_power").state == "0.0"
    assert strip.switch[0] is False
    assert strip.requests[200] == 1
    assert strip.requests[511] == before + 1
    assert coordinator.update_interval == timedelta(seconds=2)

    after_command = strip.requests[511]
    for cycle in range(1, 5):
        await _tick(hass, freezer, 2)
        assert strip.requests[511] == after_command + cycle
    assert coordinator.update_interval == timedelta(seconds=5)
    # Back to normal: nothing after another 2 s, one poll by 5 s.
    await _tick(hass, freezer, 2)
    assert strip.requests[511] == after_command + 4
    await _tick(hass, freezer, 3)
    assert strip.requests[511] == after_command + 5


async def test_master_switch(hass: HomeAssistant, strip: MaxSmartEmulator) -> None:
    """The master switch (port 0) turns every port off and on."""
    await setup_entry(hass, strip)
    await hass.services.async_call(
        "switch", "turn_off", {ATTR_ENTITY_ID: "switch.desk_all_ports"}, blocking=True
    )
    assert strip.switch == [False] * 6
    assert hass.states.get("switch.desk_all_ports").state == STATE_OFF
    assert hass.states.get("switch.desk_lamp").state == STATE_OFF
    assert hass.states.get("sensor.desk_power").state == "0.0"
    await hass.services.async_call(
        "switch", "turn_on", {ATTR_ENTITY_ID: "switch.desk_all_ports"}, blocking=True
    )
    assert strip.switch == [True] * 6
    assert hass.states.get("switch.desk_lamp").state == STATE_ON


async def test_change_made_elsewhere_shows_on_next_poll(
    hass: HomeAssistant, strip: MaxSmartEmulator, freezer: FrozenDateTimeFactory
) -> None:
    """A port switched on the device itself shows after one normal interval."""
    await setup_entry(hass, strip)
    strip.set_switch(2, False)
    await _tick(hass, freezer, 5)
    assert hass.states.get("switch.desk_lamp").state == STATE_OFF


async def test_unavailable_and_recovery(
    hass: HomeAssistant,
    strip: MaxSmartEmulator,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An unreachable strip makes entities unavailable, logged once; it recovers by itself."""
    entry = await setup_entry(hass, strip)
    await strip.stop()
    await _tick(hass, freezer, 5)
    assert hass.states.get("switch.desk_tv").state == STATE_UNAVAILABLE
    assert hass.states.get("sensor.desk_power").state == STATE_UNAVAILABLE
    await _tick(hass, freezer, 5)
    await _tick(hass, freezer, 5)
    errors = [r for r in caplog.records if "Error fetching" in r.getMessage()]
    assert len(errors) == 1

    # Home Assistant skips unavailable entities in service calls; a direct command (the MQTT
    # bridge's path) is refused with a translated error and nothing is sent.
    coordinator = entry.runtime_data.runtime.coordinators[strip.serial]
    with pytest.raises(HomeAssistantError) as err:
        await coordinator.async_execute(strip.serial, "turn_on", {"port": 1})
    assert err.value.translation_key == "device_unavailable"

    await strip.start()
    await _tick(hass, freezer, 5)
    assert hass.states.get("switch.desk_tv").state == STATE_ON
    assert len([r for r in caplog.records if "recovered" in r.getMessage()]) == 1


@pytest.mark.parametrize("fault", ["garbage_json", "empty_reply", "http_500", "timeout"])
async def test_bad_replies_never_break_the_coordinator(
    hass: HomeAssistant, strip: MaxSmartEmulator, freezer: FrozenDateTimeFactory, fault: str
) -> None:
    """Malformed or missing replies mark entities unavailable; the next good poll restores."""
    entry = await setup_entry(hass, strip)
    setattr(strip.faults, fault, True)
    strip.faults.cmds = frozenset({511})
    if fault == "timeout":
        # The poll starts and waits; moving the clock past the client's 5 s timeout fires it.
        freezer.tick(timedelta(seconds=5))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
        await _tick(hass, freezer, 6)
    else:
        await _tick(hass, freezer, 5)
    assert hass.states.get("switch.desk_tv").state == STATE_UNAVAILABLE
    coordinator = entry.runtime_data.runtime.coordinators[strip.serial]
    assert coordinator.last_update_success is False

    strip.faults.clear()
    await _tick(hass, freezer, 5)
    assert hass.states.get("switch.desk_tv").state == STATE_ON


async def test_failed_command_raises_translated_error(
    hass: HomeAssistant, strip: MaxSmartEmulator
) -> None:
    """A command the device answers with HTTP 500 raises a translated error."""
    await setup_entry(hass, strip)
    strip.faults.http_500 = True
    strip.faults.cmds = frozenset({200})
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "switch", "turn_off", {ATTR_ENTITY_ID: "switch.desk_tv"}, blocking=True
        )
    assert err.value.translation_key == "command_failed"
    assert err.value.translation_domain == DOMAIN
    assert hass.states.get("switch.desk_tv").state == STATE_ON

    strip.faults.clear()
    strip.faults.code_400 = True
    strip.faults.cmds = frozenset({200})
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "switch", "turn_off", {ATTR_ENTITY_ID: "switch.desk_tv"}, blocking=True
        )
    assert err.value.translation_key == "command_rejected"


async def test_rename_port(hass: HomeAssistant, strip: MaxSmartEmulator) -> None:
    """Firmware 1.30 renames a port on the device; the switch and its sensors follow at once."""
    entry = await setup_entry(hass, strip)
    er.async_get(hass).async_update_entity("sensor.desk_tv_current", disabled_by=None)
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    await hass.services.async_call(
        DOMAIN, "rename_port", {ATTR_ENTITY_ID: "switch.desk_tv", "name": "Beamer"}, blocking=True
    )
    assert strip.port_names[0] == "Beamer"
    assert hass.states.get("switch.desk_tv").attributes["friendly_name"] == "Desk Beamer"
    for entity_id, name in (
        ("sensor.desk_tv_power", "Desk Beamer power"),
        ("sensor.desk_tv_energy", "Desk Beamer energy"),
        ("sensor.desk_tv_current", "Desk Beamer current"),
    ):
        assert hass.states.get(entity_id).attributes["friendly_name"] == name


async def test_rename_port_rejected_by_firmware(
    hass: HomeAssistant, plug: MaxSmartEmulator
) -> None:
    """Firmware 2.11 refuses renaming: a translated error naming the firmware."""
    await setup_entry(hass, plug)
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN,
            "rename_port",
            {ATTR_ENTITY_ID: "switch.kettle_kettle", "name": "Tea"},
            blocking=True,
        )
    assert err.value.translation_key == "rename_rejected"
    assert err.value.translation_placeholders["firmware"] == "2.11"
    assert plug.port_names == ["Kettle"]


async def test_rename_validation(hass: HomeAssistant, strip: MaxSmartEmulator) -> None:
    """Names over 21 characters and the master switch are refused before sending."""
    await setup_entry(hass, strip)
    with pytest.raises(probatio.Invalid):
        await hass.services.async_call(
            DOMAIN,
            "rename_port",
            {ATTR_ENTITY_ID: "switch.desk_tv", "name": "  "},
            blocking=True,
        )
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "rename_port",
            {ATTR_ENTITY_ID: "switch.desk_tv", "name": "x" * 22},
            blocking=True,
        )
    assert err.value.translation_key == "invalid_action_args"
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "rename_port",
            {ATTR_ENTITY_ID: "switch.desk_all_ports", "name": "All"},
            blocking=True,
        )
    assert err.value.translation_key == "rename_not_supported"
    assert strip.requests[201] == 0


async def test_energy_integrates_and_survives_reload(
    hass: HomeAssistant, strip: MaxSmartEmulator, freezer: FrozenDateTimeFactory
) -> None:
    """Energy is integrated from polled power, never goes backwards, and is kept on reload."""
    entry = await setup_entry(hass, strip)
    for _ in range(12):
        await _tick(hass, freezer, 5)
    first = float(hass.states.get("sensor.desk_tv_energy").state)
    # About one minute at the port's load: W * h / 1000.
    assert first == pytest.approx(strip.loads[0] * 60 / 3600 / 1000, rel=0.1)

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert float(hass.states.get("sensor.desk_tv_energy").state) >= first
    await _tick(hass, freezer, 5)
    assert float(hass.states.get("sensor.desk_tv_energy").state) > first


async def test_unload_leaves_nothing(hass: HomeAssistant, strip: MaxSmartEmulator) -> None:
    """Unloading removes the coordinator's timer and makes the entities unavailable."""
    entry = await setup_entry(hass, strip)
    coordinator = entry.runtime_data.runtime.coordinators[strip.serial]
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert hass.states.get("switch.desk_tv").state == STATE_UNAVAILABLE
    assert not coordinator._listeners
    assert coordinator._unsub_refresh is None


async def test_device_registry_follows_the_strip(
    hass: HomeAssistant, strip: MaxSmartEmulator
) -> None:
    """Renaming the strip itself (port 0) renames its device in the registry."""
    entry = await setup_entry(hass, strip)
    coordinator = entry.runtime_data.runtime.coordinators[strip.serial]
    await coordinator.async_execute(strip.serial, "rename_port", {"port": 0, "name": "Office"})
    await hass.async_block_till_done()
    assert strip.name == "Office"
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, strip.serial), entry.entry_id
    )
    assert device is not None
    assert device.name == "Office"
