"""The allow-listed actions of Midea appliances, their argument schemas, and how they run.

Every entity and the MQTT bridge go through these (``coordinator.async_execute``). Names are
Home Assistant's (``turn_on``, ``set_humidity``, ``set_hvac_mode``, ...); for dehumidifiers the
command names of ComfeePool's ``midea_inventor_lib`` are accepted too, as aliases with that
library's arguments (``send_target_humidity_command`` ``{"humidity": 55}``), so automations
written for ComfeePool keep working over the bridge (table in ``docs/bridge.md``).

Arguments (validated before :func:`async_run_action` sees them):

* ``turn_on`` / ``turn_off``: optional ``switch`` (one of the appliance's switches, e.g.
  ``anion``; absent: the appliance itself);
* ``set_humidity``: ``humidity`` (%, the appliance's range); ``set_mode``: ``mode`` (one of the
  appliance's modes); ``set_fan_speed``: ``fan_speed``; ``set_water_level``: ``water_level``
  (``25``/``50``/``75``/``100``: the tank level that counts as full); ``select_option``:
  ``select`` (``fan_speed`` or ``water_level_set``) and ``option`` (what the select entities
  send); ``reset_filter``;
* ``set_temperature``: ``temperature`` (°C); ``set_hvac_mode``: ``hvac_mode`` (``off``,
  ``auto``, ``cool``, ``dry``, ``heat``, ``fan_only``); ``set_fan_mode``, ``set_swing_mode``,
  ``set_preset_mode``: ``fan_mode``, ``swing_mode``, ``preset_mode``; ``select_option`` (where
  the air conditioner has selects): ``select`` (``wind_ud_angle``, ``wind_lr_angle``,
  ``rate_select``, ``fresh_air_mode``, ``fresh_air_exhaust_mode``) and ``option`` (see
  :func:`air_conditioner_selects`; the louvres and the power limit only while the air
  conditioner is on, :data:`SELECTS_WHILE_ON`);
  ``turn_on`` / ``turn_off`` with ``switch`` also ``fresh_air_power``,
  ``fresh_air_exhaust_power`` and ``breezeless``.
"""

from collections.abc import Mapping, Sequence
from typing import Any, Final

import probatio

from ...model import ActionSpec, CommandRejectedError
from .client import MideaApplianceClient
from .lan import SUPPORTED_TYPES

DEHUMIDIFIER: Final = 0xA1
AIR_CONDITIONER: Final = 0xAC
assert frozenset({DEHUMIDIFIER, AIR_CONDITIONER}) == SUPPORTED_TYPES

MIN_HUMIDITY: Final = 35
MAX_HUMIDITY: Final = 85
WATER_LEVELS: Final = ("25", "50", "75", "100")

DEHUMIDIFIER_SWITCHES: Final = ("anion", "pump", "swing", "child_lock", "prompt_tone")
"""midea-local attributes a dehumidifier switch sets (``pump`` only where the model has one)."""
AIR_CONDITIONER_SWITCHES: Final = (
    "aux_heating",
    "prompt_tone",
    "screen_display",
    "out_silent",
    "smart_eye",
    "anion",
    "sound",
    "self_clean",
)
"""midea-local attributes an air conditioner switch sets, where midea-local keeps them."""
AIR_CONDITIONER_READINGS: Final = {
    "compressor_frequency": "Hz",
    "target_compressor_frequency": "Hz",
    "compressor_current": "A",
    "compressor_voltage": "V",
    "compressor_power": "W",
    "indoor_ambient_temperature": "°C",
    "indoor_coil_temperature": "°C",
    "outdoor_coil_temperature": "°C",
    "outdoor_ambient_temperature": "°C",
    "discharge_pipe_temperature": "°C",
    "indoor_fan_speed": "rpm",
    "target_indoor_fan_speed": "rpm",
    "outdoor_fan_speed": "rpm",
    "electrify_time": "h",
    "total_operating_time": "h",
    "current_operating_time": "h",
}
"""The air conditioner's engineering readings (midea-local attribute -> unit), from the C1
group-data answers (groups 0, 1, 2, 3 and 7, ``docs/protocols/midea.md`` §5); an appliance
that does not answer a group has none of its readings."""
AIR_CONDITIONER_REPORTED_SWITCHES: Final = (
    "fresh_air_power",
    "fresh_air_exhaust_power",
    "breezeless",
)
"""Air conditioner switches that exist only once the appliance has sent them (midea-local's
default for them is a ``False`` no appliance sent): fresh air (B1 tag ``0x0233`` or
``0x004B``, or the ``BB`` status of model ``23096633``), fresh-air exhaust (only that model's
``BB`` status) and breezeless (``0x0018``)."""
AIR_CONDITIONER_SELECTS: Final = {
    "wind_ud_angle": "swing_vertical_angle",
    "wind_lr_angle": "swing_horizontal_angle",
    "rate_select": "rate_select",
    "fresh_air_mode": None,
    "fresh_air_exhaust_mode": None,
}
"""Air conditioner selects (midea-local attribute -> the B5 capability announcing it).

A select exists where midea-local keeps the attribute (it drops the louvre angles and the rate
select when the B5 capabilities leave them out) and the appliance announces it (capability) or
has sent its value; fresh air (intake and, on model ``23096633``, exhaust) has no capability,
only its value."""
SELECTS_WHILE_ON: Final = frozenset({"wind_ud_angle", "wind_lr_angle", "rate_select"})
"""Selects the appliance takes only while it runs: switched off, it closes its louvres and
draws no power, and drops a louvre angle or power limit sent then (core's ``midea`` makes these
selects unavailable while off for the same reason; ``docs/protocols/midea.md`` §5). The
fresh-air fan speed is not among them: fresh air runs with the air conditioner off."""

HVAC_MODES: Final = {"auto": 1, "cool": 2, "dry": 3, "heat": 4, "fan_only": 5}
"""Home Assistant HVAC mode -> the AC's mode value (§5)."""
FAN_MODES: Final = {"silent": 20, "low": 40, "medium": 60, "high": 80, "full": 100, "auto": 102}
"""Home Assistant fan mode -> the AC's fan speed (§5)."""
SWING_MODES: Final = {
    "off": (False, False),
    "vertical": (True, False),
    "horizontal": (False, True),
    "both": (True, True),
}
"""Swing mode -> (swing_vertical, swing_horizontal)."""
PRESETS: Final = {
    "comfort": "comfort_mode",
    "eco": "eco_mode",
    "boost": "boost_mode",
    "sleep": "sleep_mode",
    "away": "frost_protect",
}
"""Preset -> the AC attribute that is on while it is active (``none``: all off)."""
INVENTOR_MODES: Final = {1: "manual", 2: "continuous", 3: "auto", 4: "clothes_dry"}
"""midea_inventor_lib mode number -> midea-local mode name (§4)."""


def dehumidifier_switches(client: MideaApplianceClient) -> tuple[str, ...]:
    """The switches a dehumidifier has: all but the pump, plus the pump where it has one."""
    return tuple(
        name for name in DEHUMIDIFIER_SWITCHES if name != "pump" or client.capabilities.get("pump")
    )


def air_conditioner_switches(client: MideaApplianceClient) -> tuple[str, ...]:
    """The switches an air conditioner has (see :data:`AIR_CONDITIONER_REPORTED_SWITCHES`)."""
    return (
        *(name for name in AIR_CONDITIONER_SWITCHES if name in client.attributes),
        *(name for name in AIR_CONDITIONER_REPORTED_SWITCHES if name in client.reported),
    )


def air_conditioner_selects(client: MideaApplianceClient) -> dict[str, list[str]]:
    """The selects an air conditioner has, with their options (:data:`AIR_CONDITIONER_SELECTS`).

    Options are midea-local's names: louvre angles ``off`` (no fixed position), ``up`` / ``left``,
    ``up_mid`` / ``left_mid``, ``middle``, ``down_mid`` / ``right_mid``, ``down`` / ``right``;
    the power-limit gear in % (``1``, ``20`` ... ``100``, or ``50``, ``75``, ``100`` on a
    two-level appliance); the fresh-air fan speed ``off``, ``silent``, ``low``, ``medium``,
    ``high``, ``full`` (model ``23096633``: ``off``, ``low``, ``medium``, ``high``, ``full``) and
    that model's exhaust fan speed ``off``, ``silent``, ``high``, ``full``.
    """
    selects: dict[str, list[str]] = {}
    for name, capability in AIR_CONDITIONER_SELECTS.items():
        announced = capability is not None and client.capabilities.get(capability)
        options = client.select_options.get(name)
        if options and name in client.attributes and (announced or name in client.reported):
            selects[name] = options
    return selects


def _check_option(select: str, option: str, allowed: Sequence[str]) -> None:
    """Raise the translated ``midea_invalid_option`` unless ``option`` is one of ``allowed``."""
    if option not in allowed:
        raise CommandRejectedError(
            f"{option} is not an option of {select}",
            translation_key="midea_invalid_option",
            placeholders={"option": option, "options": ", ".join(allowed)},
        )


def _switch_schema(switches: tuple[str, ...]) -> probatio.Schema:
    return probatio.Schema({probatio.Optional("switch"): probatio.In(switches)})


def _spec(name: str, fields: Mapping[Any, Any], description: str) -> ActionSpec:
    return ActionSpec(name=name, schema=probatio.Schema(dict(fields)), description=description)


def appliance_actions(client: MideaApplianceClient) -> dict[str, ActionSpec]:
    """The allow-list of one appliance (see the module docstring for arguments)."""
    if client.config.device_type == DEHUMIDIFIER:
        return _dehumidifier_actions(client)
    return _air_conditioner_actions(client)


def _dehumidifier_actions(client: MideaApplianceClient) -> dict[str, ActionSpec]:
    switches = dehumidifier_switches(client)
    humidity = probatio.All(
        probatio.Coerce(int), probatio.Range(min=MIN_HUMIDITY, max=MAX_HUMIDITY)
    )
    modes = tuple(client.modes)
    speeds = tuple(client.fan_speeds)
    actions = [
        ActionSpec(
            name="turn_on",
            schema=_switch_schema(switches),
            description="Switch the dehumidifier on, or one of its switches (switch).",
        ),
        ActionSpec(
            name="turn_off",
            schema=_switch_schema(switches),
            description="Switch the dehumidifier off, or one of its switches (switch).",
        ),
        _spec(
            "set_humidity",
            {probatio.Required("humidity"): humidity},
            f"Set the target humidity (%, {MIN_HUMIDITY}-{MAX_HUMIDITY}).",
        ),
        _spec(
            "set_mode",
            {probatio.Required("mode"): probatio.In(modes)},
            "Set the mode: " + ", ".join(modes) + ".",
        ),
        _spec(
            "set_fan_speed",
            {probatio.Required("fan_speed"): probatio.In(speeds)},
            "Set the fan speed: " + ", ".join(speeds) + ".",
        ),
        _spec(
            "set_water_level",
            {probatio.Required("water_level"): probatio.In(WATER_LEVELS)},
            "Set the tank level (%) that counts as full: 25, 50, 75 or 100.",
        ),
        _spec(
            "select_option",
            {
                probatio.Required("select"): probatio.In(("fan_speed", "water_level_set")),
                probatio.Required("option"): probatio.In((*speeds, *WATER_LEVELS)),
            },
            "Choose an option of a select: fan_speed (a fan speed) or water_level_set "
            "(25, 50, 75, 100).",
        ),
        _spec("reset_filter", {}, "Reset the filter-cleaning reminder."),
        _spec("send_poweron_command", {}, "ComfeePool alias of turn_on."),
        _spec("send_poweroff_command", {}, "ComfeePool alias of turn_off."),
        _spec(
            "send_target_humidity_command",
            {probatio.Required("humidity"): humidity},
            "ComfeePool alias of set_humidity (humidity, %).",
        ),
        _spec(
            "send_fan_speed_command",
            {
                probatio.Required("speed"): probatio.All(
                    probatio.Coerce(int), probatio.Range(min=1, max=100)
                )
            },
            "ComfeePool alias of set_fan_speed (speed: 1-100, 40 low, 60 medium, 80 high).",
        ),
        _spec(
            "send_mode_command",
            {
                probatio.Required("mode"): probatio.All(
                    probatio.Coerce(int), probatio.In(INVENTOR_MODES)
                )
            },
            "ComfeePool alias of set_mode (mode: 1 set point, 2 continuous, 3 smart, 4 dryer).",
        ),
        _spec("send_ion_on_command", {}, "ComfeePool alias of turn_on with switch anion."),
        _spec("send_ion_off_command", {}, "ComfeePool alias of turn_off with switch anion."),
    ]
    if "pump" in switches:
        actions += [
            _spec("send_pump_on_command", {}, "ComfeePool alias of turn_on with switch pump."),
            _spec("send_pump_off_command", {}, "ComfeePool alias of turn_off with switch pump."),
        ]
    return {spec.name: spec for spec in actions}


def _air_conditioner_actions(client: MideaApplianceClient) -> dict[str, ActionSpec]:
    switches = air_conditioner_switches(client)
    hvac_modes = tuple(client.hvac_modes) or ("off", *HVAC_MODES)
    low = float(client.attributes.get("min_temperature") or 16)
    high = float(client.attributes.get("max_temperature") or 30)
    actions = [
        ActionSpec(
            name="turn_on",
            schema=_switch_schema(switches),
            description="Switch the air conditioner on, or one of its switches (switch).",
        ),
        ActionSpec(
            name="turn_off",
            schema=_switch_schema(switches),
            description="Switch the air conditioner off, or one of its switches (switch).",
        ),
        _spec(
            "set_temperature",
            {
                probatio.Required("temperature"): probatio.All(
                    probatio.Coerce(float), probatio.Range(min=low, max=high)
                )
            },
            f"Set the target temperature (°C, {low:g}-{high:g}).",
        ),
        _spec(
            "set_hvac_mode",
            {probatio.Required("hvac_mode"): probatio.In(hvac_modes)},
            "Set the HVAC mode: " + ", ".join(hvac_modes) + ".",
        ),
        _spec(
            "set_fan_mode",
            {probatio.Required("fan_mode"): probatio.In(tuple(FAN_MODES))},
            "Set the fan mode: " + ", ".join(FAN_MODES) + ".",
        ),
        _spec(
            "set_swing_mode",
            {probatio.Required("swing_mode"): probatio.In(tuple(SWING_MODES))},
            "Set the swing mode: " + ", ".join(SWING_MODES) + ".",
        ),
        _spec(
            "set_preset_mode",
            {probatio.Required("preset_mode"): probatio.In(("none", *PRESETS))},
            "Set the preset: none, " + ", ".join(PRESETS) + ".",
        ),
    ]
    if selects := air_conditioner_selects(client):
        options = {option: None for choices in selects.values() for option in choices}
        actions.append(
            _spec(
                "select_option",
                {
                    probatio.Required("select"): probatio.In(tuple(selects)),
                    probatio.Required("option"): probatio.In(tuple(options)),
                },
                "Choose an option of a select: "
                + "; ".join(f"{name} ({', '.join(choices)})" for name, choices in selects.items())
                + ".",
            )
        )
    return {spec.name: spec for spec in actions}


async def async_run_action(
    client: MideaApplianceClient, action: str, args: Mapping[str, Any]
) -> None:
    """Run a validated action; raises ``CommandFailed`` (client) or ``CommandRejectedError``."""
    if client.config.device_type == DEHUMIDIFIER:
        await _async_run_dehumidifier(client, action, args)
    else:
        await _async_run_air_conditioner(client, action, args)


_DEHUMIDIFIER_ALIASES: Final[dict[str, tuple[str, dict[str, Any]]]] = {
    "send_poweron_command": ("turn_on", {}),
    "send_poweroff_command": ("turn_off", {}),
    "send_ion_on_command": ("turn_on", {"switch": "anion"}),
    "send_ion_off_command": ("turn_off", {"switch": "anion"}),
    "send_pump_on_command": ("turn_on", {"switch": "pump"}),
    "send_pump_off_command": ("turn_off", {"switch": "pump"}),
}


def _nearest_speed(client: MideaApplianceClient, speed: int) -> str:
    """The appliance's named fan speed closest to a midea_inventor_lib speed value."""
    named = {"lowest": 1, "silent": 20, "low": 40, "medium": 60, "high": 80}
    choices = [(abs(value - speed), name) for name, value in named.items()]
    for _, name in sorted(choices):
        if name in client.fan_speeds:
            return name
    raise CommandRejectedError(f"fan speed {speed} not supported")


async def _async_run_dehumidifier(
    client: MideaApplianceClient, action: str, args: Mapping[str, Any]
) -> None:
    if action in _DEHUMIDIFIER_ALIASES:
        action, args = _DEHUMIDIFIER_ALIASES[action]
    if action in ("turn_on", "turn_off"):
        await client.async_set(args.get("switch", "power"), action == "turn_on")
    elif action in ("set_humidity", "send_target_humidity_command"):
        await client.async_set("target_humidity", int(args["humidity"]))
    elif action == "set_mode":
        await client.async_set("mode", args["mode"])
    elif action == "send_mode_command":
        await client.async_set("mode", INVENTOR_MODES[args["mode"]])
    elif action == "set_fan_speed":
        await client.async_set("fan_speed", args["fan_speed"])
    elif action == "send_fan_speed_command":
        await client.async_set("fan_speed", _nearest_speed(client, int(args["speed"])))
    elif action == "set_water_level":
        await client.async_set("water_level_set", args["water_level"])
    elif action == "select_option":
        select, option = args["select"], args["option"]
        _check_option(select, option, client.fan_speeds if select == "fan_speed" else WATER_LEVELS)
        await client.async_set(select, option)
    elif action == "reset_filter":
        await client.async_reset_filter()
    else:  # pragma: no cover - the allow-list stops anything else
        raise CommandRejectedError(f"unknown action {action}")


async def _async_run_air_conditioner(
    client: MideaApplianceClient, action: str, args: Mapping[str, Any]
) -> None:
    attributes = client.attributes
    if action in ("turn_on", "turn_off"):
        await client.async_set(args.get("switch", "power"), action == "turn_on")
    elif action == "set_temperature":
        await client.async_set("target_temperature", float(args["temperature"]))
    elif action == "set_hvac_mode":
        mode = args["hvac_mode"]
        if mode == "off":
            await client.async_set("power", False)
            return
        await client.async_set("mode", HVAC_MODES[mode])
        if not attributes.get("power"):
            await client.async_set("power", True)
    elif action == "set_fan_mode":
        await client.async_set("fan_speed", FAN_MODES[args["fan_mode"]])
    elif action == "set_swing_mode":
        vertical, horizontal = SWING_MODES[args["swing_mode"]]
        if bool(attributes.get("swing_vertical")) != vertical:
            await client.async_set("swing_vertical", vertical)
        if bool(attributes.get("swing_horizontal")) != horizontal:
            await client.async_set("swing_horizontal", horizontal)
    elif action == "set_preset_mode":
        preset = args["preset_mode"]
        for name, attribute in PRESETS.items():
            if name != preset and attributes.get(attribute):
                await client.async_set(attribute, False)
        if preset in PRESETS:
            await client.async_set(PRESETS[preset], True)
    elif action == "select_option":
        select, option = args["select"], args["option"]
        _check_option(select, option, air_conditioner_selects(client).get(select, ()))
        if select in SELECTS_WHILE_ON and not attributes.get("power"):
            raise CommandRejectedError(
                f"{select} cannot be set while the air conditioner is off",
                translation_key="midea_select_needs_power",
            )
        await client.async_set(select, option)
    else:  # pragma: no cover - the allow-list stops anything else
        raise CommandRejectedError(f"unknown action {action}")
