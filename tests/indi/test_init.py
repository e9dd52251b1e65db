"""The INDI family through Home Assistant: config flow, entities, commands, push, service."""

import asyncio
from collections.abc import Callable
from datetime import timedelta
import re
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.switchboard import async_remove_config_entry_device
from custom_components.switchboard.const import CONF_FAMILY, DOMAIN
from emulators.indi import LAMP, PLUG, IndiEmulator
from emulators.indiserver import SIMULATOR_DEVICES

from .conftest import IndiServerAddress


async def _setup(
    hass: HomeAssistant,
    host: str,
    port: int,
    devices: list[str] | None = None,
    options: dict[str, Any] | None = None,
) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=f"INDI {host}:{port}",
        unique_id=f"{host}:{port}",
        data={CONF_FAMILY: "indi", "host": host, "port": port, "devices": devices or []},
        options=options or {},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def _entity_id(hass: HomeAssistant, platform: Platform, port: int, device: str, key: str) -> str:
    entity_id = er.async_get(hass).async_get_entity_id(
        platform, DOMAIN, f"127.0.0.1:{port}/{device}_{key}"
    )
    assert entity_id is not None, (platform, device, key)
    return entity_id


async def _until(hass: HomeAssistant, predicate: Callable[[], Any], timeout: float = 10) -> Any:
    async with asyncio.timeout(timeout):
        while not (result := predicate()):
            await asyncio.sleep(0.02)
    await hass.async_block_till_done()
    return result


# --------------------------------------------------------------------- config flow


async def test_config_flow_creates_entry(hass: HomeAssistant, indi_emulator: IndiEmulator) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    assert result["type"] is FlowResultType.MENU
    assert "indi" in result["menu_options"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "indi"}
    )
    assert result["step_id"] == "indi"

    # Unreachable server, then a malformed host: errors, then recovery.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"host": "127.0.0.1", "port": 1}
    )
    assert result["errors"] == {"base": "cannot_connect"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"host": "bad host", "port": 7624}
    )
    assert result["errors"] == {"host": "invalid_host"}
    # An unexpected exception is logged and shown as unknown; the next try goes on.
    with patch(
        "custom_components.switchboard.vendors.indi.config_flow.async_probe",
        side_effect=RuntimeError("boom"),
    ):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"host": f"127.0.0.1:{indi_emulator.port}", "port": 7624}
        )
    assert result["errors"] == {"base": "unknown"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"host": f"127.0.0.1:{indi_emulator.port}", "port": 7624}
    )
    assert result["step_id"] == "indi_devices"
    assert PLUG in result["description_placeholders"]["found"]
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"devices": [LAMP]})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == f"127.0.0.1:{indi_emulator.port}"
    assert result["data"] == {
        CONF_FAMILY: "indi",
        "host": "127.0.0.1",
        "port": indi_emulator.port,
        "devices": [LAMP],
    }
    await hass.async_block_till_done()
    entry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    # Only the selected device is followed, and getProperties asked for it alone.
    devices = dr.async_get(hass)
    assert devices.async_get_device_by_identifier(
        (DOMAIN, f"127.0.0.1:{indi_emulator.port}/{LAMP}"), entry.entry_id
    )
    assert not devices.async_get_device_by_identifier(
        (DOMAIN, f"127.0.0.1:{indi_emulator.port}/{PLUG}"), entry.entry_id
    )
    asks = indi_emulator.received_tags("getProperties")
    assert (asks[-1].get("version"), asks[-1].get("device")) == ("1.7", LAMP)

    # The same server again: aborted.
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "indi"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"host": "127.0.0.1", "port": indi_emulator.port}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    await hass.config_entries.async_unload(entry.entry_id)


async def test_options_leave_out_bursts(hass: HomeAssistant, indi_emulator: IndiEmulator) -> None:
    """INDI pushes every change: its options have no burst settings (issue 12, item 6)."""
    entry = await _setup(hass, indi_emulator.host, indi_emulator.port)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    fields = {str(key) for key in result["data_schema"].schema}
    assert "burst_interval" not in fields
    assert "burst_cycles" not in fields
    assert {"scan_interval", "enable_blobs", "snoop_timeout"} <= fields
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"scan_interval": 20, "enable_blobs": False, "snoop_timeout": 60}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options["scan_interval"] == 20
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure(hass: HomeAssistant, indi_emulator: IndiEmulator) -> None:
    other = IndiEmulator("127.0.0.1", 0)
    await other.start()
    try:
        entry = await _setup(hass, "127.0.0.1", indi_emulator.port)
        result = await entry.start_reconfigure_flow(hass)
        assert result["step_id"] == "indi_reconfigure"
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"host": "127.0.0.1", "port": 1, "devices": []}
        )
        assert result["errors"] == {"base": "cannot_connect"}
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"host": "127.0.0.1", "port": other.port, "devices": [PLUG]}
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reconfigure_successful"
        await hass.async_block_till_done()
        assert entry.unique_id == f"127.0.0.1:{other.port}"
        assert entry.data["port"] == other.port
        assert entry.data["devices"] == [PLUG]
        assert entry.state is ConfigEntryState.LOADED
        await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await other.stop()


async def test_setup_retries_when_unreachable(hass: HomeAssistant, socket_enabled: None) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="127.0.0.1:1",
        data={CONF_FAMILY: "indi", "host": "127.0.0.1", "port": 1, "devices": []},
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_RETRY


# --------------------------------------------------------------------- emulator


async def test_emulator_entities_commands_and_push(
    hass: HomeAssistant, indi_emulator: IndiEmulator
) -> None:
    port = indi_emulator.port
    entry = await _setup(hass, "127.0.0.1", port)
    coordinator_count = len(entry.runtime_data.runtime.coordinators)
    assert coordinator_count == 3  # the server and two devices

    power = _entity_id(hass, Platform.SWITCH, port, PLUG, "POWER")
    assert hass.states.get(power).state == STATE_OFF
    assert hass.states.get(power).attributes["state"] == "Ok"
    lamp = _entity_id(hass, Platform.SWITCH, port, LAMP, "CONNECTION")
    watts = _entity_id(hass, Platform.SENSOR, port, PLUG, "METER.WATTS")
    assert float(hass.states.get(watts).state) == 12.5
    target = _entity_id(hass, Platform.NUMBER, port, PLUG, "TARGET.LEVEL")
    target_state = hass.states.get(target)
    assert float(target_state.state) == 50
    assert (target_state.attributes["min"], target_state.attributes["max"]) == (0, 100)
    assert target_state.attributes["step"] == 5
    outlet2 = _entity_id(hass, Platform.SWITCH, port, PLUG, "OUTLETS.OUTLET2")
    led = _entity_id(hass, Platform.SENSOR, port, PLUG, "STATUS.POWER_LED")
    assert hass.states.get(led).state == "Ok"
    assert hass.states.get(led).attributes["options"] == ["Idle", "Ok", "Busy", "Alert"]
    ra = _entity_id(hass, Platform.SENSOR, port, PLUG, "POINTING.RA")
    # A printf format (%.2f) is the sensor's display precision.
    meter = er.async_get(hass).async_get(watts)
    assert meter is not None
    assert meter.options["sensor"]["suggested_display_precision"] == 2
    # A sexagesimal format (%m) is shown as the driver formats it; the number is an attribute.
    assert hass.states.get(ra).state == "12:30:00"
    assert hass.states.get(ra).attributes["value"] == 12.5
    serial = er.async_get(hass).async_get(
        _entity_id(hass, Platform.SENSOR, port, PLUG, "INFO.SERIAL")
    )
    assert serial.entity_category == "diagnostic"
    assert serial.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    connected = er.async_get(hass).async_get_entity_id(
        Platform.BINARY_SENSOR, DOMAIN, f"127.0.0.1:{port}_connected"
    )
    assert hass.states.get(connected).state == STATE_ON
    # BLOBs are off by default: no entity.
    assert (
        er.async_get(hass).async_get_entity_id(
            Platform.SENSOR, DOMAIN, f"127.0.0.1:{port}/{PLUG}_SNAPSHOT.FRAME"
        )
        is None
    )
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, f"127.0.0.1:{port}/{PLUG}"), entry.entry_id
    )
    server = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, f"127.0.0.1:{port}"), entry.entry_id
    )
    assert device.via_device_id == server.id

    # Commands: newSwitchVector, and the device-confirmed state shows when the call returns.
    await hass.services.async_call("switch", "turn_on", {"entity_id": power}, blocking=True)
    assert hass.states.get(power).state == STATE_ON
    await hass.services.async_call("switch", "turn_on", {"entity_id": lamp}, blocking=True)
    assert hass.states.get(lamp).state == STATE_ON
    await hass.services.async_call("switch", "turn_on", {"entity_id": outlet2}, blocking=True)
    assert hass.states.get(outlet2).state == STATE_ON
    assert (
        hass.states.get(_entity_id(hass, Platform.SWITCH, port, PLUG, "OUTLETS.OUTLET1")).state
        == STATE_OFF
    )
    await hass.services.async_call(
        "number", "set_value", {"entity_id": target, "value": 75}, blocking=True
    )
    assert float(hass.states.get(target).state) == 75
    assert hass.states.get(target).attributes["state"] == "Ok"
    new = indi_emulator.received_tags("newNumberVector")[-1]
    assert new.find("oneNumber").text == "75"  # type: ignore[union-attr]

    # Alert reply: a translated error, the value stays, the state shows Alert.
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "number", "set_value", {"entity_id": target, "value": 95}, blocking=True
        )
    assert err.value.translation_key == "indi_alert"
    assert "refused" in str(err.value)
    assert float(hass.states.get(target).state) == 75
    assert hass.states.get(target).attributes["state"] == "Alert"

    # Push: a driver update reaches the entity without polling.
    await indi_emulator.push_meter(321.5)
    await _until(hass, lambda: hass.states.get(watts).state == "321.5")

    # Device messages become events.
    events = async_capture_events(hass, "switchboard_indi_message")
    await indi_emulator.send_message("hello from the plug")
    await _until(hass, lambda: events)
    assert events[0].data["device"] == PLUG
    assert events[0].data["message"] == "hello from the plug"
    assert events[0].data["config_entry_id"] == entry.entry_id

    # Late definition adds an entity without a reload; delProperty removes it.
    await indi_emulator.define_late()
    registry = er.async_get(hass)
    late_uid = f"127.0.0.1:{port}/{PLUG}_EXTRA.COUNT"
    await _until(hass, lambda: registry.async_get_entity_id(Platform.SENSOR, DOMAIN, late_uid))
    late = registry.async_get_entity_id(Platform.SENSOR, DOMAIN, late_uid)
    assert float(hass.states.get(late).state) == 7
    await indi_emulator.delete_vector(PLUG, "EXTRA")
    await _until(hass, lambda: not registry.async_get_entity_id(Platform.SENSOR, DOMAIN, late_uid))
    assert hass.states.get(late) is None
    assert entry.state is ConfigEntryState.LOADED

    # A whole device deleted: its entities go. Its device stays (a driver restart brings it
    # back) until the user deletes it; a device the server has cannot be deleted.
    await indi_emulator.delete_device(LAMP)
    await _until(
        hass,
        lambda: (
            not registry.async_get_entity_id(
                Platform.SWITCH, DOMAIN, f"127.0.0.1:{port}/{LAMP}_CONNECTION"
            )
        ),
    )
    devices = dr.async_get(hass)
    lamp = devices.async_get_device_by_identifier(
        (DOMAIN, f"127.0.0.1:{port}/{LAMP}"), entry.entry_id
    )
    plug = devices.async_get_device_by_identifier(
        (DOMAIN, f"127.0.0.1:{port}/{PLUG}"), entry.entry_id
    )
    assert lamp is not None
    assert plug is not None
    assert not await async_remove_config_entry_device(hass, entry, plug)
    assert await async_remove_config_entry_device(hass, entry, lamp)
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_set_vector_service(hass: HomeAssistant, indi_emulator: IndiEmulator) -> None:
    port = indi_emulator.port
    entry = await _setup(hass, "127.0.0.1", port)
    response = await hass.services.async_call(
        DOMAIN,
        "indi_set_vector",
        {"device": PLUG, "vector": "LABEL", "members": {"NAME": "Bench"}},
        blocking=True,
        return_response=True,
    )
    assert response == {
        "device": PLUG,
        "vector": "LABEL",
        "state": "Ok",
        "message": None,
        "timestamp": response["timestamp"],
        "members": {"NAME": "Bench"},
    }
    response = await hass.services.async_call(
        DOMAIN,
        "indi_set_vector",
        {
            "config_entry_id": entry.entry_id,
            "device": PLUG,
            "vector": "OUTLETS",
            "members": {"OUTLET1": True, "OUTLET3": "On"},
        },
        blocking=True,
        return_response=True,
    )
    assert response["members"] == {"OUTLET1": "On", "OUTLET2": "Off", "OUTLET3": "On"}
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN,
            "indi_set_vector",
            {"device": PLUG, "vector": "TARGET", "members": {"LEVEL": 99}},
            blocking=True,
            return_response=True,
        )
    assert err.value.translation_key == "indi_alert"
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            DOMAIN,
            "indi_set_vector",
            {"device": "Nope", "vector": "X", "members": {"A": 1}},
            blocking=True,
            return_response=True,
        )
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            DOMAIN,
            "indi_set_vector",
            {"device": PLUG, "vector": "METER", "members": {"WATTS": 1}},
            blocking=True,
            return_response=True,
        )
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_server_restart_unavailable_then_back(
    hass: HomeAssistant, indi_emulator: IndiEmulator
) -> None:
    port = indi_emulator.port
    entry = await _setup(hass, "127.0.0.1", port)
    hub = entry.runtime_data.runtime.hub
    hub.client.reconnect_min = 0.05
    watts = _entity_id(hass, Platform.SENSOR, port, PLUG, "METER.WATTS")
    connected = er.async_get(hass).async_get_entity_id(
        Platform.BINARY_SENSOR, DOMAIN, f"127.0.0.1:{port}_connected"
    )
    assert hass.states.get(watts).state == "12.5"

    await indi_emulator.stop()
    await _until(hass, lambda: hass.states.get(watts).state == STATE_UNAVAILABLE)
    assert hass.states.get(connected).state == STATE_OFF
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN,
            "indi_set_vector",
            {"device": PLUG, "vector": "POWER", "members": {"ON": "On"}},
            blocking=True,
        )
    assert err.value.translation_key == "device_unavailable"

    await indi_emulator.start()  # same port, fresh driver
    await _until(hass, lambda: hass.states.get(watts).state == "12.5")
    assert hass.states.get(connected).state == STATE_ON
    await indi_emulator.push_meter(42.0)
    await _until(hass, lambda: hass.states.get(watts).state == "42.0")
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_blobs_enabled_in_options(hass: HomeAssistant, indi_emulator: IndiEmulator) -> None:
    port = indi_emulator.port
    entry = await _setup(hass, "127.0.0.1", port, options={"enable_blobs": True})
    frame_uid = f"127.0.0.1:{port}/{PLUG}_SNAPSHOT.FRAME"
    registry = er.async_get(hass)
    frame = await _until(
        hass, lambda: registry.async_get_entity_id(Platform.SENSOR, DOMAIN, frame_uid)
    )
    await _until(hass, lambda: indi_emulator.received_tags("enableBLOB"))
    await indi_emulator.send_blob(b"\x01" * 2048, ".fits")
    await _until(hass, lambda: hass.states.get(frame).state == ".fits")
    assert hass.states.get(frame).attributes["size"] == 2048
    assert await hass.config_entries.async_unload(entry.entry_id)


# --------------------------------------------------------------------- real indiserver


async def _connect(hass: HomeAssistant, port: int, *devices: str) -> None:
    """Connect simulators with their CONNECTION switches."""
    for device in devices:
        await hass.services.async_call(
            "switch",
            "turn_on",
            {"entity_id": _entity_id(hass, Platform.SWITCH, port, device, "CONNECTION")},
            blocking=True,
        )


async def test_real_simulators(hass: HomeAssistant, indiserver: IndiServerAddress) -> None:
    port = indiserver.port
    entry = await _setup(hass, indiserver.host, port)
    registry = dr.async_get(hass)
    for device in SIMULATOR_DEVICES:
        assert registry.async_get_device_by_identifier(
            (DOMAIN, f"127.0.0.1:{port}/{device}"), entry.entry_id
        ), device

    # Connect the focuser, wheel and CCD with their CONNECTION switches.
    await _connect(hass, port, "Focuser Simulator", "Filter Simulator", "CCD Simulator")
    ents = er.async_get(hass)

    def uid(platform: Platform, device: str, key: str) -> str | None:
        return ents.async_get_entity_id(platform, DOMAIN, f"127.0.0.1:{port}/{device}_{key}")

    # Properties defined on connection appear without a reload.
    slot = await _until(
        hass, lambda: uid(Platform.NUMBER, "Filter Simulator", "FILTER_SLOT.FILTER_SLOT_VALUE")
    )
    await hass.services.async_call(
        "number", "set_value", {"entity_id": slot, "value": 3}, blocking=True
    )
    assert float(hass.states.get(slot).state) == 3
    assert hass.states.get(slot).attributes["state"] == "Ok"

    focus = await _until(
        hass,
        lambda: uid(
            Platform.NUMBER, "Focuser Simulator", "ABS_FOCUS_POSITION.FOCUS_ABSOLUTE_POSITION"
        ),
    )
    position = float(hass.states.get(focus).state)
    assert hass.states.get(focus).attributes["unit_of_measurement"] == "steps"
    await hass.services.async_call(
        "number", "set_value", {"entity_id": focus, "value": position + 1000}, blocking=True
    )
    assert float(hass.states.get(focus).state) == position + 1000

    # The cooled CCD is a climate entity with a target temperature.
    climate = await _until(hass, lambda: uid(Platform.CLIMATE, "CCD Simulator", "ccd_cooler"))
    state = hass.states.get(climate)
    assert state.attributes["min_temp"] == -50
    assert state.attributes["max_temp"] == 50
    current = state.attributes["current_temperature"]
    temperature = uid(Platform.NUMBER, "CCD Simulator", "CCD_TEMPERATURE.CCD_TEMPERATURE_VALUE")
    assert hass.states.get(temperature).attributes["unit_of_measurement"] == "°C"
    await hass.services.async_call(
        "climate", "set_hvac_mode", {"entity_id": climate, "hvac_mode": "cool"}, blocking=True
    )
    assert hass.states.get(climate).state == "cool"
    await hass.services.async_call(
        "climate",
        "set_temperature",
        {"entity_id": climate, "temperature": current - 0.5},
        blocking=True,
    )
    assert hass.states.get(climate).attributes["temperature"] == current - 0.5
    assert hass.states.get(climate).attributes["current_temperature"] == pytest.approx(
        current - 0.5
    )
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_real_simulators_names_units_formats_defaults(
    hass: HomeAssistant, indiserver: IndiServerAddress
) -> None:
    """Issue 12 item 4 against the real simulators: unique names without stray whitespace,
    units taken out of labels, the drivers' number formats, clean model strings, and only
    the day-to-day standard properties enabled by default."""
    port = indiserver.port
    entry = await _setup(hass, indiserver.host, port)
    await _connect(hass, port, "CCD Simulator", "Telescope Simulator")
    ents = er.async_get(hass)

    def entry_of(platform: Platform, device: str, key: str) -> er.RegistryEntry:
        entity_id = ents.async_get_entity_id(platform, DOMAIN, f"127.0.0.1:{port}/{device}_{key}")
        assert entity_id is not None, key
        found = ents.async_get(entity_id)
        assert found is not None
        return found

    await _until(
        hass,
        lambda: ents.async_get_entity_id(
            Platform.NUMBER, DOMAIN, f"127.0.0.1:{port}/CCD Simulator_GUIDER_FRAME.X"
        ),
    )
    await _until(
        hass,
        lambda: ents.async_get_entity_id(
            Platform.NUMBER, DOMAIN, f"127.0.0.1:{port}/Telescope Simulator_EQUATORIAL_EOD_COORD.RA"
        ),
    )
    await hass.async_block_till_done()
    devices = dr.async_get(hass)
    for device in SIMULATOR_DEVICES:
        device_entry = devices.async_get_device_by_identifier(
            (DOMAIN, f"127.0.0.1:{port}/{device}"), entry.entry_id
        )
        assert device_entry is not None
        names = [
            e.original_name
            for e in er.async_entries_for_device(
                ents, device_entry.id, include_disabled_entities=True
            )
        ]
        assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
        assert all(name == name.strip() for name in names if isinstance(name, str))
        # DRIVER_INFO texts arrive with the XML's line breaks and indentation.
        assert device_entry.model == device
        assert device_entry.sw_version is not None
        assert device_entry.sw_version == device_entry.sw_version.strip()

    ccd = "CCD Simulator"
    # Members repeating across vectors are told apart by their vector's group.
    assert (
        entry_of(Platform.NUMBER, ccd, "CCD_FRAME.X").original_name == "Image Settings Frame Left"
    )
    assert (
        entry_of(Platform.NUMBER, ccd, "GUIDER_FRAME.X").original_name == "Guider Head Frame Left"
    )
    assert (
        entry_of(Platform.NUMBER, ccd, "CCD_STREAM_FRAME.X").original_name == "Streaming Frame Left"
    )
    # Units written into labels become the entity's unit.
    pixel = entry_of(Platform.SENSOR, ccd, "CCD_INFO.CCD_PIXEL_SIZE")
    assert pixel.original_name == "CCD Information Pixel size"
    assert pixel.unit_of_measurement == "µm"
    ramp = entry_of(Platform.NUMBER, ccd, "CCD_TEMP_RAMP.RAMP_SLOPE")
    assert (ramp.original_name, ramp.unit_of_measurement) == ("Temp. Ramp Max. dT", "°C/min")
    buffer = entry_of(Platform.NUMBER, ccd, "LIMITS.LIMITS_BUFFER_MAX")
    assert (buffer.original_name, buffer.unit_of_measurement) == (
        "Limits Maximum Buffer Size",
        "MB",
    )
    # The climate entity is the cooler; the CCD_COOLER switch is renamed and disabled.
    cooler_switch = entry_of(Platform.SWITCH, ccd, "CCD_COOLER")
    assert cooler_switch.original_name == "Cooler switch"
    assert cooler_switch.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    # Day-to-day standard properties enabled, the rest disabled by default.
    for key in ("CCD_EXPOSURE.CCD_EXPOSURE_VALUE", "CCD_TEMPERATURE.CCD_TEMPERATURE_VALUE"):
        assert entry_of(Platform.NUMBER, ccd, key).disabled_by is None, key
    for key in ("CCD_BINNING.HOR_BIN", "CCD_FRAME.X", "CCD_TEMP_RAMP.RAMP_SLOPE"):
        assert entry_of(Platform.NUMBER, ccd, key).disabled_by is not None, key
    # A sexagesimal coordinate: the step of its format, and the driver's text.
    ra = entry_of(Platform.NUMBER, "Telescope Simulator", "EQUATORIAL_EOD_COORD.RA")
    assert ra.disabled_by is None
    state = hass.states.get(ra.entity_id)
    assert state is not None
    assert state.attributes["step"] == pytest.approx(1 / 3600)
    assert re.fullmatch(r"-?\d+:\d\d:\d\d", state.attributes["text"])


async def test_server_down_15_minutes_raises_repair_issue(
    hass: HomeAssistant, indi_emulator: IndiEmulator
) -> None:
    """An INDI server down for more than 15 minutes is a repair issue until it is back.

    Time is moved with ``async_fire_time_changed`` (a frozen clock would stall the INDI
    client's own timers).
    """
    port = indi_emulator.port
    entry = await _setup(hass, "127.0.0.1", port)
    entry.runtime_data.runtime.hub.client.reconnect_min = 0.05
    issues = ir.async_get(hass)
    issue_id = f"push_down_{entry.entry_id}"
    watts = _entity_id(hass, Platform.SENSOR, port, PLUG, "METER.WATTS")

    await indi_emulator.stop()
    await _until(hass, lambda: hass.states.get(watts).state == STATE_UNAVAILABLE)
    down_since = dt_util.utcnow()
    async_fire_time_changed(hass, down_since + timedelta(minutes=14))
    await hass.async_block_till_done()
    assert issues.async_get_issue(DOMAIN, issue_id) is None  # not yet
    async_fire_time_changed(hass, down_since + timedelta(minutes=16))
    await hass.async_block_till_done()
    issue = issues.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "push_down"
    assert issue.translation_placeholders == {
        "entry": entry.title,
        "channel": f"INDI server 127.0.0.1:{port}",
        "minutes": "15",
    }

    await indi_emulator.start()  # the server is back: the issue goes by itself
    await _until(hass, lambda: hass.states.get(watts).state == "12.5")
    assert issues.async_get_issue(DOMAIN, issue_id) is None
    assert await hass.config_entries.async_unload(entry.entry_id)
