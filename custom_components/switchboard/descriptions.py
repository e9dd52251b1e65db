"""Entity descriptions families hand to the platforms.

A family describes each entity as one of these frozen, keyword-only descriptions: which device
attribute drives its state, and which allow-listed action (with fixed arguments) each user
command runs. The platform modules only read these; they never import a vendor package.
"""

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from homeassistant.components.binary_sensor import BinarySensorEntityDescription
from homeassistant.components.button import ButtonEntityDescription
from homeassistant.components.climate import ClimateEntityDescription, HVACMode
from homeassistant.components.humidifier import HumidifierEntityDescription
from homeassistant.components.number import NumberEntityDescription
from homeassistant.components.select import SelectEntityDescription
from homeassistant.components.sensor import SensorEntityDescription
from homeassistant.components.switch import SwitchEntityDescription
from homeassistant.const import Platform
from homeassistant.helpers.entity import EntityDescription

from .model import AttributeValue, DeviceState


@dataclass(frozen=True, slots=True)
class ActionCall:
    """An allow-listed action and the fixed arguments an entity sends with it.

    Platforms that send a value (number, select, climate, rename) add it under their own
    argument name (``value``, ``option``, ``temperature``, ``hvac_mode``, ``name``).
    """

    action: str
    args: Mapping[str, Any] = field(default_factory=dict)

    def with_args(self, **extra: Any) -> dict[str, Any]:
        """Return the fixed arguments merged with ``extra``."""
        return {**self.args, **extra}


@dataclass(frozen=True, kw_only=True)
class SwitchboardEntityDescription(EntityDescription):
    """Fields every Switchboard entity description has.

    ``attribute`` names the device attribute that drives the state (``None``: the entity has
    no state attribute, such as a button). ``name_attribute`` names an attribute whose value
    is the entity's name (MaxSmart port names, INDI labels), overriding ``translation_key``.
    ``extra_attributes`` pairs state-attribute names with device attributes (INDI vector
    state), as ``(("state", "focus_abs_state"),)``. ``name_placeholders`` pairs placeholders
    of the translated name with device attributes whose current value fills them, so that
    every entity of a MaxSmart port follows the port's name: ``"{port} power"`` with
    ``(("port", "port_1_name"),)`` reads "Monitor power" (``translation_placeholders`` holds
    the value used while the device gives none). ``exists_fn`` says whether a device has
    this entity; ``None`` means "when the device reports ``attribute``" (always, without one).
    ``requires_on`` names a device attribute that must be truthy for the entity to be
    available (a Midea air conditioner's louvre selects need it switched on: ``"power"``).
    """

    platform: ClassVar[Platform]
    attribute: str | None = None
    name_attribute: str | None = None
    extra_attributes: tuple[tuple[str, str], ...] = ()
    name_placeholders: tuple[tuple[str, str], ...] = ()
    exists_fn: Callable[[DeviceState], bool] | None = None
    requires_on: str | None = None

    def exists(self, state: DeviceState) -> bool:
        """Whether the device in ``state`` has this entity (see ``exists_fn``)."""
        if self.exists_fn is not None:
            return self.exists_fn(state)
        return self.attribute is None or self.attribute in state.attributes


@dataclass(frozen=True, kw_only=True)
class SwitchboardSwitchDescription(SwitchEntityDescription, SwitchboardEntityDescription):
    """A switch: on when the attribute is truthy (or equals ``on_value``).

    ``rename`` is the action the ``switchboard.rename_port`` service runs (argument ``name``),
    or ``None`` when the switch cannot be renamed.
    """

    platform: ClassVar[Platform] = Platform.SWITCH
    turn_on: ActionCall
    turn_off: ActionCall
    on_value: AttributeValue = None
    rename: ActionCall | None = None


@dataclass(frozen=True, kw_only=True)
class SwitchboardSensorDescription(SensorEntityDescription, SwitchboardEntityDescription):
    """A sensor showing the attribute's value in ``native_unit_of_measurement``.

    ``value_map`` translates raw values (for example INDI light states) before display.
    """

    platform: ClassVar[Platform] = Platform.SENSOR
    value_map: Mapping[Any, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class SwitchboardBinarySensorDescription(
    BinarySensorEntityDescription, SwitchboardEntityDescription
):
    """A binary sensor: on when the attribute is truthy (or equals ``on_value``)."""

    platform: ClassVar[Platform] = Platform.BINARY_SENSOR
    on_value: AttributeValue = None


@dataclass(frozen=True, kw_only=True)
class SwitchboardNumberDescription(NumberEntityDescription, SwitchboardEntityDescription):
    """A number; ``set_value`` runs with the new value under argument ``value``."""

    platform: ClassVar[Platform] = Platform.NUMBER
    set_value: ActionCall


@dataclass(frozen=True, kw_only=True)
class SwitchboardSelectDescription(SelectEntityDescription, SwitchboardEntityDescription):
    """A select; ``select_option`` runs with the chosen option under argument ``option``."""

    platform: ClassVar[Platform] = Platform.SELECT
    select_option: ActionCall


@dataclass(frozen=True, kw_only=True)
class SwitchboardButtonDescription(ButtonEntityDescription, SwitchboardEntityDescription):
    """A button that runs ``press``."""

    platform: ClassVar[Platform] = Platform.BUTTON
    press: ActionCall


@dataclass(frozen=True, kw_only=True)
class SwitchboardClimateDescription(ClimateEntityDescription, SwitchboardEntityDescription):
    """A climate entity (thermostat, CCD cooler).

    ``attribute`` holds the current :class:`HVACMode` value (a string such as ``"heat"``);
    temperatures are in °C. ``set_temperature`` runs with argument ``temperature``,
    ``set_hvac_mode`` (``None`` when the mode cannot be changed) with ``hvac_mode``.
    ``hvac_action_attribute`` holds an ``HVACAction`` value or ``None``. With ``preset_modes``,
    ``preset_attribute`` holds the current preset (one of them, or ``None``) and
    ``set_preset_mode`` runs with argument ``preset_mode``; presets other than Home Assistant's
    own names are translated under the entity's ``state_attributes.preset_mode``.
    """

    platform: ClassVar[Platform] = Platform.CLIMATE
    current_temperature_attribute: str | None = None
    target_temperature_attribute: str
    hvac_action_attribute: str | None = None
    hvac_modes: tuple[HVACMode, ...]
    min_temp: float = 5.0
    max_temp: float = 35.0
    target_temperature_step: float = 0.5
    set_temperature: ActionCall
    set_hvac_mode: ActionCall | None = None
    preset_attribute: str | None = None
    preset_modes: tuple[str, ...] = ()
    set_preset_mode: ActionCall | None = None
    current_humidity_attribute: str | None = None
    fan_mode_attribute: str | None = None
    fan_modes: tuple[str, ...] = ()
    set_fan_mode: ActionCall | None = None
    """Runs with argument ``fan_mode``."""
    swing_mode_attribute: str | None = None
    swing_modes: tuple[str, ...] = ()
    set_swing_mode: ActionCall | None = None
    """Runs with argument ``swing_mode``."""


@dataclass(frozen=True, kw_only=True)
class SwitchboardHumidifierDescription(HumidifierEntityDescription, SwitchboardEntityDescription):
    """A humidifier or dehumidifier; ``attribute`` holds whether it is on.

    Humidities are in %. ``set_humidity`` runs with argument ``humidity``, ``set_mode``
    (``None`` without modes) with ``mode``; ``turn_on`` / ``turn_off`` with no extra argument.
    """

    platform: ClassVar[Platform] = Platform.HUMIDIFIER
    target_humidity_attribute: str
    current_humidity_attribute: str | None = None
    mode_attribute: str | None = None
    available_modes: tuple[str, ...] = ()
    min_humidity: float = 0
    max_humidity: float = 100
    turn_on: ActionCall
    turn_off: ActionCall
    set_humidity: ActionCall
    set_mode: ActionCall | None = None


def existing[DescriptionT: SwitchboardEntityDescription](
    table: Iterable[DescriptionT], state: DeviceState
) -> Iterator[DescriptionT]:
    """The descriptions of a module-level ``table`` that the device in ``state`` has."""
    return (description for description in table if description.exists(state))


PLATFORMS: tuple[Platform, ...] = (
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.CLIMATE,
    Platform.HUMIDIFIER,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
)
"""Every platform a family can describe entities for."""
