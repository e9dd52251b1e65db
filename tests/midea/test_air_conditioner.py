"""The air conditioner's louvre, power-limit, fresh-air, breezeless and engineering entities.

Every command goes from the entity through midea-local to the emulated appliance over a real
socket (B0 sets, B1/B5/C1 answers) and back into the entity from the appliance's reply.
"""

from homeassistant.const import ATTR_ENTITY_ID, STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from emulators.midea import BBAirConditioner

from .conftest import MideaStack, setup_account_entry, start_stack, stop_stack
from .test_init import attribute, state, until

NEW_SELECTS = ("vertical_louvre", "horizontal_louvre", "power_limit", "fresh_air_fan_speed")
NEW_SWITCHES = ("fresh_air", "breezeless")
READINGS = (
    "compressor_frequency",
    "target_compressor_frequency",
    "compressor_current",
    "compressor_voltage",
    "compressor_power",
    "indoor_coil_temperature",
    "outdoor_coil_temperature",
    "outdoor_unit_air_temperature",
    "discharge_pipe_temperature",
    "indoor_fan_speed",
    "target_indoor_fan_speed",
    "outdoor_fan_speed",
    "indoor_return_air_temperature",
    "time_powered",
    "total_running_time",
    "running_time_this_run",
)


async def _select(hass: HomeAssistant, name: str, option: str) -> None:
    await hass.services.async_call(
        "select",
        "select_option",
        {ATTR_ENTITY_ID: f"select.bedroom_{name}", "option": option},
        blocking=True,
    )


async def _switch(hass: HomeAssistant, name: str, on: bool) -> None:
    await hass.services.async_call(
        "switch",
        "turn_on" if on else "turn_off",
        {ATTR_ENTITY_ID: f"switch.bedroom_{name}"},
        blocking=True,
    )


async def _turn_on(hass: HomeAssistant) -> None:
    await hass.services.async_call(
        "climate", "turn_on", {ATTR_ENTITY_ID: "climate.bedroom"}, blocking=True
    )


async def test_louvres_and_power_limit(
    hass: HomeAssistant, stack: MideaStack, account_entry: MockConfigEntry
) -> None:
    """Louvre angles and the power-limit gear reach the appliance and come back from it."""
    appliance = stack.air_conditioner
    await _turn_on(hass)
    assert appliance.power
    assert attribute(hass, "select.bedroom_vertical_louvre", "options") == [
        "off",
        "up",
        "up_mid",
        "middle",
        "down_mid",
        "down",
    ]
    assert attribute(hass, "select.bedroom_power_limit", "options") == [
        "1",
        "20",
        "40",
        "60",
        "80",
        "100",
    ]
    assert state(hass, "select.bedroom_vertical_louvre") == "middle"
    await _select(hass, "vertical_louvre", "down")
    assert appliance.wind_ud_angle == 100
    assert state(hass, "select.bedroom_vertical_louvre") == "down"
    await _select(hass, "horizontal_louvre", "left")
    assert appliance.wind_lr_angle == 1
    assert state(hass, "select.bedroom_horizontal_louvre") == "left"
    await _select(hass, "power_limit", "60")
    assert appliance.rate_select == 60
    assert state(hass, "select.bedroom_power_limit") == "60"
    # The louvre set did not move the other louvre (a B0 set carries only its own tag).
    assert appliance.wind_ud_angle == 100


async def test_louvres_and_power_limit_need_the_appliance_on(
    hass: HomeAssistant, stack: MideaStack, account_entry: MockConfigEntry
) -> None:
    """Off, the louvre and power-limit selects are unavailable and their commands refused.

    The appliance drops them while off; the fresh-air fan speed stays available and is taken.
    Switched on, the selects come back with the appliance's values, and take commands.
    """
    appliance = stack.air_conditioner
    assert not appliance.power
    coordinator = account_entry.runtime_data.runtime.coordinators["appliances"]
    appliance_id = str(appliance.appliance_id)
    await until(hass, lambda: coordinator.data[appliance_id].value("rate_select") == "100")
    for name in ("vertical_louvre", "horizontal_louvre", "power_limit"):
        assert state(hass, f"select.bedroom_{name}") == STATE_UNAVAILABLE, name
    for select, option in (
        ("wind_ud_angle", "up"),
        ("wind_lr_angle", "left"),
        ("rate_select", "40"),
    ):
        with pytest.raises(HomeAssistantError) as refused:
            await coordinator.async_execute(
                appliance_id, "select_option", {"select": select, "option": option}
            )
        assert refused.value.translation_key == "midea_select_needs_power", select
        assert "Bedroom is off" in str(refused.value), select
    assert (appliance.wind_ud_angle, appliance.wind_lr_angle, appliance.rate_select) == (
        50,
        50,
        100,
    )
    await _select(hass, "fresh_air_fan_speed", "medium")
    assert (appliance.fresh_air_power, appliance.fresh_air_fan_speed) == (True, 60)
    assert state(hass, "select.bedroom_fresh_air_fan_speed") == "medium"

    await _turn_on(hass)
    assert state(hass, "select.bedroom_vertical_louvre") == "middle"
    assert state(hass, "select.bedroom_horizontal_louvre") == "middle"
    assert state(hass, "select.bedroom_power_limit") == "100"
    await coordinator.async_execute(
        appliance_id, "select_option", {"select": "rate_select", "option": "40"}
    )
    assert appliance.rate_select == 40
    assert state(hass, "select.bedroom_power_limit") == "40"

    # Switched off on its remote: the push makes the selects unavailable again.
    appliance.power = False
    appliance.push()
    await until(hass, lambda: state(hass, "select.bedroom_power_limit") == STATE_UNAVAILABLE)
    assert state(hass, "select.bedroom_vertical_louvre") == STATE_UNAVAILABLE
    assert state(hass, "select.bedroom_fresh_air_fan_speed") == "medium"


async def test_fresh_air_and_breezeless(
    hass: HomeAssistant, stack: MideaStack, account_entry: MockConfigEntry
) -> None:
    """The fresh-air switch and fan speed, and the breezeless switch, round-trip."""
    appliance = stack.air_conditioner
    assert state(hass, "switch.bedroom_fresh_air") == STATE_OFF
    await _switch(hass, "fresh_air", True)
    assert appliance.fresh_air_power
    assert state(hass, "switch.bedroom_fresh_air") == STATE_ON
    assert state(hass, "select.bedroom_fresh_air_fan_speed") == "low"  # the appliance's 40
    await _select(hass, "fresh_air_fan_speed", "high")
    assert (appliance.fresh_air_power, appliance.fresh_air_fan_speed) == (True, 80)
    assert state(hass, "select.bedroom_fresh_air_fan_speed") == "high"
    await _select(hass, "fresh_air_fan_speed", "off")
    assert not appliance.fresh_air_power
    assert state(hass, "switch.bedroom_fresh_air") == STATE_OFF
    assert hass.states.get("switch.bedroom_fresh_air_exhaust") is None  # model 23096633 only
    assert hass.states.get("select.bedroom_fresh_air_exhaust_fan_speed") is None
    await _switch(hass, "breezeless", True)
    assert appliance.breezeless
    assert state(hass, "switch.bedroom_breezeless") == STATE_ON
    await _switch(hass, "breezeless", False)
    assert appliance.breezeless is False
    assert state(hass, "switch.bedroom_breezeless") == STATE_OFF


async def test_remote_control_changes_are_pushed(
    hass: HomeAssistant, stack: MideaStack, account_entry: MockConfigEntry
) -> None:
    """Properties changed on the appliance (its remote) reach the entities by push, no poll."""
    appliance = stack.air_conditioner
    await _turn_on(hass)
    appliance.wind_lr_angle = 100
    appliance.rate_select = 40
    appliance.breezeless = True
    appliance.fresh_air_power, appliance.fresh_air_fan_speed = True, 100
    appliance.push_properties()
    await until(hass, lambda: state(hass, "select.bedroom_horizontal_louvre") == "right")
    await until(hass, lambda: state(hass, "switch.bedroom_breezeless") == STATE_ON)
    assert state(hass, "select.bedroom_power_limit") == "40"
    assert state(hass, "switch.bedroom_fresh_air") == STATE_ON
    assert state(hass, "select.bedroom_fresh_air_fan_speed") == "full"


async def test_invalid_option_is_refused(
    hass: HomeAssistant, stack: MideaStack, account_entry: MockConfigEntry
) -> None:
    """An option of another select (the bridge can send one) is refused, translated."""
    coordinator = account_entry.runtime_data.runtime.coordinators["appliances"]
    appliance_id = str(stack.air_conditioner.appliance_id)
    with pytest.raises(Exception) as refused:
        await coordinator.async_execute(
            appliance_id, "select_option", {"select": "wind_lr_angle", "option": "up"}
        )
    assert getattr(refused.value, "translation_key", None) == "midea_invalid_option"
    with pytest.raises(ServiceValidationError):
        await coordinator.async_execute(
            appliance_id, "select_option", {"select": "wind_lr_angle", "option": "sideways"}
        )
    assert stack.air_conditioner.wind_lr_angle == 50


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_engineering_readings_follow_the_appliance(
    hass: HomeAssistant, stack: MideaStack, account_entry: MockConfigEntry
) -> None:
    """Compressor, coil, fan and pump readings (C1 groups) change when the appliance runs."""
    assert state(hass, "sensor.bedroom_compressor_frequency") == "0"
    assert state(hass, "sensor.bedroom_compressor_voltage") == "230"
    assert attribute(hass, "sensor.bedroom_indoor_fan_speed", "unit_of_measurement") == "rpm"
    await hass.services.async_call(
        "climate",
        "set_hvac_mode",
        {ATTR_ENTITY_ID: "climate.bedroom", "hvac_mode": "cool"},
        blocking=True,
    )
    coordinator = account_entry.runtime_data.runtime.coordinators["appliances"]
    await coordinator.async_refresh()
    # A refresh's answers (one per C1 group) arrive one after another: wait for each.
    expected = {
        "sensor.bedroom_compressor_frequency": "58",
        "sensor.bedroom_target_compressor_frequency": "60",
        "sensor.bedroom_compressor_current": "4",
        "sensor.bedroom_compressor_power": "780",
        "sensor.bedroom_indoor_coil_temperature": "12.0",
        "sensor.bedroom_outdoor_coil_temperature": "40.0",
        "sensor.bedroom_discharge_pipe_temperature": "75",
        "sensor.bedroom_indoor_fan_speed": "1000",
        "sensor.bedroom_outdoor_fan_speed": "800",
        "binary_sensor.bedroom_condensate_pump": STATE_ON,
        "sensor.bedroom_indoor_return_air_temperature": "26.5",
        "sensor.bedroom_time_powered": "2000.5",
        "sensor.bedroom_total_running_time": "812.25",
        "sensor.bedroom_running_time_this_run": "1.5",
    }
    for entity_id, value in expected.items():
        await until(hass, lambda entity_id=entity_id, value=value: state(hass, entity_id) == value)
    assert {entity_id: state(hass, entity_id) for entity_id in expected} == expected


async def test_readings_disabled_by_default(
    hass: HomeAssistant, stack: MideaStack, account_entry: MockConfigEntry
) -> None:
    """Only the headline readings are enabled; the service data is there, disabled."""
    registry = er.async_get(hass)
    for name in READINGS:
        entry = registry.async_get(f"sensor.bedroom_{name}")
        assert entry is not None, name
        enabled = name in (
            "compressor_frequency",
            "compressor_power",
            "indoor_fan_speed",
            "total_running_time",
        )
        assert (entry.disabled_by is None) is enabled, name


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_absent_without_the_capability(hass: HomeAssistant, socket_enabled: None) -> None:
    """An air conditioner without these features gets none of their entities or actions."""
    stack = await start_stack(
        louvre_angles=False,
        rate_select=False,
        fresh_air=False,
        breezeless=False,
        engineering_data=False,
    )
    try:
        entry = await setup_account_entry(hass, stack)
        assert state(hass, "climate.bedroom") == STATE_OFF
        for name in NEW_SELECTS:
            assert hass.states.get(f"select.bedroom_{name}") is None, name
        for name in NEW_SWITCHES:
            assert hass.states.get(f"switch.bedroom_{name}") is None, name
        for name in READINGS:
            assert hass.states.get(f"sensor.bedroom_{name}") is None, name
        assert hass.states.get("binary_sensor.bedroom_condensate_pump") is None
        coordinator = entry.runtime_data.runtime.coordinators["appliances"]
        actions = coordinator.source.actions(str(stack.air_conditioner.appliance_id))
        assert "select_option" not in actions
        assert hass.states.get("switch.bedroom_silent_outdoor_unit") is not None
        await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await stop_stack(stack)


async def test_two_level_power_limit(hass: HomeAssistant, socket_enabled: None) -> None:
    """A two-level appliance offers 50, 75 and 100 %; no louvre or fresh-air entities."""
    stack = await start_stack(louvre_angles=False, fresh_air=False, rate_levels=2)
    try:
        entry = await setup_account_entry(hass, stack)
        assert attribute(hass, "select.bedroom_power_limit", "options") == ["50", "75", "100"]
        await _turn_on(hass)
        await _select(hass, "power_limit", "75")
        assert stack.air_conditioner.rate_select == 75
        assert state(hass, "select.bedroom_power_limit") == "75"
        assert hass.states.get("select.bedroom_vertical_louvre") is None
        assert hass.states.get("switch.bedroom_fresh_air") is None
        assert hass.states.get("switch.bedroom_breezeless") is not None
        await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await stop_stack(stack)


async def test_bb_fresh_air_intake_and_exhaust(hass: HomeAssistant, socket_enabled: None) -> None:
    """Model 23096633 (the BB sub-protocol): fresh-air intake and exhaust, each with its switch
    and fan speed, reach the appliance one side at a time and come back from its status."""
    stack = await start_stack(bb=True)
    appliance = stack.air_conditioner
    assert isinstance(appliance, BBAirConditioner)
    try:
        entry = await setup_account_entry(hass, stack)
        assert state(hass, "switch.bedroom_fresh_air_exhaust") == STATE_OFF
        assert state(hass, "select.bedroom_fresh_air_exhaust_fan_speed") == "off"
        assert attribute(hass, "select.bedroom_fresh_air_exhaust_fan_speed", "options") == [
            "off",
            "silent",
            "high",
            "full",
        ]
        assert attribute(hass, "select.bedroom_fresh_air_fan_speed", "options") == [
            "off",
            "low",
            "medium",
            "high",
            "full",
        ]
        await _switch(hass, "fresh_air_exhaust", True)
        assert (appliance.fresh_air_exhaust_power, appliance.fresh_air_power) == (True, False)
        assert state(hass, "switch.bedroom_fresh_air_exhaust") == STATE_ON
        assert state(hass, "select.bedroom_fresh_air_exhaust_fan_speed") == "high"  # its 80 %
        await _select(hass, "fresh_air_exhaust_fan_speed", "full")
        assert appliance.fresh_air_exhaust_speed == 100
        assert state(hass, "select.bedroom_fresh_air_exhaust_fan_speed") == "full"
        await _select(hass, "fresh_air_fan_speed", "medium")
        assert (appliance.fresh_air_power, appliance.fresh_air_fan_speed) == (True, 60)
        assert state(hass, "switch.bedroom_fresh_air") == STATE_ON
        assert appliance.fresh_air_exhaust_speed == 100  # the intake's set left the exhaust
        await _select(hass, "fresh_air_exhaust_fan_speed", "off")
        assert not appliance.fresh_air_exhaust_power
        assert state(hass, "switch.bedroom_fresh_air_exhaust") == STATE_OFF
        assert appliance.fresh_air_power
        # The rest of the appliance runs through BB too.
        await hass.services.async_call(
            "climate",
            "set_hvac_mode",
            {ATTR_ENTITY_ID: "climate.bedroom", "hvac_mode": "heat"},
            blocking=True,
        )
        assert (appliance.power, appliance.mode) == (True, 4)
        assert state(hass, "climate.bedroom") == "heat"
        coordinator = entry.runtime_data.runtime.coordinators["appliances"]
        actions = coordinator.source.actions(str(appliance.appliance_id))
        assert "fresh_air_exhaust_mode" in actions["select_option"].description
        for name in ("vertical_louvre", "horizontal_louvre", "power_limit"):
            assert hass.states.get(f"select.bedroom_{name}") is None, name
        await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await stop_stack(stack)
