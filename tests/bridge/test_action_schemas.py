"""The device actions the MQTT bridge runs, documented as JSON Schema (docs/bridge-actions.json).

``python -m tests.bridge.test_action_schemas`` rewrites the file after an allow-list changed.
"""

import json
from pathlib import Path
from typing import Any

from homeassistant.components.climate import HVACMode

from custom_components.switchboard.export.core import action_spec_json_schema
from custom_components.switchboard.vendors.indi.actions import device_actions
from custom_components.switchboard.vendors.maxsmart.actions import strip_actions
from custom_components.switchboard.vendors.meross.actions import (
    thermostat_actions,
    toggle_actions,
)
from custom_components.switchboard.vendors.meross.device import MTS200_PRESETS

DOCUMENT = Path(__file__).parents[2] / "docs" / "bridge-actions.json"


def render() -> dict[str, Any]:
    """Each family's allow-list for a typical device, action -> JSON Schema of its args."""
    families = {
        "maxsmart (6-port strip)": strip_actions(6),
        "meross (4-channel strip)": toggle_actions(4),
        "meross (MTS200 thermostat)": thermostat_actions(
            5.0, 35.0, [HVACMode.OFF, HVACMode.HEAT, HVACMode.COOL, HVACMode.AUTO], MTS200_PRESETS
        ),
        "indi (CCD with a cooler)": device_actions(ccd=True),
    }
    return {
        family: {name: action_spec_json_schema(spec) for name, spec in actions.items()}
        for family, actions in families.items()
    }


def test_document_is_current() -> None:
    assert json.loads(DOCUMENT.read_text()) == render(), (
        "run `python -m tests.bridge.test_action_schemas` to update docs/bridge-actions.json"
    )


def test_schemas_carry_limits_and_choices() -> None:
    schemas = render()
    rename = schemas["maxsmart (6-port strip)"]["rename_port"]
    assert rename["required"] == ["port", "name"]
    assert rename["properties"]["name"]["maxLength"] == 21
    assert rename["additionalProperties"] is False
    thermostat = schemas["meross (MTS200 thermostat)"]
    assert thermostat["set_temperature"]["properties"]["temperature"]["minimum"] == 5.0
    assert thermostat["set_hvac_mode"]["properties"]["hvac_mode"]["enum"] == [
        "off",
        "heat",
        "cool",
        "auto",
    ]


if __name__ == "__main__":
    DOCUMENT.write_text(json.dumps(render(), indent=2, ensure_ascii=False) + "\n")
