"""The SEPL device types Switchboard exports Home Assistant entities as (no Home Assistant imports).

One device type per Home Assistant domain (``docs/protocols/sepl.md`` §5): one *Actuator*
service per allow-listed Home Assistant action (service url = the action name, e.g.
``turn_on``; input = one JSON structure of the action's fields in the ``data`` segment;
outputs ``status`` (integer, from ``"200"`` / ``"400"`` / ``"500"``) in ``data`` and
``message`` (plain text) in ``metadata``), and one *Sensor* service ``state`` whose output is a
JSON structure of the entity's state, its curated attributes and ``time`` (ISO 8601, UTC).
Numeric sensors report on a second Sensor service ``reading`` with the platform's
Generic-Reading ``{value: decimal, unit: string, time: string}`` (as the preloaded Landis+Gyr,
Dyson and BleBox types do).

The JSON definitions in ``docs/sepl/device-types/`` are rendered from this table
(``python -m custom_components.switchboard.export.sepl.catalogue docs/sepl/device-types``;
a test checks they are current) for the user to import on the platform. Every id is a
deterministic ``iot#<uuid5>``, so importing them twice yields the same types.
"""

from dataclasses import dataclass
import json
from pathlib import Path
import sys
from typing import Any, Final, Literal
import uuid

type BaseKind = Literal["string", "integer", "decimal", "boolean", "list"]

XSD: Final = "http://www.w3.org/2001/XMLSchema#"
REPO: Final = "http://www.sepl.wifa.uni-leipzig.de/ontlogies/device-repo#"
BASE_TYPES: Final[dict[str, str]] = {
    "string": f"{XSD}string",
    "integer": f"{XSD}integer",
    "decimal": f"{XSD}decimal",
    "boolean": f"{XSD}boolean",
    "list": f"{REPO}list",
    "structure": f"{REPO}structure",
}
FORMAT_JSON: Final = f"{REPO}json"
FORMAT_PLAIN_TEXT: Final = f"{REPO}PlainText"
ACTUATOR: Final = f"{REPO}Actuator"
SENSOR: Final = f"{REPO}Sensor"

STANDARD_CONNECTOR: Final[dict[str, Any]] = {
    "id": "iot#d6a462c5-d4e0-4396-b3f3-28cd37b647a8",
    "protocol_handler_url": "connector",
    "name": "standard-connector",
    "description": "Generic protocol for transporting data and metadata.",
    "msg_structure": [
        {"id": "iot#37ff5298-a7dd-4744-9080-7cfdbda5dc72", "name": "metadata", "constraints": None},
        {"id": "iot#88cd5b0e-a451-4070-a20d-464ee23742dd", "name": "data", "constraints": None},
    ],
}
"""The protocol of every Python connector's device type (REPO ``tests/devicetype_test.go``)."""

SEGMENT_DATA: Final = "data"
SEGMENT_METADATA: Final = "metadata"
STATE_SERVICE: Final = "state"
READING_SERVICE: Final = "reading"
STATUS_OUTPUT: Final = "status"
MESSAGE_OUTPUT: Final = "message"

_NAMESPACE: Final = uuid.UUID("5b0c1f4e-7f47-4f3b-9a51-3e0f5c1d2a10")


def platform_id(*path: str) -> str:
    """A stable platform id ``iot#<uuid5>`` for a path of names (type, service, field...)."""
    return f"iot#{uuid.uuid5(_NAMESPACE, '/'.join(path))}"


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a structure: ``name``, its base kind, and for ``list`` the item kind.

    ``required``, ``minimum`` / ``maximum`` (numbers, or each list item) and ``length`` (lists)
    are the action argument's limits (the export core validates them; JSON Schema renders them).
    """

    name: str
    kind: BaseKind
    item: BaseKind | None = None
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    length: int | None = None


@dataclass(frozen=True, slots=True)
class ActionDef:
    """An Actuator service: the Home Assistant action ``name`` with its input fields."""

    name: str
    fields: tuple[Field, ...] = ()


@dataclass(frozen=True, slots=True)
class TypeDef:
    """The device type of one Home Assistant domain."""

    domain: str
    name: str
    actions: tuple[ActionDef, ...]
    state: tuple[Field, ...]
    """Fields of the ``state`` output besides ``time`` (``state`` first)."""
    reading: bool = False
    """Whether the type has the Generic-Reading service ``reading`` (numeric sensors)."""

    @property
    def id(self) -> str:
        """The type's platform id (the default of the options' domain -> type table)."""
        return platform_id("switchboard", "type", self.domain)

    def action(self, name: str) -> ActionDef | None:
        """The Actuator service called ``name``, or ``None``."""
        return next((action for action in self.actions if action.name == name), None)


_STATE = Field("state", "string")
_TURN = (ActionDef("turn_on"), ActionDef("turn_off"), ActionDef("toggle"))

DEVICE_TYPES: Final[dict[str, TypeDef]] = {
    definition.domain: definition
    for definition in (
        TypeDef("switch", "Home Assistant switch", _TURN, (_STATE,)),
        TypeDef(
            "light",
            "Home Assistant light",
            (
                ActionDef(
                    "turn_on",
                    (
                        Field("brightness_pct", "integer", minimum=0, maximum=100),
                        Field("color_temp_kelvin", "integer", minimum=1000, maximum=40000),
                        Field("hs_color", "list", "decimal", minimum=0, maximum=360, length=2),
                        Field("rgb_color", "list", "integer", minimum=0, maximum=255, length=3),
                        Field("transition", "decimal", minimum=0, maximum=6553),
                    ),
                ),
                ActionDef("turn_off", (Field("transition", "decimal", minimum=0, maximum=6553),)),
                ActionDef("toggle"),
            ),
            (
                _STATE,
                Field("brightness", "integer"),
                Field("color_mode", "string"),
                Field("color_temp_kelvin", "integer"),
            ),
        ),
        TypeDef(
            "climate",
            "Home Assistant climate",
            (
                ActionDef(
                    "set_temperature",
                    (
                        Field("temperature", "decimal"),
                        Field("target_temp_low", "decimal"),
                        Field("target_temp_high", "decimal"),
                        Field("hvac_mode", "string"),
                    ),
                ),
                ActionDef("set_hvac_mode", (Field("hvac_mode", "string", required=True),)),
                ActionDef("set_fan_mode", (Field("fan_mode", "string", required=True),)),
                ActionDef("set_preset_mode", (Field("preset_mode", "string", required=True),)),
                ActionDef("turn_on"),
                ActionDef("turn_off"),
            ),
            (
                _STATE,
                Field("current_temperature", "decimal"),
                Field("temperature", "decimal"),
                Field("hvac_action", "string"),
                Field("fan_mode", "string"),
                Field("preset_mode", "string"),
            ),
        ),
        TypeDef(
            "humidifier",
            "Home Assistant humidifier",
            (
                *_TURN,
                ActionDef(
                    "set_humidity",
                    (Field("humidity", "integer", required=True, minimum=0, maximum=100),),
                ),
                ActionDef("set_mode", (Field("mode", "string", required=True),)),
            ),
            (
                _STATE,
                Field("humidity", "integer"),
                Field("current_humidity", "integer"),
                Field("mode", "string"),
                Field("action", "string"),
            ),
        ),
        TypeDef(
            "number",
            "Home Assistant number",
            (ActionDef("set_value", (Field("value", "decimal", required=True),)),),
            (Field("value", "decimal"), Field("unit", "string")),
        ),
        TypeDef(
            "select",
            "Home Assistant select",
            (ActionDef("select_option", (Field("option", "string", required=True),)),),
            (_STATE,),
        ),
        TypeDef("button", "Home Assistant button", (ActionDef("press"),), (_STATE,)),
        TypeDef(
            "cover",
            "Home Assistant cover",
            (
                ActionDef("open_cover"),
                ActionDef("close_cover"),
                ActionDef("stop_cover"),
                ActionDef(
                    "set_cover_position",
                    (Field("position", "integer", required=True, minimum=0, maximum=100),),
                ),
            ),
            (_STATE, Field("current_position", "integer")),
        ),
        TypeDef(
            "fan",
            "Home Assistant fan",
            (
                ActionDef(
                    "turn_on",
                    (
                        Field("percentage", "integer", minimum=0, maximum=100),
                        Field("preset_mode", "string"),
                    ),
                ),
                ActionDef("turn_off"),
                ActionDef("toggle"),
                ActionDef(
                    "set_percentage",
                    (Field("percentage", "integer", required=True, minimum=0, maximum=100),),
                ),
                ActionDef("set_preset_mode", (Field("preset_mode", "string", required=True),)),
            ),
            (_STATE, Field("percentage", "integer"), Field("preset_mode", "string")),
        ),
        TypeDef("sensor", "Home Assistant sensor", (), (_STATE,), reading=True),
        TypeDef("binary_sensor", "Home Assistant binary sensor", (), (_STATE,)),
    )
}
"""Home Assistant domain -> its device type."""

GENERIC_READING: Final = (
    Field("time", "string"),
    Field("value", "decimal"),
    Field("unit", "string"),
)


def _value_type(
    path: tuple[str, ...], name: str, kind: str, item: str | None = None
) -> dict[str, Any]:
    fields: list[dict[str, Any]] | None = None
    if kind == "list":
        item_kind = item or "string"
        fields = [
            {
                "id": platform_id(*path, "item"),
                "name": "*",
                "type": _value_type((*path, "item"), f"{name}_item", item_kind),
            }
        ]
    return {
        "id": platform_id(*path, "type"),
        "name": name,
        "description": name,
        "base_type": BASE_TYPES[kind],
        "fields": fields,
        "literal": "",
    }


def _structure(path: tuple[str, ...], name: str, fields: tuple[Field, ...]) -> dict[str, Any]:
    value_type = _value_type(path, name, "structure")
    value_type["fields"] = [
        {
            "id": platform_id(*path, field.name),
            "name": field.name,
            "type": _value_type((*path, field.name), field.name, field.kind, field.item),
        }
        for field in fields
    ]
    return value_type


def _assignment(
    path: tuple[str, ...], name: str, segment: str, value_type: dict[str, Any], fmt: str
) -> dict[str, Any]:
    segments = {part["name"]: part for part in STANDARD_CONNECTOR["msg_structure"]}
    return {
        "id": platform_id(*path, "assignment", name),
        "name": name,
        "msg_segment": {"id": segments[segment]["id"], "name": segment},
        "type": value_type,
        "format": fmt,
        "additional_formatinfo": [],
    }


def _service(
    type_def: TypeDef,
    url: str,
    service_type: str,
    inputs: list[dict[str, Any]],
    outputs: list[dict[str, Any]],
    description: str,
) -> dict[str, Any]:
    return {
        "id": platform_id("switchboard", "service", type_def.domain, url),
        "service_type": service_type,
        "name": url,
        "description": description,
        "protocol": STANDARD_CONNECTOR,
        "input": inputs,
        "output": outputs,
        "url": url,
    }


def render_device_type(type_def: TypeDef) -> dict[str, Any]:
    """The platform's ``DeviceType`` JSON of ``type_def`` (REPO ``lib/model/model.go``)."""
    domain = type_def.domain
    services: list[dict[str, Any]] = []
    for action in type_def.actions:
        path = ("switchboard", "service", domain, action.name)
        inputs = (
            [
                _assignment(
                    path,
                    "fields",
                    SEGMENT_DATA,
                    _structure((*path, "input"), f"{domain}_{action.name}", action.fields),
                    FORMAT_JSON,
                )
            ]
            if action.fields
            else []
        )
        outputs = [
            _assignment(
                path,
                STATUS_OUTPUT,
                SEGMENT_DATA,
                _value_type((*path, STATUS_OUTPUT), "status", "integer"),
                FORMAT_JSON,
            ),
            _assignment(
                path,
                MESSAGE_OUTPUT,
                SEGMENT_METADATA,
                _value_type((*path, MESSAGE_OUTPUT), "message", "string"),
                FORMAT_PLAIN_TEXT,
            ),
        ]
        services.append(
            _service(
                type_def,
                action.name,
                ACTUATOR,
                inputs,
                outputs,
                f"Home Assistant action {domain}.{action.name}",
            )
        )
    state_path = ("switchboard", "service", domain, STATE_SERVICE)
    services.append(
        _service(
            type_def,
            STATE_SERVICE,
            SENSOR,
            [],
            [
                _assignment(
                    state_path,
                    STATE_SERVICE,
                    SEGMENT_DATA,
                    _structure(
                        (*state_path, "output"),
                        f"{domain}_state",
                        (*type_def.state, Field("time", "string")),
                    ),
                    FORMAT_JSON,
                )
            ],
            "State and attributes, sent on every change",
        )
    )
    if type_def.reading:
        reading_path = ("switchboard", "service", domain, READING_SERVICE)
        services.append(
            _service(
                type_def,
                READING_SERVICE,
                SENSOR,
                [],
                [
                    _assignment(
                        reading_path,
                        READING_SERVICE,
                        SEGMENT_DATA,
                        _structure((*reading_path, "output"), "Generic-Reading", GENERIC_READING),
                        FORMAT_JSON,
                    )
                ],
                "Numeric reading {value, unit, time}, sent on every change",
            )
        )
    return {
        "id": type_def.id,
        "name": type_def.name,
        "description": f"A Home Assistant {domain} entity exported by Switchboard",
        "device_class": {"id": platform_id("switchboard", "class", domain), "name": domain},
        "vendor": {"id": platform_id("switchboard", "vendor"), "name": "Home Assistant"},
        "services": services,
        "config_parameter": [],
    }


def write_definitions(folder: Path) -> list[Path]:
    """Write one ``<domain>.json`` per device type into ``folder``; return the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for domain, type_def in DEVICE_TYPES.items():
        path = folder / f"{domain}.json"
        path.write_text(json.dumps(render_device_type(type_def), indent=2) + "\n")
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write_definitions(Path(sys.argv[1] if len(sys.argv) > 1 else ".")):
        print(written)
