"""How Meross devices look as Home Assistant entities: module-level description tables.

Every entity a Meross device can have is listed here once. A device gets the descriptions
whose ``exists_fn`` (default: "the device reports ``attribute``") accepts its state; channel
switches are repeated for every ``channel_<n>_on`` attribute (``channel_switch``), and the
thermostat takes its temperature range and modes from the device (``thermostat``). Units come
from the device source's attributes (``source.UNITS``).
"""

from dataclasses import replace
from typing import Any, Final

from homeassistant.components.binary_sensor import BinarySensorDeviceClass
from homeassistant.components.climate import HVACMode
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import PERCENTAGE, EntityCategory

from ...descriptions import (
    ActionCall,
    SwitchboardBinarySensorDescription,
    SwitchboardButtonDescription,
    SwitchboardClimateDescription,
    SwitchboardEntityDescription,
    SwitchboardSensorDescription,
    SwitchboardSwitchDescription,
    existing,
)
from ...model import DeviceState
from .device import MTS100_PRESETS, MTS200_PRESETS
from .source import UNITS

ACCOUNT_DESCRIPTIONS: Final[tuple[SwitchboardEntityDescription, ...]] = (
    SwitchboardSensorDescription(
        key="request_rate",
        translation_key="meross_request_rate",
        attribute="request_rate",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UNITS["request_rate"],
        entity_category=EntityCategory.DIAGNOSTIC,
    ),
    SwitchboardBinarySensorDescription(
        key="push_connected",
        translation_key="meross_push_connected",
        attribute="push_connected",
        # Reads "Connected" / "Disconnected", not "On" / "Off" (issue 12, item 7).
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
    ),
)
"""The account's diagnostic device (it alone reports ``request_rate``)."""

METER_SENSORS: Final[tuple[SwitchboardSensorDescription, ...]] = (
    SwitchboardSensorDescription(
        key="power",
        attribute="power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UNITS["power"],
        suggested_display_precision=1,
    ),
    SwitchboardSensorDescription(
        key="voltage",
        attribute="voltage",
        device_class=SensorDeviceClass.VOLTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UNITS["voltage"],
        suggested_display_precision=1,
    ),
    SwitchboardSensorDescription(
        key="current",
        attribute="current",
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UNITS["current"],
        suggested_display_precision=2,
    ),
    SwitchboardSensorDescription(
        key="energy_today",
        translation_key="meross_energy_today",
        attribute="energy_today",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UNITS["energy_today"],
        suggested_display_precision=3,
    ),
    SwitchboardSensorDescription(
        key="energy_total",
        translation_key="meross_energy_total",
        attribute="energy_total",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UNITS["energy_total"],
        suggested_display_precision=3,
    ),
)
"""Electricity meter of plugs with ``Appliance.Control.Electricity`` / ``ConsumptionX``."""

THERMOSTAT: Final = SwitchboardClimateDescription(
    key="thermostat",
    name=None,
    attribute="hvac_mode",
    current_temperature_attribute="current_temperature",
    target_temperature_attribute="target_temperature",
    hvac_action_attribute="hvac_action",
    hvac_modes=(HVACMode.OFF, HVACMode.HEAT, HVACMode.AUTO, HVACMode.COOL),
    target_temperature_step=0.5,
    set_temperature=ActionCall("set_temperature"),
    set_hvac_mode=ActionCall("set_hvac_mode"),
    translation_key="meross_thermostat",
    preset_attribute="preset",
    preset_modes=tuple(MTS200_PRESETS.values()),
    set_preset_mode=ActionCall("set_preset_mode"),
    extra_attributes=tuple(
        (attribute, attribute)
        for attribute in (
            "manual_temperature",
            "comfort_temperature",
            "sleep_temperature",
            "eco_temperature",
            "away_temperature",
        )
    ),
)
"""An MTS200 thermostat, or a hub's MTS100 valve (no cool mode); range from the device.

Presets are the device's modes, each with its own target temperature (shown as the preset's
``*_temperature`` state attribute); a valve has the presets of the MTS100.
"""

BATTERY_SENSORS: Final[tuple[SwitchboardSensorDescription, ...]] = (
    SwitchboardSensorDescription(
        key="battery",
        attribute="battery",
        device_class=SensorDeviceClass.BATTERY,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        entity_category=EntityCategory.DIAGNOSTIC,
    ),
)
"""Battery of a hub's valve."""


CAPTURE_BUTTON: Final = SwitchboardButtonDescription(
    key="capture_traffic",
    translation_key="meross_capture_traffic",
    press=ActionCall("capture_traffic"),
    entity_category=EntityCategory.DIAGNOSTIC,
)
"""Records 60 s of the device's MQTT traffic into its diagnostics (every device, no valve)."""


def channel_switch(channel: int, channels: int) -> SwitchboardSwitchDescription:
    """The switch of ``channel`` of a device with ``channels`` channels.

    A single-channel plug's switch is the device's main entity (no name); on a strip, channel 0
    is the master switch and channels 1.. are the outlets.
    """
    common: dict[str, Any] = {
        "key": f"channel_{channel}",
        "attribute": f"channel_{channel}_on",
        "turn_on": ActionCall("turn_on", {"channel": channel}),
        "turn_off": ActionCall("turn_off", {"channel": channel}),
    }
    if channels == 1:
        return SwitchboardSwitchDescription(name=None, **common)
    return SwitchboardSwitchDescription(
        translation_key="meross_master" if channel == 0 else "meross_channel",
        translation_placeholders={"channel": str(channel)},
        **common,
    )


def thermostat(state: DeviceState) -> SwitchboardClimateDescription:
    """:data:`THERMOSTAT` with the device's range; a valve (child of a hub) cannot cool."""
    valve = state.descriptor.via_device is not None
    return replace(
        THERMOSTAT,
        hvac_modes=tuple(
            mode for mode in THERMOSTAT.hvac_modes if not valve or mode != HVACMode.COOL
        ),
        preset_modes=tuple((MTS100_PRESETS if valve else MTS200_PRESETS).values()),
        extra_attributes=tuple(
            pair for pair in THERMOSTAT.extra_attributes if state.value(pair[1]) is not None
        ),
        min_temp=_number(state.value("min_temperature"), 5.0),
        max_temp=_number(state.value("max_temperature"), 35.0),
    )


def describe_device(state: DeviceState) -> list[SwitchboardEntityDescription]:
    """The descriptions of one Meross device (account, plug, strip, thermostat or valve)."""
    if "request_rate" in state.attributes:
        return list(ACCOUNT_DESCRIPTIONS)
    channels = sorted(
        int(key.split("_")[1])
        for key in state.attributes
        if key.startswith("channel_") and key.endswith("_on")
    )
    descriptions: list[SwitchboardEntityDescription] = [
        channel_switch(channel, len(channels)) for channel in channels
    ]
    descriptions.extend(existing(METER_SENSORS, state))
    if THERMOSTAT.exists(state):
        descriptions.append(thermostat(state))
    descriptions.extend(existing(BATTERY_SENSORS, state))
    if state.descriptor.via_device is None:
        descriptions.append(CAPTURE_BUTTON)
    return descriptions


def _number(value: Any, default: float) -> float:
    return (
        float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default
    )
