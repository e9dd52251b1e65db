"""The actions Meross devices allow-list, with their argument schemas.

Facts: ``docs/protocols/meross.md``. Every command a user, an automation or an exporter can
send to a Meross device is one of these; ``source.MerossDeviceSource.async_execute`` turns it
into the device's ``SET`` request (``device.py``).
"""

from collections.abc import Mapping, Sequence

from homeassistant.components.climate import HVACMode
import probatio

from ...model import ActionSpec
from ...validation import finite_float, strict_int


def toggle_actions(channels: int) -> Mapping[str, ActionSpec]:
    """``turn_on`` / ``turn_off`` of a plug or strip with ``channels`` channels.

    Argument ``channel`` (0 .. channels - 1, default 0; on a strip 0 is the master).
    """
    channel = probatio.All(strict_int, probatio.Range(min=0, max=max(channels - 1, 0)))
    schema = probatio.Schema({probatio.Optional("channel", default=0): channel})
    return {
        "turn_on": ActionSpec(
            name="turn_on", schema=schema, description="SET ToggleX onoff 1 on a channel."
        ),
        "turn_off": ActionSpec(
            name="turn_off", schema=schema, description="SET ToggleX onoff 0 on a channel."
        ),
    }


def thermostat_actions(
    low: float, high: float, modes: Sequence[HVACMode], presets: Sequence[str] = ()
) -> Mapping[str, ActionSpec]:
    """``set_temperature``, ``set_hvac_mode`` and (with ``presets``) ``set_preset_mode``.

    ``temperature`` in °C, ``low`` .. ``high``; ``hvac_mode`` is one of ``modes`` (a
    thermostat: off, heat, auto, cool; a valve: no cool);
    ``preset_mode`` one of ``presets`` (the device's own modes, ``device.MTS200_PRESETS`` /
    ``device.MTS100_PRESETS``): it switches the device on and to that mode.
    """
    actions: dict[str, ActionSpec] = {
        "set_temperature": ActionSpec(
            name="set_temperature",
            schema=probatio.Schema(
                {
                    probatio.Required("temperature"): probatio.All(
                        finite_float, probatio.Range(min=low, max=high)
                    )
                }
            ),
            description="Set the target temperature (°C) of the current mode.",
        ),
        "set_hvac_mode": ActionSpec(
            name="set_hvac_mode",
            schema=probatio.Schema(
                {probatio.Required("hvac_mode"): probatio.In([str(m) for m in modes])}
            ),
            description="Switch off, or to heat / cool / auto.",
        ),
    }
    if presets:
        actions["set_preset_mode"] = ActionSpec(
            name="set_preset_mode",
            schema=probatio.Schema({probatio.Required("preset_mode"): probatio.In(list(presets))}),
            description="Switch on and to one of the device's modes (its own target temperature).",
        )
    return actions


CAPTURE_ACTIONS: Mapping[str, ActionSpec] = {
    "capture_traffic": ActionSpec(
        name="capture_traffic",
        schema=probatio.Schema({}),
        description=(
            "Record everything on the device's MQTT topics for 60 s (the Meross app's requests, "
            "the device's replies and pushes), redacted, for the device's diagnostics."
        ),
    )
}
"""The ``Capture traffic`` button of every Meross device (not of a hub's valves)."""
