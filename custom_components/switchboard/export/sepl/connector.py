"""The SEPL platform connector: Home Assistant entities as devices of one platform gateway.

One :class:`SeplConnector` per connector config entry (``entry.runtime_data``). What it does,
in the platform's terms (``docs/protocols/sepl.md``; user documentation in ``docs/sepl.md``):

* **Exposure**: one platform device per exposed Home Assistant entity, chosen with the entry's
  entity filter (:class:`ExposureFilter`; default: every Switchboard entity) among entities of
  the domains in :data:`~.catalogue.DEVICE_TYPES` that have an entity registry entry and are
  enabled. The device's uri is ``HA_<instance id>_<entity registry id>`` (stable across
  entity-id renames), its name the entity's name, its type the options' device type of the
  domain, its tags ``ha_device``, ``area``, ``domain``, ``device_class``, ``manufacturer``,
  ``model`` (only those with a value, ``:`` and ``;`` removed).
* **Synchronisation** by the client library's hash rules (``client.py``): registry changes
  (entity added, renamed, removed, area or device changed) are gathered for
  ``REGISTRY_DEBOUNCE`` s and become ``put`` / ``delete`` + one ``commit``; an entity that stays
  unavailable for ``AVAILABILITY_DEBOUNCE`` s is a ``disconnect``, its return a ``put``.
* **Commands**: each platform service of a device is one allow-listed action of the entity's
  domain, run by the export core (:class:`~..core.EntityCommandRunner`); the reply echoes the
  command with status ``200`` / ``400`` / ``500`` and the translated error text in
  ``metadata``. A repeated task id runs once (the client answers it from the first run).
* **Events**: when the state or a curated attribute (the type's ``state`` output fields)
  actually changed, one event on the entity's ``state`` service; numeric sensors send the
  platform's generic reading ``{value, unit, time}`` on ``reading``. Values are coerced to the
  field types and ``None`` / non-finite values are left out, so the platform never refuses an
  event. While disconnected only the latest state per entity is kept (the client sends it after
  the next synchronisation).
* **Health**: a repair issue per device the platform refuses (duplicate uri, unknown type),
  one while the platform's ``wss://`` certificate is refused (gone once connected),
  reauthentication when the platform keeps refusing the credentials, the gateway id stored in
  the entry, counters for the diagnostic sensor and diagnostics. When the platform answers the
  handshake with another gateway id than the stored one (the gateway was deleted or given to
  another user: the platform at the address is no longer the gateway's), the exposed entities
  are synchronised to the new gateway as the client library does, and the repair issue
  ``sepl_gateway_replaced`` names both ids: the old gateway may still hold the devices, which
  makes the platform ignore the new gateway's commits (``docs/protocols/sepl.md`` §4). It goes
  once a later connection finds the platform kept the new gateway's commit.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
import json
import logging
import math
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import (
    ATTR_DEVICE_CLASS,
    ATTR_UNIT_OF_MEASUREMENT,
    CONF_PASSWORD,
    CONF_URL,
    CONF_USERNAME,
    CONF_VERIFY_SSL,
    EVENT_STATE_CHANGED,
    STATE_UNAVAILABLE,
)
from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    HomeAssistant,
    State,
    callback,
)
from homeassistant.helpers import (
    area_registry as ar,
    device_registry as dr,
    entity_registry as er,
    instance_id,
)
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_call_later

from ...const import DOMAIN
from ...repairs import (
    ISSUE_SEPL_CERTIFICATE,
    ISSUE_SEPL_GATEWAY_REPLACED,
    async_delete_issue,
    async_raise_sepl_certificate_issue,
    async_raise_sepl_device_rejected_issue,
    async_raise_sepl_gateway_replaced_issue,
    sepl_device_rejected_kind,
)
from ..core import EntityCommandRunner, ExportOutcome, error
from .catalogue import DEVICE_TYPES, READING_SERVICE, STATE_SERVICE, Field, TypeDef
from .client import (
    CommandResult,
    ConnectionState,
    SeplClient,
    SeplCommand,
    SeplDevice,
    clean_tag_part,
)
from .const import (
    AVAILABILITY_DEBOUNCE,
    CONF_DEVICE_TYPES,
    CONF_EXCLUDE_DOMAINS,
    CONF_EXCLUDE_ENTITIES,
    CONF_GATEWAY_ID,
    CONF_INCLUDE_DOMAINS,
    CONF_INCLUDE_ENTITIES,
    REGISTRY_DEBOUNCE,
    is_connector_entry,
)

_LOGGER = logging.getLogger(__name__)

SIGNAL_UPDATED = f"{DOMAIN}_sepl_updated_{{}}"
"""Dispatcher signal (formatted with the entry id) sent when the connection state changes."""


@dataclass(frozen=True, slots=True)
class ExposureFilter:
    """Which entities are exposed.

    An entity is exposed when it is *included* and not *excluded*:

    * included: with no include rule, every entity of the Switchboard integration; otherwise an
      entity whose domain is in ``include_domains`` or whose id is in ``include_entities`` (any
      integration);
    * excluded: its id is in ``exclude_entities``, or its domain in ``exclude_domains`` (unless
      its id is included by name).

    Only entities of the domains the connector has device types for, with an entity registry
    entry (for a stable uri) and not disabled, are candidates at all.
    """

    include_domains: frozenset[str] = frozenset()
    include_entities: frozenset[str] = frozenset()
    exclude_domains: frozenset[str] = frozenset()
    exclude_entities: frozenset[str] = frozenset()

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> ExposureFilter:
        """Read the filter from the entry's options."""
        return cls(
            *(
                frozenset(options.get(key) or ())
                for key in (
                    CONF_INCLUDE_DOMAINS,
                    CONF_INCLUDE_ENTITIES,
                    CONF_EXCLUDE_DOMAINS,
                    CONF_EXCLUDE_ENTITIES,
                )
            )
        )

    def __call__(self, entry: er.RegistryEntry) -> bool:
        """Whether the registry entry is exposed."""
        if entry.domain not in DEVICE_TYPES or entry.disabled_by is not None:
            return False
        entity_id = entry.entity_id
        if self.include_domains or self.include_entities:
            included = entry.domain in self.include_domains or entity_id in self.include_entities
        else:
            included = entry.platform == DOMAIN
        excluded = entity_id in self.exclude_entities or (
            entry.domain in self.exclude_domains and entity_id not in self.include_entities
        )
        return included and not excluded


def _coerce(spec: Field, value: Any) -> Any:
    """``value`` in the field's type, or ``None`` when it cannot be sent."""
    if value is None or (isinstance(value, bool) and spec.kind != "boolean"):
        return None
    if spec.kind in {"integer", "decimal"}:
        try:
            number = float(value)
        except TypeError, ValueError:
            return None
        if not math.isfinite(number):
            return None
        return int(number) if spec.kind == "integer" else number
    if spec.kind == "boolean":
        return value if isinstance(value, bool) else None
    if spec.kind == "string":
        return str(value)
    return None


def numeric_reading(state: State) -> float | None:
    """The value of a numeric sensor (unit or state class, finite number), else ``None``."""
    if not (
        state.attributes.get(ATTR_UNIT_OF_MEASUREMENT) is not None
        or state.attributes.get("state_class") is not None
    ):
        return None
    try:
        number = float(state.state)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def event_payload(type_def: TypeDef, state: State) -> tuple[str, dict[str, Any]]:
    """``(service url, value without time)`` of the event for ``state``.

    Numeric sensors: ``reading`` ``{value, unit}``; everything else: ``state`` with the type's
    state fields (``state`` = the entity state, ``value`` = the state as a number, ``unit`` =
    the unit of measurement, others = attributes of that name), each coerced, ``None`` left out.
    """
    if type_def.reading and (number := numeric_reading(state)) is not None:
        unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)
        return READING_SERVICE, {"value": number, "unit": str(unit or "")}
    value: dict[str, Any] = {}
    for spec in type_def.state:
        if spec.name in {"state", "value"}:
            raw: Any = state.state
        elif spec.name == "unit":
            raw = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)
        else:
            raw = state.attributes.get(spec.name)
        if (coerced := _coerce(spec, raw)) is not None:
            value[spec.name] = coerced
    return STATE_SERVICE, value


def _time(moment: datetime) -> str:
    return moment.isoformat()


@dataclass
class _Exposed:
    """One exposed entity."""

    entity_id: str
    domain: str
    device: SeplDevice
    registry_id: str
    available: bool = False
    """What the platform was last told (put = True, disconnect = False)."""
    last_event: tuple[str, dict[str, Any]] | None = None
    timer: CALLBACK_TYPE | None = None


@dataclass
class ConnectorStats:
    """Counters of the Home Assistant side (the client has its own)."""

    commands_ok: int = 0
    commands_refused: int = 0
    commands_failed: int = 0
    events_queued: int = 0
    events_unchanged: int = 0
    last_command_error: str | None = None
    rejected: dict[str, str] = field(default_factory=dict)
    """entity id -> the platform's reason."""


class SeplConnector:
    """The connector of one config entry: exposure, synchronisation, commands and events."""

    key = "sepl_connector"

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        """Prepare; :meth:`async_start` connects."""
        self.hass = hass
        self.entry = entry
        self.filter = ExposureFilter.from_options(entry.options)
        self.type_ids: dict[str, str] = {
            domain: str(
                (entry.options.get(CONF_DEVICE_TYPES) or {}).get(domain) or type_def.id
            ).strip()
            for domain, type_def in DEVICE_TYPES.items()
        }
        self.stats = ConnectorStats()
        self.runner = EntityCommandRunner(hass, self.is_exposed)
        self.client: SeplClient | None = None
        self._instance = ""
        self._by_entity: dict[str, _Exposed] = {}
        self._by_uri: dict[str, _Exposed] = {}
        self._unsubscribe: list[CALLBACK_TYPE] = []
        self._refresh_timer: CALLBACK_TYPE | None = None

    # -- life cycle --------------------------------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        """The client's connection state."""
        return self.client.state if self.client is not None else ConnectionState.STOPPED

    async def async_start(self) -> None:
        """Expose the entities and start the connection (in the background)."""
        data = self.entry.data
        self._instance = (await instance_id.async_get(self.hass)).replace("-", "")
        verify = bool(data.get(CONF_VERIFY_SSL, True))
        self.client = SeplClient(
            async_get_clientsession(self.hass, verify_ssl=verify),
            data[CONF_URL],
            data[CONF_USERNAME],
            data[CONF_PASSWORD],
            gateway_id=data.get(CONF_GATEWAY_ID, ""),
            ssl_context=verify,
            on_command=self._async_on_command,
            on_gateway_id=self._store_gateway_id,
            on_state=self._on_state,
            on_auth_failed=self._on_auth_failed,
            on_rejected=self._on_rejected,
            on_certificate_refused=self._on_certificate_refused,
        )
        self._refresh()
        bus = self.hass.bus
        self._unsubscribe = [
            bus.async_listen(
                EVENT_STATE_CHANGED, self._on_state_changed, event_filter=self._wants_state
            ),
            bus.async_listen(er.EVENT_ENTITY_REGISTRY_UPDATED, self._schedule_refresh),
            bus.async_listen(dr.EVENT_DEVICE_REGISTRY_UPDATED, self._schedule_refresh),
            bus.async_listen(ar.EVENT_AREA_REGISTRY_UPDATED, self._schedule_refresh),
        ]
        await self.client.async_start()

    async def async_stop(self) -> None:
        """Stop listening and close the connection."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        if self._refresh_timer is not None:
            self._refresh_timer()
            self._refresh_timer = None
        for exposed in self._by_entity.values():
            if exposed.timer is not None:
                exposed.timer()
                exposed.timer = None
        if self.client is not None:
            await self.client.async_stop()
        async_delete_issue(self.hass, ISSUE_SEPL_CERTIFICATE, self.entry)
        async_delete_issue(self.hass, ISSUE_SEPL_GATEWAY_REPLACED, self.entry)

    # -- exposure ----------------------------------------------------------------------------

    def is_exposed(self, entity_id: str) -> bool:
        """Whether ``entity_id`` is exposed (the export core's filter)."""
        return entity_id in self._by_entity

    def uri(self, registry_id: str) -> str:
        """The platform uri of the entity with that registry id."""
        return f"HA_{self._instance}_{registry_id}"

    def exposed(self) -> dict[str, str]:
        """Exposed entity id -> uri."""
        return {entity_id: item.device.uri for entity_id, item in self._by_entity.items()}

    def _describe(self, entry: er.RegistryEntry) -> SeplDevice:
        state = self.hass.states.get(entry.entity_id)
        device = dr.async_get(self.hass).async_get(entry.device_id) if entry.device_id else None
        area_id = entry.area_id or (device.area_id if device else None)
        area = ar.async_get(self.hass).async_get_area(area_id) if area_id else None
        name = (
            (state.name if state is not None else None)
            or entry.name
            or entry.original_name
            or entry.entity_id
        )
        device_class = (
            entry.device_class
            or entry.original_device_class
            or (state.attributes.get(ATTR_DEVICE_CLASS) if state is not None else None)
        )
        tags = [
            ("ha_device", (device.name_by_user or device.name) if device else None),
            ("area", area.name if area else None),
            ("domain", entry.domain),
            ("device_class", device_class),
            ("manufacturer", getattr(device, "manufacturer", None)),
            ("model", getattr(device, "model", None)),
        ]
        return SeplDevice(
            self.uri(entry.id),
            self.type_ids[entry.domain],
            str(name),
            tuple(
                (key, clean_tag_part(str(value)))
                for key, value in tags
                if value and clean_tag_part(str(value))
            ),
        )

    @callback
    def _schedule_refresh(self, _event: Event[Any] | None = None) -> None:
        if self._refresh_timer is None:
            self._refresh_timer = async_call_later(
                self.hass, REGISTRY_DEBOUNCE, self._refresh_later
            )

    @callback
    def _refresh_later(self, _now: datetime) -> None:
        self._refresh_timer = None
        self._refresh()

    @callback
    def _refresh(self) -> None:
        """Bring the exposed set and every device description up to date."""
        assert self.client is not None
        registry = er.async_get(self.hass)
        connector_entries = {
            entry.entry_id
            for entry in self.hass.config_entries.async_entries(DOMAIN)
            if is_connector_entry(entry.data)
        }
        wanted = {
            entry.id: entry
            for entry in registry.entities.values()
            if self.filter(entry) and entry.config_entry_id not in connector_entries
        }
        for registry_id in [rid for rid in self._by_uri_ids() if rid not in wanted]:
            exposed = self._by_uri.pop(self.uri(registry_id))
            self._by_entity.pop(exposed.entity_id, None)
            if exposed.timer is not None:
                exposed.timer()
            self._forget_issue(exposed)
            self.client.async_delete(exposed.device.uri)
        for registry_id, entry in wanted.items():
            device = self._describe(entry)
            exposed_item = self._by_uri.get(device.uri)
            if exposed_item is None:
                exposed_item = _Exposed(entry.entity_id, entry.domain, device, registry_id)
                self._by_uri[device.uri] = exposed_item
            elif exposed_item.entity_id != entry.entity_id:  # renamed entity id: same uri
                self._by_entity.pop(exposed_item.entity_id, None)
                exposed_item.entity_id = entry.entity_id
            self._by_entity[entry.entity_id] = exposed_item
            changed = exposed_item.device != device
            exposed_item.device = device
            state = self.hass.states.get(entry.entity_id)
            if _available(state):
                if not exposed_item.available or changed:
                    exposed_item.available = True
                    self.client.async_put(device)
                assert state is not None
                self._send_state(exposed_item, state, force=changed)
            elif exposed_item.available:
                self._debounce(exposed_item)

    def _by_uri_ids(self) -> list[str]:
        return [item.registry_id for item in self._by_uri.values()]

    # -- state -------------------------------------------------------------------------------

    @callback
    def _wants_state(self, data: EventStateChangedData) -> bool:
        return data["entity_id"] in self._by_entity

    @callback
    def _on_state_changed(self, event: Event[EventStateChangedData]) -> None:
        exposed = self._by_entity.get(event.data["entity_id"])
        new_state = event.data["new_state"]
        if exposed is None or new_state is None:
            return
        available = _available(new_state)
        if available != exposed.available:
            if not available or exposed.last_event is not None:
                self._debounce(exposed)
                return
            # first appearance (e.g. after Home Assistant started): no debounce
            self._apply_availability(exposed)
            return
        if exposed.timer is not None:  # back to what the platform knows: nothing to tell
            exposed.timer()
            exposed.timer = None
        if not available:
            return
        old_state = event.data["old_state"]
        if old_state is not None and old_state.name != new_state.name:
            self._schedule_refresh()
        self._send_state(exposed, new_state)

    def _debounce(self, exposed: _Exposed) -> None:
        if exposed.timer is not None:
            exposed.timer()

        @callback
        def fire(_now: datetime) -> None:
            exposed.timer = None
            self._apply_availability(exposed)

        exposed.timer = async_call_later(self.hass, AVAILABILITY_DEBOUNCE, fire)

    def _apply_availability(self, exposed: _Exposed) -> None:
        assert self.client is not None
        state = self.hass.states.get(exposed.entity_id)
        if _available(state):
            assert state is not None
            exposed.available = True
            self.client.async_put(exposed.device)
            self._send_state(exposed, state, force=True)
        elif exposed.available:
            exposed.available = False
            self.client.async_disconnect(exposed.device.uri)

    def _send_state(self, exposed: _Exposed, state: State, *, force: bool = False) -> None:
        assert self.client is not None
        service, value = event_payload(DEVICE_TYPES[exposed.domain], state)
        if not force and exposed.last_event == (service, value):
            self.stats.events_unchanged += 1
            return
        exposed.last_event = (service, value)
        self.stats.events_queued += 1
        self.client.send_event(
            exposed.device.uri,
            service,
            json.dumps({**value, "time": _time(state.last_updated)}),
        )

    # -- commands ----------------------------------------------------------------------------

    async def _async_on_command(self, command: SeplCommand) -> CommandResult:
        exposed = self._by_uri.get(command.device_uri)
        if exposed is None:
            outcome = error("unknown_entity", entity=command.device_uri)
        else:
            outcome = await self._async_run(exposed.entity_id, command)
        if outcome.ok:
            self.stats.commands_ok += 1
        else:
            if outcome.status == 400:
                self.stats.commands_refused += 1
            else:
                self.stats.commands_failed += 1
            self.stats.last_command_error = f"{outcome.code}: {outcome.message}"
            _LOGGER.warning(
                "SEPL command %s for %s not run: %s",
                command.service_url,
                command.device_uri,
                outcome.message,
            )
        return CommandResult(outcome.status, outcome.message)

    async def _async_run(self, entity_id: str, command: SeplCommand) -> ExportOutcome:
        data = command.parts.get("data")
        args: Any = {}
        if isinstance(data, str) and data.strip():
            try:
                args = json.loads(data)
            except ValueError as err:
                return error("invalid_command", error=str(err))
        if not isinstance(args, dict):
            return error("invalid_command", error="the data part is not a JSON object")
        return await self.runner.async_run(entity_id, command.service_url, args)

    # -- client callbacks ----------------------------------------------------------------------

    @callback
    def _store_gateway_id(self, gateway_id: str) -> None:
        old = str(self.entry.data.get(CONF_GATEWAY_ID) or "")
        if old and old != gateway_id:
            _LOGGER.warning(
                "SEPL platform %s gave the gateway %s instead of %s",
                self.entry.data[CONF_URL],
                gateway_id,
                old,
            )
            async_raise_sepl_gateway_replaced_issue(
                self.hass, self.entry, str(self.entry.data[CONF_URL]), old, gateway_id
            )
        self.hass.config_entries.async_update_entry(
            self.entry, data={**self.entry.data, CONF_GATEWAY_ID: gateway_id}
        )

    @callback
    def _on_state(self, state: ConnectionState) -> None:
        if state is ConnectionState.READY:
            async_delete_issue(self.hass, ISSUE_SEPL_CERTIFICATE, self.entry)
            if self.client is not None and self.client.hash_matched:
                async_delete_issue(self.hass, ISSUE_SEPL_GATEWAY_REPLACED, self.entry)
        async_dispatcher_send(self.hass, SIGNAL_UPDATED.format(self.entry.entry_id))

    @callback
    def _on_certificate_refused(self, reason: str) -> None:
        """``wss://``: the certificate was refused; it will not fix itself, so say so."""
        async_raise_sepl_certificate_issue(
            self.hass, self.entry, str(self.entry.data[CONF_URL]), reason
        )

    @callback
    def _on_auth_failed(self) -> None:
        self.entry.async_start_reauth(self.hass)

    @callback
    def _on_rejected(self, uri: str, text: str) -> None:
        exposed = self._by_uri.get(uri)
        if exposed is None:
            return
        if not text:
            self._forget_issue(exposed)
            return
        self.stats.rejected[exposed.entity_id] = text
        async_raise_sepl_device_rejected_issue(
            self.hass, self.entry, exposed.registry_id, exposed.entity_id, uri, text
        )

    def _forget_issue(self, exposed: _Exposed) -> None:
        if self.stats.rejected.pop(exposed.entity_id, None) is not None:
            async_delete_issue(
                self.hass, sepl_device_rejected_kind(exposed.registry_id), self.entry
            )

    # -- diagnostics -------------------------------------------------------------------------

    def counters(self) -> dict[str, Any]:
        """Counters shown by the diagnostic sensor."""
        client = self.client.stats if self.client is not None else None
        return {
            "devices_exposed": len(self._by_entity),
            "devices_synced": client.devices_synced if client else 0,
            "commands": client.commands if client else 0,
            "commands_ok": self.stats.commands_ok,
            "commands_refused": self.stats.commands_refused,
            "commands_failed": self.stats.commands_failed,
            "events_sent": client.events_sent if client else 0,
            "errors": (client.error_replies + client.timeouts) if client else 0,
            "devices_rejected": len(self.stats.rejected),
        }

    def diagnostics(self) -> dict[str, Any]:
        """State, counters, exposed entities and the client's statistics (no credentials)."""
        client = self.client
        return {
            "state": self.state.value,
            "gateway_id": client.gateway_id if client else None,
            "platform_hash": client.platform_hash if client else None,
            "local_hash": client.local_hash() if client else None,
            "counters": self.counters(),
            "client": {
                key: value
                for key, value in (vars(client.stats).items() if client else ())
                if key != "rejected"
            },
            "rejected": dict(self.stats.rejected),
            "device_types": self.type_ids,
            "exposed": {
                entity_id: {
                    "uri": item.device.uri,
                    "type": item.device.iot_type,
                    "tags": dict(item.device.tags),
                    "available": item.available,
                }
                for entity_id, item in sorted(self._by_entity.items())
            },
        }


def _available(state: State | None) -> bool:
    return state is not None and state.state != STATE_UNAVAILABLE


type SeplConfigEntry = ConfigEntry[SeplConnector]
"""A SEPL platform connector entry; ``runtime_data`` is its :class:`SeplConnector`."""
