"""How INDI devices look as Home Assistant entities.

INDI devices define their properties (vectors) at run time, so most entities are derived from
each vector by the rules of :func:`describe_vector` (a read-only switch vector becomes binary
sensors, an ON/OFF pair a switch, a OneOfMany vector a select, numbers sensors or numbers,
texts diagnostic sensors, lights enum sensors, BLOBs their format); the server's connectivity
sensor and a cooled CCD's climate entity are fixed descriptions in the tables below.
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Final

from homeassistant.components.binary_sensor import BinarySensorDeviceClass
from homeassistant.components.climate import HVACMode
from homeassistant.components.number import NumberDeviceClass
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import (
    EntityCategory,
)

from ...descriptions import (
    ActionCall,
    SwitchboardBinarySensorDescription,
    SwitchboardClimateDescription,
    SwitchboardEntityDescription,
    SwitchboardNumberDescription,
    SwitchboardSelectDescription,
    SwitchboardSensorDescription,
    SwitchboardSwitchDescription,
)
from ...model import (
    Attribute,
    DeviceState,
)
from .client import (
    IndiVector,
)
from .formats import clean_label, is_sexagesimal, label_unit, precision, step as format_step
from .source import (
    KNOWN_NUMBERS,
    IndiHub,
    member_key,
    number_unit,
    on_off_members,
    select_options,
    state_key,
)

LIGHT_STATES: Final = ["Idle", "Ok", "Busy", "Alert"]
QUIET_GROUPS: Final = frozenset(
    {"Options", "Simulator Config", "Simulation", "Connection", "General Info", "Firmware"}
)
"""Vectors in these groups are configuration: their entities are disabled by default."""
DAY_TO_DAY: Final = frozenset(
    {
        "CONNECTION",
        "CCD_COOLER",
        "CCD_TEMPERATURE",
        "CCD_EXPOSURE",
        "EQUATORIAL_EOD_COORD",
        "EQUATORIAL_COORD",
        "HORIZONTAL_COORD",
        "ABS_FOCUS_POSITION",
        "FILTER_SLOT",
    }
)
"""INDI standard properties a user drives day to day (connection, cooler, temperature,
exposure, coordinates, focuser position, filter slot). On a device that defines any of them
(besides CONNECTION), only these are enabled by default; a device of a custom driver with
no standard property keeps its entities enabled."""

SERVER_DESCRIPTIONS: Final[tuple[SwitchboardEntityDescription, ...]] = (
    SwitchboardBinarySensorDescription(
        key="connected",
        translation_key="indi_connected",
        attribute="connected",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
    ),
)
"""The server's own device."""

CCD_COOLER: Final = SwitchboardClimateDescription(
    key="ccd_cooler",
    translation_key="indi_ccd_cooler",
    attribute="ccd.hvac_mode",
    exists_fn=lambda state: "ccd.target" in state.attributes,
    current_temperature_attribute=member_key("CCD_TEMPERATURE", "CCD_TEMPERATURE_VALUE"),
    target_temperature_attribute="ccd.target",
    hvac_action_attribute="ccd.hvac_action",
    hvac_modes=(HVACMode.OFF, HVACMode.COOL),
    min_temp=-50.0,
    max_temp=50.0,
    target_temperature_step=0.5,
    set_temperature=ActionCall("set_temperature"),
    set_hvac_mode=ActionCall("set_hvac_mode"),
    extra_attributes=(("state", state_key("CCD_TEMPERATURE")),),
)
"""A cooled CCD (CCD_TEMPERATURE + CCD_COOLER); its range comes from CCD_TEMPERATURE."""


def describe_device(hub: IndiHub, state: DeviceState) -> list[SwitchboardEntityDescription]:
    """The descriptions of the server, or of every vector of one INDI device."""
    if state.descriptor.id == hub.server_id:
        return list(SERVER_DESCRIPTIONS)
    device = hub.device_name(state.descriptor.id)
    if device is None:
        return []
    attributes = state.attributes
    vectors = [
        vector
        for (vector_device, _), vector in list(hub.client.vectors.items())
        if vector_device == device and state_key(vector.name) in attributes
    ]
    standard = any(vector.name in DAY_TO_DAY - {"CONNECTION"} for vector in vectors)
    cooler = CCD_COOLER.exists(state)
    described: list[tuple[IndiVector, SwitchboardEntityDescription]] = []
    for vector in vectors:
        for original in describe_vector(vector, attributes, blobs=hub.blobs):
            description = original
            if standard and vector.name not in DAY_TO_DAY:
                description = replace(description, entity_registry_enabled_default=False)
            if cooler and vector.name == "CCD_COOLER":
                # The climate entity is the cooler; its on/off switch stays, by another name.
                description = replace(
                    description,
                    name=f"{description.name} switch",
                    entity_registry_enabled_default=False,
                )
            described.append((vector, description))
    descriptions = _unique_names(described)
    if cooler:
        temperature = hub.client.vectors.get((device, "CCD_TEMPERATURE"))
        member = temperature.members.get("CCD_TEMPERATURE_VALUE") if temperature else None
        descriptions.append(
            replace(
                CCD_COOLER,
                min_temp=member.minimum
                if member and member.minimum is not None
                else CCD_COOLER.min_temp,
                max_temp=member.maximum
                if member and member.maximum is not None
                else CCD_COOLER.max_temp,
            )
        )
    return descriptions


def _unique_names(
    described: list[tuple[IndiVector, SwitchboardEntityDescription]],
) -> list[SwitchboardEntityDescription]:
    """The descriptions with names unique within the device.

    Vectors of different groups often share labels (CCD_BINNING and GUIDER_BINNING are both
    "Binning"): where a name repeats, it is prefixed with its vector's group ("Guider Head
    Binning X"), and where that still repeats, followed by the vector's name.
    """
    counts = Counter(description.name for _, description in described)
    renamed: list[tuple[IndiVector, SwitchboardEntityDescription]] = []
    for vector, description in described:
        if counts[description.name] > 1 and isinstance(description.name, str):
            group = clean_label(vector.group or "")
            name = f"{group} {description.name}" if group else description.name
            renamed.append((vector, replace(description, name=name)))
        else:
            renamed.append((vector, description))
    counts = Counter(description.name for _, description in renamed)
    return [
        replace(description, name=f"{description.name} ({vector.name})")
        if counts[description.name] > 1 and isinstance(description.name, str)
        else description
        for vector, description in renamed
    ]


def describe_vector(
    vector: IndiVector, attributes: Mapping[str, Attribute], *, blobs: bool
) -> Iterable[SwitchboardEntityDescription]:
    """Entity descriptions of one vector (see the issue's mapping rules)."""
    name = vector.name
    state = (("state", state_key(name)),)
    quiet = vector.group in QUIET_GROUPS and name != "CONNECTION"
    category = EntityCategory.CONFIG if quiet else None
    enabled = not quiet
    multi = len(vector.members) > 1
    vector_label = label_unit(vector.label)[0] if not multi else clean_label(vector.label)

    def title(member_label: str) -> str:
        return f"{vector_label} {label_unit(member_label)[0]}" if multi else vector_label

    if vector.kind == "switch":
        pair = on_off_members(vector)
        if vector.perm == "ro":
            for member in vector.members.values():
                yield SwitchboardBinarySensorDescription(
                    key=member_key(name, member.name),
                    name=title(member.label),
                    attribute=member_key(name, member.name),
                    entity_category=EntityCategory.DIAGNOSTIC,
                    entity_registry_enabled_default=enabled,
                    extra_attributes=state,
                )
        elif pair is not None:
            yield SwitchboardSwitchDescription(
                key=name,
                name=vector_label,
                attribute=member_key(name, pair[0]),
                turn_on=ActionCall("turn_on", {"vector": name, "member": pair[0]}),
                turn_off=ActionCall("turn_off", {"vector": name, "member": pair[0]}),
                entity_category=category,
                entity_registry_enabled_default=enabled,
                extra_attributes=state,
            )
        elif vector.rule == "OneOfMany":
            yield SwitchboardSelectDescription(
                key=name,
                name=vector_label,
                attribute=f"{name}.selected",
                options=list(select_options(vector)),
                select_option=ActionCall("select_option", {"vector": name}),
                entity_category=category,
                entity_registry_enabled_default=enabled,
                extra_attributes=state,
            )
        else:
            for member in vector.members.values():
                yield SwitchboardSwitchDescription(
                    key=member_key(name, member.name),
                    name=title(member.label),
                    attribute=member_key(name, member.name),
                    turn_on=ActionCall("turn_on", {"vector": name, "member": member.name}),
                    turn_off=ActionCall("turn_off", {"vector": name, "member": member.name}),
                    entity_category=category,
                    entity_registry_enabled_default=enabled,
                    extra_attributes=state,
                )
    elif vector.kind == "number":
        for member in vector.members.values():
            key = member_key(name, member.name)
            device_class = KNOWN_NUMBERS.get((name, member.name), (None, None))[1]
            unit = number_unit(vector, member)
            if vector.perm == "ro" and is_sexagesimal(member.format):
                # Shown as the driver formats it (RA 5:35:17); the number is an attribute.
                yield SwitchboardSensorDescription(
                    key=key,
                    name=title(member.label),
                    attribute=f"{key}.text",
                    entity_category=category,
                    entity_registry_enabled_default=enabled,
                    extra_attributes=(("value", key), *state),
                )
                continue
            if vector.perm == "ro":
                yield SwitchboardSensorDescription(
                    key=key,
                    name=title(member.label),
                    attribute=key,
                    native_unit_of_measurement=unit,
                    device_class=device_class,
                    state_class=SensorStateClass.MEASUREMENT,
                    suggested_display_precision=precision(member.format),
                    entity_category=category,
                    entity_registry_enabled_default=enabled,
                    extra_attributes=state,
                )
                continue
            minimum, maximum = member.minimum, member.maximum
            if minimum is None or maximum is None or minimum >= maximum:
                minimum, maximum = -1e9, 1e9  # INDI: min == max means "no limits"
            step = member.step if member.step else format_step(member.format)
            yield SwitchboardNumberDescription(
                key=key,
                name=title(member.label),
                attribute=key,
                native_min_value=minimum,
                native_max_value=maximum,
                native_step=step,
                native_unit_of_measurement=unit,
                device_class=_number_device_class(device_class),
                set_value=ActionCall("set_value", {"vector": name, "member": member.name}),
                entity_category=category,
                entity_registry_enabled_default=enabled,
                # A sexagesimal number (RA, DEC) also as the driver formats it.
                extra_attributes=(("text", f"{key}.text"), *state)
                if is_sexagesimal(member.format)
                else state,
            )
    elif vector.kind == "text":
        for member in vector.members.values():
            key = member_key(name, member.name)
            yield SwitchboardSensorDescription(
                key=key,
                name=title(member.label),
                attribute=key,
                entity_category=EntityCategory.DIAGNOSTIC,
                entity_registry_enabled_default=False,
                extra_attributes=state,
            )
    elif vector.kind == "light":
        for member in vector.members.values():
            key = member_key(name, member.name)
            yield SwitchboardSensorDescription(
                key=key,
                name=title(member.label),
                attribute=key,
                device_class=SensorDeviceClass.ENUM,
                options=LIGHT_STATES,
                entity_registry_enabled_default=enabled,
                extra_attributes=state,
            )
    elif vector.kind == "blob" and blobs:
        for member in vector.members.values():
            key = member_key(name, member.name)
            if f"{key}.format" not in attributes:
                continue
            yield SwitchboardSensorDescription(
                key=key,
                name=title(member.label),
                attribute=f"{key}.format",
                entity_category=EntityCategory.DIAGNOSTIC,
                extra_attributes=(("size", f"{key}.size"), *state),
            )


def _number_device_class(device_class: SensorDeviceClass | None) -> NumberDeviceClass | None:
    if device_class is None:
        return None
    try:
        return NumberDeviceClass(device_class.value)
    except ValueError:
        return None
