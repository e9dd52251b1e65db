"""How Midea appliances look as entities: module-level description tables.

Each description carries its ``exists_fn`` filter on the appliance's state (a sensor only where
the appliance reports a value, a switch only where the appliance has it: the pump only on models
with a pump). :func:`describe` adds the two descriptions whose options come from the
appliance itself: the dehumidifier's humidifier entity (its modes) and the air conditioner's
climate entity (its HVAC modes, temperature range and step).
"""

from collections.abc import Callable, Iterable
from typing import Final

from homeassistant.components.binary_sensor import BinarySensorDeviceClass
from homeassistant.components.climate import HVACMode
from homeassistant.components.humidifier import HumidifierDeviceClass
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    UnitOfEnergy,
    UnitOfPower,
    UnitOfTemperature,
)

from ...descriptions import (
    ActionCall,
    SwitchboardBinarySensorDescription,
    SwitchboardButtonDescription,
    SwitchboardClimateDescription,
    SwitchboardEntityDescription,
    SwitchboardHumidifierDescription,
    SwitchboardSelectDescription,
    SwitchboardSensorDescription,
    SwitchboardSwitchDescription,
    existing,
)
from ...model import DeviceState
from .actions import (
    AIR_CONDITIONER_READINGS,
    AIR_CONDITIONER_SWITCHES,
    DEHUMIDIFIER_SWITCHES,
    FAN_MODES,
    MAX_HUMIDITY,
    MIN_HUMIDITY,
    PRESETS,
    SELECTS_WHILE_ON,
    SWING_MODES,
    WATER_LEVELS,
)

type Exists = Callable[[DeviceState], bool]

_READINGS_ENABLED: Final = frozenset(
    {"compressor_frequency", "compressor_power", "indoor_fan_speed", "total_operating_time"}
)
"""The engineering readings enabled by default; the others (targets, currents, coil and pipe
temperatures, hours powered and of this run) are service data, enabled by the user when wanted."""
_READING_CLASSES: Final = {  # unit of an AIR_CONDITIONER_READINGS reading -> device class
    "Hz": SensorDeviceClass.FREQUENCY,
    "A": SensorDeviceClass.CURRENT,
    "V": SensorDeviceClass.VOLTAGE,
    "W": SensorDeviceClass.POWER,
    "°C": SensorDeviceClass.TEMPERATURE,
    "h": SensorDeviceClass.DURATION,
}
_READING_STATE_CLASSES: Final = {"h": SensorStateClass.TOTAL_INCREASING}
"""Operating hours only grow (the current run's start again at 0: a new cycle)."""


def _reports(key: str) -> Exists:
    """The appliance reports ``key`` with a value (not ``None``)."""
    return lambda state: state.value(key) is not None


def _has(key: str) -> Exists:
    """The appliance has attribute ``key`` (a switch it offers)."""
    return lambda state: key in state.attributes


def _is_dehumidifier(state: DeviceState) -> bool:
    return state.descriptor.model == "Dehumidifier"


def _switch(key: str, translation_key: str, *, config: bool = True) -> SwitchboardSwitchDescription:
    return SwitchboardSwitchDescription(
        key=key,
        translation_key=translation_key,
        attribute=key,
        entity_category=EntityCategory.CONFIG if config else None,
        turn_on=ActionCall("turn_on", {"switch": key}),
        turn_off=ActionCall("turn_off", {"switch": key}),
        exists_fn=_has(key),
    )


DEHUMIDIFIER_ENTITIES: Final[tuple[SwitchboardEntityDescription, ...]] = (
    SwitchboardSensorDescription(
        key="current_humidity",
        attribute="current_humidity",
        device_class=SensorDeviceClass.HUMIDITY,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        exists_fn=_reports("current_humidity"),
    ),
    SwitchboardSensorDescription(
        key="current_temperature",
        attribute="current_temperature",
        device_class=SensorDeviceClass.TEMPERATURE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        exists_fn=_reports("current_temperature"),
    ),
    SwitchboardSensorDescription(
        key="tank",
        translation_key="tank_level",
        attribute="tank",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        exists_fn=_reports("tank"),
    ),
    SwitchboardBinarySensorDescription(
        key="tank_full",
        translation_key="tank_full",
        attribute="tank_full",
        device_class=BinarySensorDeviceClass.PROBLEM,
        exists_fn=_has("tank_full"),
    ),
    SwitchboardBinarySensorDescription(
        key="filter_cleaning_reminder",
        translation_key="filter_cleaning",
        attribute="filter_cleaning_reminder",
        device_class=BinarySensorDeviceClass.PROBLEM,
        entity_category=EntityCategory.DIAGNOSTIC,
        exists_fn=_has("filter_cleaning_reminder"),
    ),
    SwitchboardButtonDescription(
        key="reset_filter",
        translation_key="reset_filter",
        entity_category=EntityCategory.CONFIG,
        press=ActionCall("reset_filter"),
        exists_fn=_has("filter_cleaning_reminder"),
    ),
    SwitchboardSelectDescription(
        key="water_level_set",
        translation_key="water_level_set",
        attribute="water_level_set",
        options=list(WATER_LEVELS),
        entity_category=EntityCategory.CONFIG,
        select_option=ActionCall("select_option", {"select": "water_level_set"}),
        exists_fn=lambda state: state.value("water_level_set") in WATER_LEVELS,
    ),
    *(
        _switch(key, {"anion": "ion"}.get(key, key), config=key in ("child_lock", "prompt_tone"))
        for key in DEHUMIDIFIER_SWITCHES
    ),
)
"""The dehumidifier's entities besides the humidifier and the fan-speed select."""


AIR_CONDITIONER_ENTITIES: Final[tuple[SwitchboardEntityDescription, ...]] = (
    SwitchboardSensorDescription(
        key="indoor_temperature",
        translation_key="indoor_temperature",
        attribute="indoor_temperature",
        device_class=SensorDeviceClass.TEMPERATURE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        exists_fn=_reports("indoor_temperature"),
    ),
    SwitchboardSensorDescription(
        key="outdoor_temperature",
        translation_key="outdoor_temperature",
        attribute="outdoor_temperature",
        device_class=SensorDeviceClass.TEMPERATURE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        exists_fn=_reports("outdoor_temperature"),
    ),
    SwitchboardSensorDescription(
        key="indoor_humidity",
        attribute="indoor_humidity",
        device_class=SensorDeviceClass.HUMIDITY,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        exists_fn=_reports("indoor_humidity"),
    ),
    SwitchboardSensorDescription(
        key="realtime_power",
        attribute="realtime_power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        exists_fn=_reports("realtime_power"),
    ),
    SwitchboardSensorDescription(
        key="total_energy_consumption",
        attribute="total_energy_consumption",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        exists_fn=_reports("total_energy_consumption"),
    ),
    SwitchboardBinarySensorDescription(
        key="full_dust",
        translation_key="full_dust",
        attribute="full_dust",
        device_class=BinarySensorDeviceClass.PROBLEM,
        entity_category=EntityCategory.DIAGNOSTIC,
        exists_fn=_has("full_dust"),
    ),
    SwitchboardSensorDescription(
        key="current_energy_consumption",
        translation_key="current_energy_consumption",
        attribute="current_energy_consumption",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        entity_category=EntityCategory.DIAGNOSTIC,
        exists_fn=_reports("current_energy_consumption"),
    ),
    *(
        SwitchboardSensorDescription(
            key=key,
            translation_key=key,
            attribute=key,
            device_class=_READING_CLASSES.get(AIR_CONDITIONER_READINGS[key]),
            state_class=_READING_STATE_CLASSES.get(
                AIR_CONDITIONER_READINGS[key], SensorStateClass.MEASUREMENT
            ),
            native_unit_of_measurement=AIR_CONDITIONER_READINGS[key],
            entity_category=EntityCategory.DIAGNOSTIC,
            entity_registry_enabled_default=key in _READINGS_ENABLED,
            exists_fn=_reports(key),
        )
        for key in AIR_CONDITIONER_READINGS
    ),
    SwitchboardBinarySensorDescription(
        key="water_pump_running",
        translation_key="water_pump_running",
        attribute="water_pump_running",
        device_class=BinarySensorDeviceClass.RUNNING,
        entity_category=EntityCategory.DIAGNOSTIC,
        exists_fn=_has("water_pump_running"),
    ),
    *(
        _switch(key, {"anion": "ion"}.get(key, key), config=key != "aux_heating")
        for key in AIR_CONDITIONER_SWITCHES
    ),
    _switch("fresh_air_power", "fresh_air", config=False),
    _switch("fresh_air_exhaust_power", "fresh_air_exhaust", config=False),
    _switch("breezeless", "breezeless", config=False),
)
"""The air conditioner's entities besides the climate entity and its selects."""

AIR_CONDITIONER_SELECTS_TRANSLATIONS: Final = {
    "wind_ud_angle": "louvre_vertical",
    "wind_lr_angle": "louvre_horizontal",
    "rate_select": "rate_select",
    "fresh_air_mode": "fresh_air_fan_speed",
    "fresh_air_exhaust_mode": "fresh_air_exhaust_fan_speed",
}
"""midea-local select attribute -> translation key (options come from the appliance)."""


def _humidifier(state: DeviceState) -> SwitchboardHumidifierDescription:
    modes = state.value("modes")
    return SwitchboardHumidifierDescription(
        key="dehumidifier",
        name=None,
        device_class=HumidifierDeviceClass.DEHUMIDIFIER,
        attribute="power",
        target_humidity_attribute="target_humidity",
        current_humidity_attribute="current_humidity",
        mode_attribute="mode",
        available_modes=tuple(modes) if isinstance(modes, list) else (),
        min_humidity=MIN_HUMIDITY,
        max_humidity=MAX_HUMIDITY,
        turn_on=ActionCall("turn_on"),
        turn_off=ActionCall("turn_off"),
        set_humidity=ActionCall("set_humidity"),
        set_mode=ActionCall("set_mode"),
    )


def _fan_speed(state: DeviceState) -> SwitchboardSelectDescription:
    speeds = state.value("fan_speeds")
    return SwitchboardSelectDescription(
        key="fan_speed",
        translation_key="fan_speed",
        attribute="fan_speed",
        options=list(speeds) if isinstance(speeds, list) else [],
        select_option=ActionCall("select_option", {"select": "fan_speed"}),
    )


def _air_conditioner_select(state: DeviceState, key: str) -> SwitchboardSelectDescription:
    options = state.value(f"{key}_options")
    return SwitchboardSelectDescription(
        key=key,
        translation_key=AIR_CONDITIONER_SELECTS_TRANSLATIONS[key],
        attribute=key,
        options=list(options) if isinstance(options, list) else [],
        select_option=ActionCall("select_option", {"select": key}),
        requires_on="power" if key in SELECTS_WHILE_ON else None,
    )


def _number(state: DeviceState, key: str, default: float) -> float:
    value = state.value(key)
    return float(value) if isinstance(value, (int, float)) else default


def _climate(state: DeviceState) -> SwitchboardClimateDescription:
    modes = state.value("hvac_modes")
    hvac_modes = tuple(HVACMode(mode) for mode in modes) if isinstance(modes, list) else ()
    return SwitchboardClimateDescription(
        key="climate",
        name=None,
        attribute="hvac_mode",
        hvac_modes=hvac_modes or (HVACMode.OFF, HVACMode.COOL),
        current_temperature_attribute="indoor_temperature",
        target_temperature_attribute="target_temperature",
        current_humidity_attribute="indoor_humidity",
        min_temp=_number(state, "min_temperature", 16),
        max_temp=_number(state, "max_temperature", 30),
        target_temperature_step=_number(state, "temperature_step", 0.5),
        set_temperature=ActionCall("set_temperature"),
        set_hvac_mode=ActionCall("set_hvac_mode"),
        fan_mode_attribute="fan_mode",
        fan_modes=tuple(FAN_MODES),
        set_fan_mode=ActionCall("set_fan_mode"),
        swing_mode_attribute="swing_mode",
        swing_modes=tuple(SWING_MODES),
        set_swing_mode=ActionCall("set_swing_mode"),
        preset_attribute="preset_mode",
        preset_modes=("none", *PRESETS),
        set_preset_mode=ActionCall("set_preset_mode"),
    )


def describe(state: DeviceState) -> Iterable[SwitchboardEntityDescription]:
    """Every entity description of one appliance."""
    if _is_dehumidifier(state):
        yield _humidifier(state)
        yield _fan_speed(state)
        table = DEHUMIDIFIER_ENTITIES
    else:
        yield _climate(state)
        for key in AIR_CONDITIONER_SELECTS_TRANSLATIONS:
            if f"{key}_options" in state.attributes:
                yield _air_conditioner_select(state, key)
        table = AIR_CONDITIONER_ENTITIES
    yield from existing(table, state)
