"""The device actions the MQTT bridge runs, documented as JSON Schema (docs/bridge-actions.json).

``python -m tests.bridge.test_action_schemas`` rewrites the file after an allow-list changed.
"""

import json
from pathlib import Path
from typing import Any

from homeassistant.components.climate import HVACMode

from custom_components.switchboard.export.core import action_spec_json_schema
from custom_components.switchboard.model import ActionSpec
from custom_components.switchboard.vendors.indi.actions import device_actions
from custom_components.switchboard.vendors.maxsmart.actions import strip_actions
from custom_components.switchboard.vendors.meross.actions import (
    thermostat_actions,
    toggle_actions,
)
from custom_components.switchboard.vendors.meross.device import MTS200_PRESETS
from custom_components.switchboard.vendors.midea.actions import (
    AIR_CONDITIONER,
    DEHUMIDIFIER,
    appliance_actions,
)
from custom_components.switchboard.vendors.midea.client import (
    ApplianceConfig,
    MideaApplianceClient,
)

DOCUMENT = Path(__file__).parents[2] / "docs" / "bridge-actions.json"


def midea_actions(
    device_type: int,
    capabilities: dict[str, bool],
    reported: set[str],
    model: str = "",
    subtype: int = 0,
) -> dict[str, ActionSpec]:
    """The allow-list of a typical Midea appliance of ``device_type`` (or of ``model``).

    Its attributes and option lists are those of midea-local's own device object (built, never
    connected); ``capabilities`` and ``reported`` stand for what the appliance's B5 and B1
    answers would add (a pump; louvre angles, power limit, fresh air, breezeless).
    """
    config = ApplianceConfig(
        appliance_id=1,
        device_type=device_type,
        name="typical",
        host="127.0.0.1",
        port=6444,
        protocol=3,
        model=model,
        subtype=subtype,
    )
    client = MideaApplianceClient(config, lambda _client: None)
    device = client._create_device()
    client.attributes = dict(device.attributes)
    client._read_lists(device)
    client.capabilities = {**client.capabilities, **capabilities}
    client.reported = frozenset(reported)
    return appliance_actions(client)


def render() -> dict[str, Any]:
    """Each family's allow-list for a typical device, action -> JSON Schema of its args."""
    families = {
        "maxsmart (6-port strip)": strip_actions(6),
        "meross (4-channel strip)": toggle_actions(4),
        "meross (MTS200 thermostat)": thermostat_actions(
            5.0, 35.0, [HVACMode.OFF, HVACMode.HEAT, HVACMode.COOL, HVACMode.AUTO], MTS200_PRESETS
        ),
        "indi (CCD with a cooler)": device_actions(ccd=True),
        "midea (dehumidifier with a pump; ComfeePool's names as aliases)": midea_actions(
            DEHUMIDIFIER, {"pump": True}, set()
        ),
        "midea (air conditioner with louvre angles, power limit, fresh air, breezeless)": (
            midea_actions(
                AIR_CONDITIONER,
                {"swing_vertical_angle": True, "swing_horizontal_angle": True, "rate_select": True},
                {"fresh_air_power", "fresh_air_mode", "breezeless"},
            )
        ),
        "midea (air conditioner 23096633, BB: fresh-air intake and exhaust)": midea_actions(
            AIR_CONDITIONER,
            {},
            {
                "fresh_air_power",
                "fresh_air_mode",
                "fresh_air_exhaust_power",
                "fresh_air_exhaust_mode",
            },
            model="23096633",
            subtype=1,
        ),
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
    dehumidifier = next(value for key, value in schemas.items() if "dehumidifier" in key)
    assert dehumidifier["send_pump_on_command"]["properties"] == {}
    assert dehumidifier["send_target_humidity_command"]["required"] == ["humidity"]
    air_conditioner = next(value for key, value in schemas.items() if "air conditioner" in key)
    bb = next(value for key, value in schemas.items() if "23096633" in key)
    assert bb["select_option"]["properties"]["select"]["enum"] == [
        "fresh_air_mode",
        "fresh_air_exhaust_mode",
    ]
    assert "fresh_air_exhaust_power" in bb["turn_on"]["properties"]["switch"]["enum"]
    select = air_conditioner["select_option"]["properties"]["select"]["enum"]
    assert select == ["wind_ud_angle", "wind_lr_angle", "rate_select", "fresh_air_mode"]
    switch = air_conditioner["turn_on"]["properties"]["switch"]["enum"]
    assert {"fresh_air_power", "breezeless"} <= set(switch)


if __name__ == "__main__":
    DOCUMENT.write_text(json.dumps(render(), indent=2, ensure_ascii=False) + "\n")
