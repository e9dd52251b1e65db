"""How MaxSmart strips and plugs look as Home Assistant entities: description tables.

Every entity a MaxSmart device can have is listed here once: the strip's totals
(:data:`STRIP_DESCRIPTIONS`; the master switch only on strips with more than one port), and
per port (:data:`PORT_DESCRIPTIONS`, repeated for every ``port_<n>_on`` attribute by
:func:`port_descriptions`): its switch (named after the port, renamable), power, energy and
current. A port's sensors follow the port's name ("Monitor power").
"""

from dataclasses import replace
from typing import Final

from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import (
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfEnergy,
    UnitOfPower,
)

from ...descriptions import (
    ActionCall,
    SwitchboardEntityDescription,
    SwitchboardSensorDescription,
    SwitchboardSwitchDescription,
    existing,
)
from ...model import DeviceState
from .source import port_key


def ports_of(state: DeviceState) -> list[int]:
    """The port numbers (1..) the device reports, from its ``port_<n>_on`` attributes."""
    return sorted(
        int(key.split("_")[1])
        for key in state.attributes
        if key.startswith("port_") and key.endswith("_on")
    )


STRIP_DESCRIPTIONS: Final[tuple[SwitchboardEntityDescription, ...]] = (
    SwitchboardSwitchDescription(
        key="all_ports",
        translation_key="all_ports",
        attribute="all_on",
        exists_fn=lambda state: len(ports_of(state)) > 1,
        turn_on=ActionCall("turn_on", {"port": 0}),
        turn_off=ActionCall("turn_off", {"port": 0}),
    ),
    SwitchboardSensorDescription(
        key="power",
        translation_key="total_power",
        attribute="power",
        exists_fn=lambda state: True,
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
    ),
    SwitchboardSensorDescription(
        key="energy",
        translation_key="total_energy",
        attribute="energy",
        exists_fn=lambda state: True,
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=3,
    ),
)
"""The whole strip (or plug): master switch (strips only), total power and energy."""

PORT_SWITCH: Final = SwitchboardSwitchDescription(
    key="port_{port}",
    translation_key="port",
    attribute="port_{port}_on",
    name_attribute="port_{port}_name",
    turn_on=ActionCall("turn_on"),
    turn_off=ActionCall("turn_off"),
    rename=ActionCall("rename_port"),
)
"""A port's switch, named after the port on the device; ``switchboard.rename_port`` renames it."""

PORT_SENSORS: Final[tuple[SwitchboardSensorDescription, ...]] = (
    SwitchboardSensorDescription(
        key="port_{port}_power",
        translation_key="port_power",
        attribute="port_{port}_power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
    ),
    SwitchboardSensorDescription(
        key="port_{port}_energy",
        translation_key="port_energy",
        attribute="port_{port}_energy",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=3,
    ),
    SwitchboardSensorDescription(
        key="port_{port}_current",
        translation_key="port_current",
        attribute="port_{port}_current",
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
    ),
)
"""A port's power, energy (integrated, stored) and current (disabled by default)."""


def port_descriptions(port: int) -> list[SwitchboardEntityDescription]:
    """:data:`PORT_SWITCH` and :data:`PORT_SENSORS` for ``port`` (``{port}`` filled in)."""
    args = {"port": port}
    switch = replace(
        PORT_SWITCH,
        key=f"port_{port}",
        translation_placeholders={"port": str(port)},
        attribute=port_key(port, "on"),
        name_attribute=port_key(port, "name"),
        turn_on=ActionCall(PORT_SWITCH.turn_on.action, args),
        turn_off=ActionCall(PORT_SWITCH.turn_off.action, args),
        rename=ActionCall("rename_port", args),
    )
    sensors = [
        replace(
            sensor,
            key=sensor.key.format(port=port),
            attribute=(sensor.attribute or "").format(port=port),
            # Named after the port ("Monitor power"); "Port 3 power" while it has no name.
            translation_placeholders={"port": f"Port {port}"},
            name_placeholders=(("port", port_key(port, "name")),),
        )
        for sensor in PORT_SENSORS
    ]
    return [switch, *sensors]


def describe_device(state: DeviceState) -> list[SwitchboardEntityDescription]:
    """The descriptions of one strip or plug."""
    descriptions: list[SwitchboardEntityDescription] = list(existing(STRIP_DESCRIPTIONS, state))
    for port in ports_of(state):
        descriptions.extend(port_descriptions(port))
    return descriptions
