"""The actions MaxSmart strips and plugs allow-list, with their argument schemas.

Facts: ``docs/protocols/maxsmart.md``. ``source.MaxSmartSource.async_execute`` sends them as
cmd 200 (switch) and cmd 201 (rename).
"""

from collections.abc import Mapping

from homeassistant.helpers import config_validation as cv
import probatio

from ...model import ActionSpec
from ...validation import strict_int
from .client import MAX_NAME_LENGTH


def strip_actions(port_count: int) -> Mapping[str, ActionSpec]:
    """``turn_on`` / ``turn_off`` / ``rename_port`` of a device with ``port_count`` ports.

    Argument ``port``: 1 .. ``port_count``, or 0 for every port (switch) / the strip (rename);
    ``name``: at most 21 characters (the device's limit).
    """
    ports = probatio.All(strict_int, probatio.Range(min=0, max=port_count))
    return {
        "turn_on": ActionSpec(
            name="turn_on",
            schema=probatio.Schema({probatio.Required("port"): ports}),
            description="Switch a port on (cmd 200 state 1); port 0 switches every port.",
        ),
        "turn_off": ActionSpec(
            name="turn_off",
            schema=probatio.Schema({probatio.Required("port"): ports}),
            description="Switch a port off (cmd 200 state 0); port 0 switches every port.",
        ),
        "rename_port": ActionSpec(
            name="rename_port",
            schema=probatio.Schema(
                {
                    probatio.Required("port"): ports,
                    probatio.Required("name"): probatio.All(
                        cv.string, probatio.Strip, probatio.Length(min=1, max=MAX_NAME_LENGTH)
                    ),
                }
            ),
            description=(
                "Rename a port on the device (cmd 201, at most 21 characters); port 0 "
                "renames the strip. Firmware that does not allow it rejects the command."
            ),
        ),
    }
