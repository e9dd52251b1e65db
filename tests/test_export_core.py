"""The export core's schema rendering and snapshot (the runners are tested through the bridge
and the SEPL connector, against their emulators)."""

import probatio

from custom_components.switchboard.export.core import (
    ExportOutcome,
    device_snapshot,
    validator_json_schema,
)
from custom_components.switchboard.model import Attribute, DeviceDescriptor, DeviceState
from custom_components.switchboard.validation import strict_int


def odd(value: int) -> int:
    """A validator the renderer does not know."""
    return value


def test_validator_json_schema_covers_the_validators_families_use() -> None:
    schema = probatio.Schema(
        {
            probatio.Required("port"): probatio.All(strict_int, probatio.Range(min=0, max=6)),
            probatio.Optional("level"): probatio.All(
                probatio.Coerce(float), probatio.Range(min=0, max=1, min_included=False)
            ),
            probatio.Optional("mode"): probatio.In(["eco", "comfort"]),
            probatio.Optional("either"): probatio.Any(int, str),
            probatio.Optional("tags"): [str],
            probatio.Optional("fixed"): "yes",
            probatio.Optional("odd"): odd,
            probatio.Optional("name"): probatio.All(str, probatio.Length(min=1, max=21)),
        }
    )
    assert validator_json_schema(schema) == {
        "type": "object",
        "properties": {
            "port": {"type": "integer", "minimum": 0, "maximum": 6},
            "level": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
            "mode": {"enum": ["eco", "comfort"]},
            "either": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
            "tags": {"type": "array", "items": {"type": "string"}},
            "fixed": {"const": "yes"},
            "odd": {"description": "odd"},
            "name": {"type": "string", "minLength": 1, "maxLength": 21},
        },
        "required": ["port"],
        "additionalProperties": False,
    }


def test_outcome_status_and_device_snapshot() -> None:
    assert ExportOutcome().ok
    assert ExportOutcome("unknown_device").status == 400
    assert ExportOutcome("device_unavailable").status == 500
    state = DeviceState(
        descriptor=DeviceDescriptor(id="d1", name="Desk", manufacturer="Test"),
        available=False,
        attributes={"power": Attribute(1.5, "W")},
    )
    assert device_snapshot(state) == {"available": False, "attributes": {"power": 1.5}}
