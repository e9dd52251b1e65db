"""The export core: what exporters expose, what they may run, and what came of it.

Two exporters stand on it: the MQTT bridge (``export/mqtt/``) exports Switchboard *devices*
(their attribute snapshots and availability, :func:`device_snapshot`) and runs the actions
each family allow-lists for a device (``ActionSpec``, validated by their probatio schema) through
:class:`DeviceCommandRunner`; the SEPL platform connector (``export/sepl/``) exports Home
Assistant *entities* and runs allow-listed Home Assistant actions through
:class:`EntityCommandRunner`. Both runners validate, execute and return one
:class:`ExportOutcome` (ok, or an error code with a message); neither raises.

Exporters never call Home Assistant actions directly: the SEPL connector hands
``(entity_id, action, args)`` to :class:`EntityCommandRunner`, which

1. checks that the entity is exposed (the exporter's own filter) and exists,
2. checks that ``action`` is in the allow-list of the entity's domain
   (:data:`~.sepl.catalogue.DEVICE_TYPES`: switch on/off/toggle, light on/off with brightness and
   colour, climate temperature / HVAC mode / fan mode / preset, humidifier, number, select,
   button, cover, fan),
3. validates ``args`` against the action's argument schema (:func:`args_schema`; the same
   schema is documented as JSON Schema by :func:`json_schema`),
4. runs ``<domain>.<action>`` on the entity (blocking, with a fresh context) and
5. returns one :class:`ExportOutcome`: ``ok``, or an error ``code`` with a translated message.

Nothing outside the allow-list runs, whatever the exporter receives.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
import logging
from typing import Any, Final

from homeassistant.const import ATTR_ENTITY_ID, STATE_UNAVAILABLE
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.translation import async_get_exception_message
import probatio

from ..const import DOMAIN
from ..family import FamilyRuntime
from ..model import ActionSpec, DeviceState
from .sepl.catalogue import DEVICE_TYPES, ActionDef, Field

_LOGGER = logging.getLogger(__name__)

ERROR_BAD_INPUT: Final = frozenset(
    {
        "unknown_entity",
        "unknown_device",
        "action_not_allowed",
        "unknown_action",
        "invalid_action_args",
        "invalid_command",
        "invalid_json",
    }
)
"""Codes of errors where nothing was executed because the input was wrong (status 400)."""

STATUS_OK: Final = 200
STATUS_BAD_INPUT: Final = 400
STATUS_FAILED: Final = 500


@dataclass(frozen=True, slots=True)
class ExportOutcome:
    """The outcome of one exported command: ``code`` is ``None`` when it succeeded.

    Entity commands: ``unknown_entity``, ``action_not_allowed``, ``invalid_action_args``,
    ``invalid_command`` (bad input: nothing ran, status 400), ``entity_unavailable`` and
    ``action_failed`` (status 500); ``message`` is the translated text (English). Device
    commands: ``unknown_device``, or the translation key of the coordinator's error
    (``unknown_action``, ``invalid_action_args``, ``device_unavailable``, ``command_failed``,
    ``command_rejected``, ...) with its message.
    """

    code: str | None = None
    message: str = ""
    state: Mapping[str, Any] | None = None
    """After a device command: the device's :func:`device_snapshot`."""

    @property
    def ok(self) -> bool:
        """Whether the action ran."""
        return self.code is None

    @property
    def status(self) -> int:
        """HTTP-like status: 200 ok, 400 bad input, 500 the action failed."""
        if self.code is None:
            return STATUS_OK
        return STATUS_BAD_INPUT if self.code in ERROR_BAD_INPUT else STATUS_FAILED


def error(code: str, **placeholders: str) -> ExportOutcome:
    """An error outcome with the translated message of ``exceptions.export_<code>``."""
    return ExportOutcome(
        code, async_get_exception_message(DOMAIN, f"export_{code}", placeholders or None)
    )


def _number(field: Field, kind: str) -> Any:
    caster: Any = int if kind == "integer" else float
    validators: list[Any] = [probatio.Coerce(caster)]
    if field.minimum is not None or field.maximum is not None:
        validators.append(probatio.Range(min=field.minimum, max=field.maximum))
    return probatio.All(*validators)


def _validator(field: Field) -> Any:
    if field.kind in {"integer", "decimal"}:
        return _number(field, field.kind)
    if field.kind == "boolean":
        return probatio.Boolean()
    if field.kind == "list":
        item = (
            _number(field, field.item)
            if field.item in {"integer", "decimal"}
            else probatio.Coerce(str)
        )
        validators: list[Any] = [[item]]
        if field.length is not None:
            validators.append(probatio.Length(min=field.length, max=field.length))
        return probatio.All(*validators)
    return probatio.All(str, probatio.Length(min=1, max=255))


def args_schema(action: ActionDef) -> Callable[[Any], dict[str, Any]]:
    """The probatio schema of an action's arguments (unknown keys are refused)."""
    schema: Callable[[Any], dict[str, Any]] = probatio.Schema(
        {
            (probatio.Required if field.required else probatio.Optional)(field.name): _validator(
                field
            )
            for field in action.fields
        },
        extra=probatio.PREVENT_EXTRA,
    )
    return schema


_JSON_TYPES: Final = {
    "string": "string",
    "integer": "integer",
    "decimal": "number",
    "boolean": "boolean",
    "list": "array",
}


def _json_field(field: Field) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": _JSON_TYPES[field.kind]}
    target = schema
    if field.kind == "list":
        target = schema["items"] = {"type": _JSON_TYPES[field.item or "string"]}
        if field.length is not None:
            schema["minItems"] = schema["maxItems"] = field.length
    if field.minimum is not None:
        target["minimum"] = field.minimum
    if field.maximum is not None:
        target["maximum"] = field.maximum
    return schema


def json_schema(domain: str, action: ActionDef) -> dict[str, Any]:
    """JSON Schema (2020-12) of the arguments of ``<domain>.<action>``, for documentation."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"{domain}.{action.name}",
        "type": "object",
        "properties": {field.name: _json_field(field) for field in action.fields},
        "required": [field.name for field in action.fields if field.required],
        "additionalProperties": False,
    }


def action_schemas() -> dict[str, dict[str, Any]]:
    """``"<domain>.<action>"`` -> JSON Schema of its arguments, for every allow-listed action.

    Written to ``docs/sepl/actions.json`` (a test checks that the file is current).
    """
    return {
        f"{domain}.{action.name}": json_schema(domain, action)
        for domain, type_def in DEVICE_TYPES.items()
        for action in type_def.actions
    }


_PYTHON_TYPES: Final[dict[Any, str]] = {
    int: "integer",
    float: "number",
    str: "string",
    bool: "boolean",
}
_NAMED_VALIDATORS: Final[dict[str, dict[str, Any]]] = {
    "string": {"type": "string"},
    "boolean": {"type": "boolean"},
    "positive_int": {"type": "integer", "minimum": 0},
    "positive_float": {"type": "number", "minimum": 0},
    "finite_float": {"type": "number"},
    "strict_int": {"type": "integer"},
    "finite_scalar": {"type": ["boolean", "integer", "number", "string"]},
    "Strip": {},
}


def validator_json_schema(validator: Any) -> dict[str, Any]:
    """JSON Schema of one probatio validator, as far as it can be told (for documentation).

    Understood: nested schemas, ``All`` (merged), ``Any`` (``anyOf``), ``In`` (``enum``),
    ``Range``, ``Length``, ``Coerce``, Python types, lists, constants and the common named
    validators; anything else becomes ``{"description": <its name>}``.
    """
    if isinstance(validator, probatio.Schema):
        validator = validator.schema
    if isinstance(validator, dict):
        properties: dict[str, Any] = {}
        required: list[str] = []
        additional: dict[str, Any] | bool = False
        for key, value in validator.items():
            name = getattr(key, "schema", key)
            if not isinstance(name, str):  # a validator as key: any key it accepts
                additional = validator_json_schema(value)
                continue
            properties[name] = validator_json_schema(value)
            if isinstance(key, probatio.Required):
                required.append(name)
        return {
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": additional,
        }
    if isinstance(validator, list):
        items = [validator_json_schema(item) for item in validator]
        return {"type": "array", "items": items[0] if len(items) == 1 else {"anyOf": items}}
    if isinstance(validator, type) and validator in _PYTHON_TYPES:
        return {"type": _PYTHON_TYPES[validator]}
    kind = type(validator).__name__
    if kind == "All":
        merged: dict[str, Any] = {}
        for item in validator.validators:
            merged.update(validator_json_schema(item))
        if merged.get("type") == "object":  # a Length on a mapping counts its keys
            for length, count in (("minLength", "minProperties"), ("maxLength", "maxProperties")):
                if length in merged:
                    merged[count] = merged.pop(length)
        return merged
    if kind == "Any":
        return {"anyOf": [validator_json_schema(item) for item in validator.validators]}
    if kind == "In":
        return {"enum": list(validator.container)}
    if kind == "Coerce":
        return {"type": _PYTHON_TYPES.get(validator.type, "string")}
    if kind == "Range":
        bounds: dict[str, Any] = {}
        if validator.min is not None:
            bounds["minimum" if validator.min_included else "exclusiveMinimum"] = validator.min
        if validator.max is not None:
            bounds["maximum" if validator.max_included else "exclusiveMaximum"] = validator.max
        return bounds
    if kind == "Length":
        return {
            key: value
            for key, value in (("minLength", validator.min), ("maxLength", validator.max))
            if value is not None
        }
    if isinstance(validator, (str, int, float, bool)):
        return {"const": validator}
    name = str(getattr(validator, "__name__", kind))
    return dict(_NAMED_VALIDATORS.get(name, {"description": name}))


def action_spec_json_schema(spec: ActionSpec) -> dict[str, Any]:
    """JSON Schema of a device action's arguments (an ``ActionSpec``), titled and described."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": spec.name,
        "description": spec.description,
        **validator_json_schema(spec.schema),
    }


def allowed_actions(domain: str) -> dict[str, ActionDef]:
    """The allow-list of ``domain``: action name -> definition (empty for read-only domains)."""
    type_def = DEVICE_TYPES.get(domain)
    return {action.name: action for action in type_def.actions} if type_def else {}


class EntityCommandRunner:
    """Validates and runs allow-listed actions on exposed entities; one outcome per command."""

    def __init__(self, hass: HomeAssistant, is_exposed: Callable[[str], bool]) -> None:
        """``is_exposed(entity_id)`` is the exporter's filter."""
        self.hass = hass
        self._is_exposed = is_exposed

    async def async_run(
        self, entity_id: str, action: str, args: Mapping[str, Any] | None
    ) -> ExportOutcome:
        """Validate and run ``action`` with ``args`` on ``entity_id``; never raises."""
        state = self.hass.states.get(entity_id)
        if state is None or not self._is_exposed(entity_id):
            return error("unknown_entity", entity=entity_id)
        domain = state.domain
        allowed = allowed_actions(domain)
        definition = allowed.get(action)
        if definition is None:
            return error(
                "action_not_allowed",
                entity=entity_id,
                action=action,
                actions=", ".join(allowed) or "-",
            )
        try:
            data = args_schema(definition)(dict(args or {}))
        except probatio.Invalid as err:
            return error("invalid_action_args", action=action, error=str(err))
        if state.state == STATE_UNAVAILABLE:
            return error("entity_unavailable", entity=entity_id)
        try:
            await self.hass.services.async_call(
                domain,
                action,
                {**data, ATTR_ENTITY_ID: entity_id},
                blocking=True,
                context=Context(),
            )
        except (ServiceValidationError, probatio.Invalid) as err:
            return error("invalid_action_args", action=action, error=str(err) or repr(err))
        except HomeAssistantError as err:
            return error("action_failed", entity=entity_id, error=str(err) or repr(err))
        return ExportOutcome()


def device_snapshot(state: DeviceState) -> dict[str, Any]:
    """What an exporter shows of a device: ``{"available": bool, "attributes": {key: value}}``."""
    return {
        "available": state.available,
        "attributes": {key: attribute.value for key, attribute in state.attributes.items()},
    }


class DeviceCommandRunner:
    """Runs the actions a family allow-lists for its devices.

    ``async_run`` finds the device's coordinator and calls ``coordinator.async_execute``, which
    refuses actions outside ``coordinator.actions(device_id)``, validates the arguments with
    their probatio schema and runs commands to one device one at a time, in arrival order (the
    coordinator is the one place that serialises them); any error becomes an
    :class:`ExportOutcome`.
    """

    def __init__(self, runtime: FamilyRuntime) -> None:
        """Run commands on the devices of ``runtime`` (one config entry)."""
        self.runtime = runtime

    async def async_run(
        self, device_id: str, action: str, args: Mapping[str, Any]
    ) -> ExportOutcome:
        """Run ``action`` with ``args`` on ``device_id``; the outcome carries the new state."""
        coordinator = self.runtime.coordinator_for_device(device_id)
        if coordinator is None:
            return ExportOutcome(
                "unknown_device", f"the device {device_id} is not known (any more)"
            )
        try:
            state = await coordinator.async_execute(device_id, action, args)
        except HomeAssistantError as err:
            return ExportOutcome(
                err.translation_key or "command_failed", str(err) or type(err).__name__
            )
        except Exception as err:
            # A bug below must still give the command its one outcome.
            _LOGGER.exception("%s on %s failed unexpectedly", action, device_id)
            return ExportOutcome("command_failed", f"the command failed ({type(err).__name__})")
        return ExportOutcome(state=device_snapshot(state))
