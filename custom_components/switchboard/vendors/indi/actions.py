"""The actions INDI devices allow-list, with their argument schemas.

Facts: ``docs/protocols/indi.md``. Any writable vector can be set (``set_vector``, a
``newXXXVector``); the entity shortcuts (``turn_on``, ``set_value``, ``select_option``, the CCD
cooler's ``set_temperature`` / ``set_hvac_mode``) are translated by
``source.IndiHub.async_execute`` into the same ``newXXXVector``.
"""

from collections.abc import Mapping
from typing import Final

from homeassistant.helpers import config_validation as cv
import probatio

from ...model import ActionSpec
from ...validation import finite_float, finite_scalar

MEMBER_VALUE: Final = finite_scalar
"""A member value: On/Off as bool, a number (finite), or text (INDI number text included)."""
SET_VECTOR_SCHEMA: Final = probatio.Schema(
    {
        probatio.Required("vector"): cv.string,
        probatio.Required("members"): probatio.All(
            {cv.string: MEMBER_VALUE}, probatio.Length(min=1)
        ),
        probatio.Optional("timeout"): probatio.All(finite_float, probatio.Range(min=0, max=600)),
    }
)


def device_actions(*, ccd: bool) -> Mapping[str, ActionSpec]:
    """The allow-list of an INDI device; ``ccd``: it has a cooled CCD (``ccd.target``).

    Arguments: ``vector`` and ``member`` are INDI names; ``value`` a float; ``option`` a
    OneOfMany member's label; ``temperature`` °C; ``hvac_mode`` ``cool`` or ``off``;
    ``timeout`` seconds to wait for the device's Ok (0 .. 600).
    """
    vector_member = {
        probatio.Required("vector"): cv.string,
        probatio.Required("member"): cv.string,
    }
    specs = {
        "set_vector": ActionSpec(
            name="set_vector",
            schema=SET_VECTOR_SCHEMA,
            description=(
                "Send newXXXVector to a writable vector (members: name -> value; switches "
                "On/Off) and wait for the device to confirm it (Ok) or refuse it (Alert)."
            ),
        ),
        "turn_on": ActionSpec(
            name="turn_on",
            schema=probatio.Schema(vector_member),
            description="Switch a member On (for an ON/OFF vector: its ON member).",
        ),
        "turn_off": ActionSpec(
            name="turn_off",
            schema=probatio.Schema(vector_member),
            description="Switch a member Off (for an ON/OFF vector: its OFF member On).",
        ),
        "set_value": ActionSpec(
            name="set_value",
            schema=probatio.Schema({**vector_member, probatio.Required("value"): finite_float}),
            description="Set one number member.",
        ),
        "select_option": ActionSpec(
            name="select_option",
            schema=probatio.Schema(
                {probatio.Required("vector"): cv.string, probatio.Required("option"): cv.string}
            ),
            description="Switch the member of a OneOfMany vector with this label On.",
        ),
    }
    if ccd:
        specs["set_temperature"] = ActionSpec(
            name="set_temperature",
            schema=probatio.Schema({probatio.Required("temperature"): finite_float}),
            description="Set the CCD cooler's target temperature (CCD_TEMPERATURE, °C).",
        )
        specs["set_hvac_mode"] = ActionSpec(
            name="set_hvac_mode",
            schema=probatio.Schema({probatio.Required("hvac_mode"): probatio.In(["cool", "off"])}),
            description="Switch the CCD cooler on (cool) or off (CCD_COOLER).",
        )
    return specs
