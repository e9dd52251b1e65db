"""Thermostat presets through Home Assistant: MTS200 modes and MTS100 modes via the hub."""

from homeassistant.components.climate import ClimateEntityFeature
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import pytest

from emulators.meross import (
    THERMOSTAT_MODE_AUTO,
    THERMOSTAT_MODE_COOL,
    THERMOSTAT_MODE_ECO,
    THERMOSTAT_MODE_HEAT,
    THERMOSTAT_MODE_MANUAL,
)

from .conftest import VALVE_ID, MerossEnv
from .test_integration import _entity, _setup, _unload, _wait_for


async def test_thermostat_presets(hass: HomeAssistant, meross_env: MerossEnv) -> None:
    thermostat = meross_env.thermostat
    thermostat.mode.update(heatTemp=210, coolTemp=170, ecoTemp=160, manualTemp=195)
    entry = await _setup(hass, meross_env)
    climate = _entity(hass, thermostat.uuid, "thermostat", "climate")
    attributes = hass.states.get(climate).attributes
    assert attributes["supported_features"] & ClimateEntityFeature.PRESET_MODE
    assert attributes["preset_modes"] == ["manual", "comfort", "sleep", "eco", "auto"]
    assert attributes["preset_mode"] == "manual"
    assert (attributes["comfort_temperature"], attributes["eco_temperature"]) == (21.0, 16.0)
    for preset, mode, target in (
        ("eco", THERMOSTAT_MODE_ECO, 16.0),
        ("comfort", THERMOSTAT_MODE_HEAT, 21.0),
        ("sleep", THERMOSTAT_MODE_COOL, 17.0),
        ("manual", THERMOSTAT_MODE_MANUAL, 19.5),
    ):
        await hass.services.async_call(
            "climate",
            "set_preset_mode",
            {"entity_id": climate, "preset_mode": preset},
            blocking=True,
        )
        # The device's mode command, and the preset's own target as the device reports it.
        assert thermostat.requests[-1][1:] == (
            "Appliance.Control.Thermostat.Mode",
            {"mode": [{"channel": 0, "onoff": 1, "mode": mode}]},
        )
        state = hass.states.get(climate)
        assert state.attributes["preset_mode"] == preset
        assert state.attributes["temperature"] == target
    # Economy set on the device itself shows as the eco preset, not as plain heat.
    await thermostat.push_mode(mode=THERMOSTAT_MODE_ECO)
    await _wait_for(lambda: hass.states.get(climate).attributes["preset_mode"] == "eco")
    assert hass.states.get(climate).state == "heat"
    # A temperature set in a preset changes that preset's temperature.
    await hass.services.async_call(
        "climate", "set_temperature", {"entity_id": climate, "temperature": 15.5}, blocking=True
    )
    assert thermostat.mode["ecoTemp"] == 155
    assert thermostat.mode["mode"] == THERMOSTAT_MODE_ECO
    assert hass.states.get(climate).attributes["eco_temperature"] == 15.5
    await thermostat.push_mode(mode=THERMOSTAT_MODE_AUTO)
    await _wait_for(lambda: hass.states.get(climate).attributes["preset_mode"] == "auto")
    assert hass.states.get(climate).state == "auto"
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            "climate",
            "set_preset_mode",
            {"entity_id": climate, "preset_mode": "away"},
            blocking=True,
        )
    await _unload(hass, entry)


async def test_valve_presets(hass: HomeAssistant, meross_env: MerossEnv) -> None:
    hub = meross_env.hub
    valve_state = hub.valves[VALVE_ID]
    entry = await _setup(hass, meross_env)
    valve = _entity(hass, f"{hub.uuid}-{VALVE_ID.lower()}", "thermostat", "climate")
    attributes = hass.states.get(valve).attributes
    assert attributes["preset_modes"] == ["manual", "comfort", "eco", "auto", "away"]
    assert attributes["preset_mode"] == "manual"
    assert attributes["away_temperature"] == 15.0
    await hass.services.async_call(
        "climate", "set_preset_mode", {"entity_id": valve, "preset_mode": "away"}, blocking=True
    )
    assert valve_state.mode == 4
    await _wait_for(lambda: hass.states.get(valve).attributes["preset_mode"] == "away")
    await _wait_for(lambda: hass.states.get(valve).attributes["temperature"] == 15.0)
    # In a preset, the temperature is that preset's (the valve stays in it).
    await hass.services.async_call(
        "climate", "set_temperature", {"entity_id": valve, "temperature": 14}, blocking=True
    )
    assert (valve_state.away, valve_state.mode) == (140, 4)
    # The hub pushes a mode chosen on the valve.
    await hub.push_valve(VALVE_ID, "Appliance.Hub.Mts100.Mode", mode=2)
    await _wait_for(lambda: hass.states.get(valve).attributes["preset_mode"] == "eco")
    assert hass.states.get(valve).attributes["eco_temperature"] == 18.0
    await _unload(hass, entry)
