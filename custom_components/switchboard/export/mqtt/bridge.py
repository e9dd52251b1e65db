"""MQTT bridge: every Switchboard device on the user's broker, and commands back in.

One :class:`MqttBridge` per Switchboard config entry (in ``entry.runtime_data.exporters``). It goes
through Home Assistant's own ``mqtt`` integration (the user's broker settings, TLS and
credentials are reused; nothing here opens a connection of its own), reads only the common
model (each coordinator's ``dict[device_id, DeviceState]``) and executes only through
``coordinator.async_execute``, i.e. through the allow-list each family declares. The full
contract is in ``docs/bridge.md``; in short:

Topics (``<base>`` is the entry's base topic, default ``switchboard``; ``<area>`` the slug of the
device's area in the device registry or ``unassigned``; ``<device>`` the slug of the device's
name, suffixed with ``_<public id>`` when two Switchboard devices would share it; the public id
is :func:`public_id` of the device id, which may carry personal data)::

    <base>/<area>/<device>/<attribute>        retained, QoS 0: str as plain text, else JSON
    <base>/<area>/<device>/availability       retained, QoS 0: online | offline
    <base>/<area>/<device>/command            {"action": str, "args": {...}, "id": str|int}
    <base>/<area>/<device>/command/result     QoS 1, not retained: the outcome, same "id"
    <discovery prefix>/device/switchboard_<public id>/config   (optional, retained, QoS 0)

Publishing: only changed payloads are queued (per topic, coalesced: a topic changing twice
before the worker handed the first value over sends only the latest) and drained by one worker
task per entry. Retained state (attributes, availability, discovery configs) goes out at QoS 0:
it is idempotent and republished in full on every reconnect, so QoS 1's redelivery adds nothing,
while its acknowledgements would hold paho's 20 in-flight slots (a start-up burst of thousands
of attributes then waited past the mqtt client's 10 s acknowledgement timeout). Command results
are QoS 1. Every bridge of the instance shares one window (:class:`PublishWindow`) of messages
handed to Home Assistant's mqtt client and not yet written (QoS 0) or acknowledged (QoS 1), so
however many entries bridge at once, the client never holds more than ``PUBLISH_WINDOW`` of
them; bridges waiting for room take turns. The client sends messages in the order they were
handed over, and a topic always has the same QoS, which keeps each topic's order. Everything
is queued again when the mqtt client (re)connects
and whenever Home Assistant's birth message (``homeassistant/status`` ``online`` by default;
taken from the mqtt entry's options) is seen, which also answers another Home Assistant
adopting the devices through discovery. While disconnected nothing is sent; the reconnect
republish brings the broker up to date.

Commands are never lost silently: each received command yields exactly one result. Results
that cannot be sent (connection down) wait in an outbox that is flushed on reconnect; a client
that did not see its result may resend the same ``id``: the bridge answers from a cache of the
last 256 results per entry instead of executing again (a command still running is not started
twice). Commands to one device run one after another, in arrival order.

Safety: only actions of ``coordinator.actions(device_id)`` run, with arguments validated by
their probatio schema; the envelope is validated too (unknown keys rejected). Bad JSON, an
invalid envelope, an unknown action, bad arguments, an unavailable device or a failed command
produce an error result with a reason and one log line, and nothing else.
"""

import asyncio
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
import hashlib
import itertools
import json
import logging
import time
from typing import Any, Final

from homeassistant.components import mqtt
from homeassistant.components.mqtt.const import MQTT_PROCESSED_SUBSCRIPTIONS
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.data_entry_flow import section
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import area_registry as ar, device_registry as dr
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.selector import (
    BooleanSelector,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    TextSelector,
)
from homeassistant.util import slugify
from homeassistant.util.hass_dict import HassKey
import probatio

from ...const import DOMAIN
from ...coordinator import SwitchboardCoordinator
from ...family import FamilyRuntime
from ...model import Attribute, AttributeValue, DeviceState
from ..core import DeviceCommandRunner

_LOGGER = logging.getLogger(__name__)

DATA_BRIDGES: HassKey[dict[str, MqttBridge]] = HassKey(f"{DOMAIN}_bridges")
"""Running bridges of the integration by config entry id."""
DATA_PUBLISH_WINDOW: HassKey[PublishWindow] = HassKey(f"{DOMAIN}_bridge_publish_window")
"""The publish window all bridges of the instance share."""

CONF_BRIDGE: Final = "mqtt_bridge"
"""Options key of the bridge's section: ``{enabled, base_topic, discovery, exclude_devices}``."""
CONF_BRIDGE_ENABLED: Final = "enabled"
CONF_BASE_TOPIC: Final = "base_topic"
CONF_DISCOVERY: Final = "discovery"
CONF_EXCLUDE_DEVICES: Final = "exclude_devices"

DEFAULT_BASE_TOPIC: Final = "switchboard"
UNASSIGNED: Final = "unassigned"
AVAILABILITY: Final = "availability"
COMMAND: Final = "command"
RESERVED_LEVELS: Final = frozenset({AVAILABILITY, COMMAND})
"""Topic levels the bridge uses itself; an attribute of that name gets a ``_value`` suffix."""
ONLINE: Final = "online"
OFFLINE: Final = "offline"
QOS: Final = 1
"""QoS of the command subscription and of command results; discovery configs give it to their
consumers (their subscriptions to the state topics, their commands)."""
STATE_QOS: Final = 0
"""QoS of retained state (attributes, availability, discovery configs): see the module docstring."""
PUBLISH_WINDOW: Final = 100
"""Messages handed to Home Assistant's mqtt client and not yet written or acknowledged, at most,
for all bridges of the instance together (:class:`PublishWindow`).

Enough that the client's socket never runs dry between two turns of the event loop; small
enough that a start-up burst (every attribute of every entry) is handed over in slices the loop
interleaves with everything else, and that no message waits anywhere near the client's 10 s
acknowledgement timeout.
"""
HANDOVER_SLICE: Final = 200
"""Publishes the worker hands over before it lets the event loop run once."""
RECENT_RESULTS: Final = 256
"""Command results remembered per entry, to answer a resent ``id`` without executing again."""
REFUSALS: Final = frozenset(
    {
        "invalid_json",
        "invalid_command",
        "unknown_device",
        "unknown_action",
        "invalid_action_args",
        "device_unavailable",
    }
)
"""Error codes of commands refused before they reached the device: not cached by ``id``."""
MAX_ID_LENGTH: Final = 128
"""Longest string ``id`` of a command (it is echoed in the result and cached)."""
MAX_ID_MAGNITUDE: Final = 2**63
"""An integer ``id`` must lie strictly between minus and plus this."""
MAX_NESTING: Final = 32
"""Deepest nesting of objects and arrays a command may have (``args`` included)."""
STOP_TIMEOUT: Final = 5.0
"""Seconds ``async_stop`` waits for the offline messages to leave."""
SUBSCRIBE_TIMEOUT: Final = 5.0
"""Seconds ``async_start`` waits for the command subscription before the first publish."""
DEFAULT_DISCOVERY_PREFIX: Final = "homeassistant"
DEFAULT_BIRTH_TOPIC: Final = "homeassistant/status"
DEFAULT_BIRTH_PAYLOAD: Final = "online"

type CommandId = str | int | None
type Outcome = dict[str, Any]
"""A command outcome, as published on ``.../command/result`` and returned by the service.

``{"id": CommandId, "status": "ok", "action": str, "device": device_id,
"state": {"available": bool, "attributes": {key: value}}}`` or ``{"id": CommandId,
"status": "error", "action": str | None, "device": device_id | None, "error": code,
"reason": English text}``; ``code`` is one of ``invalid_json``, ``invalid_command``,
``unknown_device``, ``unknown_action``, ``invalid_action_args``, ``device_unavailable`` or the
family's failure key (``command_failed``, ``command_rejected``, ...).
"""


def valid_base_topic(value: Any) -> str:
    """Validate a base topic: ``a/b`` levels, no wildcards, no empty level; slashes trimmed.

    Raises ``probatio.Invalid``.
    """
    topic = str(mqtt.valid_publish_topic(str(value).strip().strip("/")))
    if not topic or any(not level for level in topic.split("/")):
        raise probatio.Invalid("the base topic must not have empty levels")
    return topic


def valid_command_id(value: Any) -> CommandId:
    """A command ``id``: ``None``, a str of at most ``MAX_ID_LENGTH`` characters or an int.

    Booleans and floats are refused, and so are integers of 2**63 or more in magnitude.
    Raises ``probatio.Invalid``.
    """
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) > MAX_ID_LENGTH:
            raise probatio.Invalid(f"the id is longer than {MAX_ID_LENGTH} characters")
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        if abs(value) >= MAX_ID_MAGNITUDE:
            raise probatio.Invalid("the id is not a 64-bit integer")
        return value
    raise probatio.Invalid("the id must be a string or an integer")


COMMAND_SCHEMA: Final = probatio.Schema(
    {
        probatio.Required("action"): probatio.All(str, probatio.Length(min=1, max=64)),
        probatio.Optional("args", default={}): probatio.Any(None, dict),
        probatio.Optional("id"): valid_command_id,
    }
)
"""The command envelope: ``{"action": str, "args": {...}, "id": str | int}``; nothing else."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BridgeSettings:
    """The bridge's settings, from ``entry.options[CONF_BRIDGE]``.

    ``enabled``: start with the entry; ``base_topic``: first topic level(s); ``discovery``:
    publish Home Assistant MQTT discovery configs; ``exclude_devices``: device ids not bridged.
    """

    enabled: bool = False
    base_topic: str = DEFAULT_BASE_TOPIC
    discovery: bool = False
    exclude_devices: frozenset[str] = frozenset()

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> BridgeSettings:
        """Read the settings; a missing or invalid value falls back to its default."""
        values: Mapping[str, Any] = options.get(CONF_BRIDGE) or {}
        try:
            base = valid_base_topic(values.get(CONF_BASE_TOPIC, DEFAULT_BASE_TOPIC))
        except probatio.Invalid:
            base = DEFAULT_BASE_TOPIC
        return cls(
            enabled=bool(values.get(CONF_BRIDGE_ENABLED, False)),
            base_topic=base,
            discovery=bool(values.get(CONF_DISCOVERY, False)),
            exclude_devices=frozenset(values.get(CONF_EXCLUDE_DEVICES) or ()),
        )


def options_section(entry: ConfigEntry) -> dict[probatio.Marker, Any]:
    """The bridge's collapsed section of the shared options flow (key ``mqtt_bridge``)."""
    current = BridgeSettings.from_options(entry.options)
    data = getattr(entry, "runtime_data", None)
    devices = data.runtime.devices() if data is not None else {}
    choices = [
        SelectOptionDict(value=device_id, label=state.descriptor.name)
        for device_id, (_, state) in sorted(devices.items())
    ] + [
        SelectOptionDict(value=device_id, label=device_id)
        for device_id in sorted(current.exclude_devices - devices.keys())
    ]
    fields: dict[probatio.Marker, Any] = {
        probatio.Required(CONF_BRIDGE_ENABLED, default=current.enabled): BooleanSelector(),
        probatio.Required(CONF_BASE_TOPIC, default=current.base_topic): TextSelector(),
        probatio.Required(CONF_DISCOVERY, default=current.discovery): BooleanSelector(),
    }
    if choices:
        fields[probatio.Optional(CONF_EXCLUDE_DEVICES, default=sorted(current.exclude_devices))] = (
            SelectSelector(SelectSelectorConfig(options=choices, multiple=True))
        )
    return {probatio.Optional(CONF_BRIDGE): section(probatio.Schema(fields), {"collapsed": True})}


def validate_options(user_input: dict[str, Any], current: Mapping[str, Any]) -> dict[str, str]:
    """Normalise the bridge section of submitted options in place; return form errors.

    A submission without the section (an API client) keeps the ``current`` bridge options.
    """
    values = user_input.get(CONF_BRIDGE)
    if values is None:
        if CONF_BRIDGE in current:
            user_input[CONF_BRIDGE] = dict(current[CONF_BRIDGE])
        return {}
    try:
        values[CONF_BASE_TOPIC] = valid_base_topic(values.get(CONF_BASE_TOPIC, ""))
    except probatio.Invalid:
        return {CONF_BRIDGE: "invalid_base_topic"}
    return {}


def public_id(device_id: str) -> str:
    """A stable, non-identifying stand-in for a device id in topics (12 hex digits).

    Device ids may carry personal data (the Meross account device's id holds the account's
    user id), and topics are seen by every client of the broker.
    """
    return hashlib.sha256(device_id.encode(errors="replace")).hexdigest()[:12]


def topic_level(key: str) -> str:
    """One topic level for an attribute key: ``/ + #`` become ``_``; reserved names get ``_value``.

    ``availability`` and ``command`` are the bridge's own levels.
    """
    level = key.replace("/", "_").replace("+", "_").replace("#", "_") or "_"
    return f"{level}_value" if level in RESERVED_LEVELS else level


def _value_kind(value: AttributeValue) -> int:
    """What a discovery component depends on in a value: 0 bool, 1 JSON container, 2 other."""
    if isinstance(value, bool):
        return 0
    return 1 if isinstance(value, (dict, list)) else 2


def encode_value(value: AttributeValue) -> str:
    """A payload for an attribute value: a non-empty str as is, everything else as JSON.

    ``""`` is sent as ``""`` (JSON) because an empty retained payload deletes the topic.
    """
    if isinstance(value, str) and value:
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class DeviceTopics:
    """Where one device lives: ``<base>/<area>/<slug>``."""

    base: str
    area: str
    slug: str

    @property
    def root(self) -> str:
        """``<base>/<area>/<slug>``."""
        return f"{self.base}/{self.area}/{self.slug}"

    @property
    def availability(self) -> str:
        """``<root>/availability``."""
        return f"{self.root}/{AVAILABILITY}"

    @property
    def command(self) -> str:
        """``<root>/command``."""
        return f"{self.root}/{COMMAND}"

    def attribute(self, key: str) -> str:
        """``<root>/<attribute level>``."""
        return f"{self.root}/{topic_level(key)}"


@dataclass(slots=True)
class _Outgoing:
    topic: str
    payload: str
    retain: bool
    result: bool = False


class PublishWindow:
    """Messages handed to Home Assistant's mqtt client and not yet done, for all bridges.

    A message is done when the client wrote it (QoS 0) or the broker acknowledged it (QoS 1),
    or when its publish failed. ``size`` messages may be pending at once (``PUBLISH_WINDOW``);
    a bridge that finds no room waits in line and is woken, in turn, when a slot frees.
    """

    def __init__(self, size: int = PUBLISH_WINDOW) -> None:
        """An empty window of ``size`` slots."""
        self.size = size
        self.pending = 0
        self._waiting: dict[MqttBridge, None] = {}
        """Bridges waiting for room, in arrival order (a dict as an ordered set)."""

    @property
    def has_room(self) -> bool:
        """Whether one more message may be handed over now."""
        return self.pending < self.size

    def take(self) -> None:
        """One message was handed over."""
        self.pending += 1

    def release(self) -> None:
        """One message is done: wake the bridge that has waited longest."""
        self.pending -= 1
        if self._waiting:
            bridge = next(iter(self._waiting))
            del self._waiting[bridge]
            bridge.async_wake()

    def wait(self, bridge: MqttBridge) -> None:
        """``bridge`` has messages and found no room: wake it when a slot frees."""
        self._waiting.setdefault(bridge, None)

    def leave(self, bridge: MqttBridge) -> None:
        """``bridge`` stopped: it no longer waits."""
        self._waiting.pop(bridge, None)


@dataclass(slots=True, kw_only=True)
class BridgeStats:
    """Counters for diagnostics: messages published, commands ok/rejected, republishes."""

    published: int = 0
    failed_publishes: int = 0
    commands_ok: int = 0
    commands_rejected: int = 0
    duplicates_answered: int = 0
    republishes: int = 0
    last_republish: float | None = None
    """``time.time()`` of the last full republish."""


class CommandError(Exception):
    """A command was refused before or while running; ``code`` names why (see ``Outcome``)."""

    def __init__(self, code: str, reason: str) -> None:
        """Store the error code and the English reason."""
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _loads(payload: str | bytes) -> Any:
    """Decode JSON; raise :class:`CommandError` ``invalid_json`` (deep nesting included)."""
    try:
        return json.loads(payload)
    except (UnicodeDecodeError, ValueError) as err:
        raise CommandError("invalid_json", f"the payload is not JSON: {err}") from err
    except RecursionError as err:
        raise CommandError("invalid_json", "the payload is nested too deeply") from err


def check_content(data: Any) -> None:
    """Refuse nesting deeper than ``MAX_NESTING`` and text that is not valid Unicode.

    A lone surrogate (U+D800 to U+DFFF, escaped in JSON) cannot be encoded as UTF-8: it could be
    neither echoed in a result nor sent to a device. Raises :class:`CommandError`
    ``invalid_command``.
    """
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            try:
                value.encode()
            except UnicodeEncodeError as err:
                raise CommandError(
                    "invalid_command", "the command contains text that is not valid Unicode"
                ) from err
        elif isinstance(value, (Mapping, list, tuple)):
            if depth >= MAX_NESTING:
                raise CommandError(
                    "invalid_command", f"the command is nested deeper than {MAX_NESTING} levels"
                )
            items = (
                [item for pair in value.items() for item in pair]
                if isinstance(value, Mapping)
                else value
            )
            stack.extend((item, depth + 1) for item in items)


def parse_command(payload: str | bytes | Mapping[str, Any]) -> tuple[dict[str, Any], CommandId]:
    """Parse and validate a command envelope; return ``(command, id)``.

    ``payload`` is the MQTT payload (UTF-8 JSON) or an already decoded mapping (the service).
    Raises :class:`CommandError` ``invalid_json`` / ``invalid_command`` (also for nesting
    deeper than ``MAX_NESTING``, text that is not valid Unicode and an ``id`` that is not a
    short string or a 64-bit integer).
    """
    data: Any = dict(payload) if isinstance(payload, Mapping) else _loads(payload)
    if not isinstance(data, dict):
        raise CommandError("invalid_command", "the payload must be a JSON object")
    check_content(data)
    try:
        command: dict[str, Any] = COMMAND_SCHEMA(data)
    except probatio.Invalid as err:
        raise CommandError("invalid_command", f"invalid command: {err}") from err
    command["args"] = command.get("args") or {}
    return command, command.get("id")


def _id_of(payload: Any) -> CommandId:
    """The ``id`` of a payload (also one that failed validation), when it has a valid one.

    An ``id`` that is too long, not UTF-8 encodable or not a 64-bit integer gives ``None``.
    """
    if isinstance(payload, (str, bytes)):
        try:
            payload = _loads(payload)
        except CommandError:
            return None
    if isinstance(payload, Mapping):
        try:
            value = valid_command_id(payload.get("id"))
            check_content(value)
        except probatio.Invalid, CommandError:
            return None
        return value
    return None


def error_outcome(
    command_id: CommandId, code: str, reason: str, *, action: str | None, device: str | None
) -> Outcome:
    """Build an error ``Outcome``."""
    return {
        "id": command_id,
        "status": "error",
        "action": action,
        "device": device,
        "error": code,
        "reason": reason,
    }


class MqttBridge:
    """The bridge of one config entry; see the module docstring for topics and semantics.

    Create it once per entry (one of ``entry.runtime_data.exporters``); :meth:`async_start`
    and :meth:`async_stop` may be called any number of times. All methods run in the event loop.
    """

    key = CONF_BRIDGE
    """Its options section and diagnostics key."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        runtime: FamilyRuntime,
        settings: BridgeSettings,
    ) -> None:
        """Prepare a stopped bridge of ``runtime``'s devices with ``settings``."""
        self.hass = hass
        self.entry = entry
        self.runtime = runtime
        self.settings = settings
        self.running = False
        self.connected = False
        self.stats = BridgeStats()
        self._unsubscribes: list[CALLBACK_TYPE] = []
        self._coordinator_unsubscribes: list[CALLBACK_TYPE] = []
        self._topics: dict[str, DeviceTopics] = {}
        """device id -> its topics (bridged devices only)."""
        self._command_topics: dict[str, str] = {}
        """command topic -> device id."""
        self._retained: dict[str, dict[str, str]] = {}
        """device id -> {topic: payload} of retained messages queued or sent for it."""
        self._last_state: dict[str, tuple[DeviceState, bool]] = {}
        self._discovery_cache: dict[str, tuple[object, tuple[str, str]]] = {}
        """device id -> (state, coordinator success) last queued, to skip unchanged devices."""
        self._coordinator_devices: dict[int, set[str]] = {}
        self._outbox: dict[str, _Outgoing] = {}
        """Messages to send, in order; state topics coalesce by topic, results never."""
        self._unsent_results: list[_Outgoing] = []
        self._result_sequence = itertools.count()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._worker: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        """Publishes handed to the mqtt client and not yet done (written or acknowledged)."""
        self._window: PublishWindow = hass.data.setdefault(DATA_PUBLISH_WINDOW, PublishWindow())
        self._runner = DeviceCommandRunner(runtime)
        self._recent: OrderedDict[tuple[str, str], Outcome | None] = OrderedDict()
        self._discovery_prefix = DEFAULT_DISCOVERY_PREFIX
        self._birth: tuple[str, str] | None = (DEFAULT_BIRTH_TOPIC, DEFAULT_BIRTH_PAYLOAD)

    @property
    def enabled(self) -> bool:
        """Whether the options ask for the bridge to run."""
        return self.settings.enabled

    # ---------------------------------------------------------------- start / stop

    async def async_start(self) -> None:
        """Start bridging: subscribe, listen to the coordinators, publish everything.

        Raises a translated ``HomeAssistantError`` (``mqtt_not_available``) when Home
        Assistant's mqtt integration is not set up; the bridge then stays stopped.
        """
        if self.running:
            return
        if not await mqtt.async_wait_for_mqtt_client(self.hass):
            raise HomeAssistantError(
                translation_domain=DOMAIN, translation_key="mqtt_not_available"
            )
        self._read_mqtt_settings()
        self.running = True
        self.connected = mqtt.is_connected(self.hass)
        self._worker = self.entry.async_create_background_task(
            self.hass, self._async_run_worker(), f"{DOMAIN} mqtt bridge {self.entry.title}"
        )
        base = self.settings.base_topic
        command_filter = self._command_filter
        subscribed, unsubscribe_done = self._watch_subscription()
        self._unsubscribes += [
            mqtt.async_subscribe_connection_status(self.hass, self._on_connection),
            await mqtt.async_subscribe(
                self.hass, command_filter, self._async_on_command, QOS, encoding=None
            ),
            self.hass.bus.async_listen(dr.EVENT_DEVICE_REGISTRY_UPDATED, self._on_registry_updated),
            self.hass.bus.async_listen(ar.EVENT_AREA_REGISTRY_UPDATED, self._on_registry_updated),
            self.hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, self._async_on_ha_stop),
        ]
        if self._birth is not None:
            self._unsubscribes.append(
                await mqtt.async_subscribe(self.hass, self._birth[0], self._on_birth, QOS)
            )
        if self.connected:
            # Publish once commands are accepted, so a client that sees the state can act on it.
            await self._async_wait_subscribed(subscribed)
        unsubscribe_done()
        self._bridges()[self.entry.entry_id] = self
        self._refresh_topics()
        self._clear_excluded()
        self._coordinator_unsubscribes.append(
            self.runtime.async_listen_coordinators(self._add_coordinator)
        )
        self.async_republish()
        _LOGGER.info(
            "MQTT bridge of %s started on %s/# (%d devices)",
            self.entry.title,
            base,
            len(self._topics),
        )

    @property
    def _command_filter(self) -> str:
        """``<base>/+/+/command``: the one subscription that receives commands."""
        return f"{self.settings.base_topic}/+/+/{COMMAND}"

    def _watch_subscription(self) -> tuple[asyncio.Future[None], CALLBACK_TYPE]:
        """Watch the command subscription: ``(acknowledged future, stop watching)``.

        The future is done once the broker acknowledged the subscription; call the second
        item in every case.
        """
        subscribed: asyncio.Future[None] = self.hass.loop.create_future()

        @callback
        def acknowledged() -> None:
            if not subscribed.done():
                subscribed.set_result(None)

        return subscribed, mqtt.async_on_subscribe_done(
            self.hass, self._command_filter, QOS, acknowledged
        )

    async def _async_wait_subscribed(self, subscribed: asyncio.Future[None]) -> None:
        """Wait at most ``SUBSCRIBE_TIMEOUT`` seconds for ``subscribed``."""
        try:
            async with asyncio.timeout(SUBSCRIBE_TIMEOUT):
                await subscribed
        except TimeoutError:
            _LOGGER.debug("MQTT bridge: no SUBACK for %s yet", self._command_filter)

    async def async_stop(self, *, offline: bool = True) -> None:
        """Stop bridging: mark every device ``offline`` (retained), then unsubscribe.

        Waits at most ``STOP_TIMEOUT`` seconds for the offline messages; results not sent
        by then are dropped (logged).
        """
        if not self.running:
            return
        for unsubscribe in self._coordinator_unsubscribes + self._unsubscribes:
            unsubscribe()
        self._coordinator_unsubscribes.clear()
        self._unsubscribes.clear()
        self._bridges().pop(self.entry.entry_id, None)
        if offline:
            for device_id, topics in self._topics.items():
                self._queue(device_id, topics.availability, OFFLINE)
        if self.connected and self._outbox:
            try:
                async with asyncio.timeout(STOP_TIMEOUT):
                    await self.async_wait_idle()
            except TimeoutError:
                _LOGGER.warning(
                    "MQTT bridge of %s stopped before its queue drained", self.entry.title
                )
        if self._unsent_results or any(m.result for m in self._outbox.values()):
            _LOGGER.warning(
                "MQTT bridge of %s stopped with unsent command results", self.entry.title
            )
        self.running = False
        self._window.leave(self)
        if self._worker is not None:
            self._worker.cancel()
            self._worker = None
        for task in self._in_flight:
            task.cancel()
        self._in_flight.clear()
        self._outbox.clear()
        self._unsent_results.clear()
        self._idle.set()
        self._topics.clear()
        self._command_topics.clear()
        self._retained.clear()
        self._last_state.clear()
        self._discovery_cache.clear()
        self._coordinator_devices.clear()
        _LOGGER.info("MQTT bridge of %s stopped", self.entry.title)

    def _bridges(self) -> dict[str, MqttBridge]:
        """Running bridges of the integration by entry id (to answer unknown devices once)."""
        return self.hass.data.setdefault(DATA_BRIDGES, {})

    def _read_mqtt_settings(self) -> None:
        """Take the discovery prefix and birth message from Home Assistant's mqtt entry."""
        entries = self.hass.config_entries.async_entries(mqtt.DOMAIN)
        conf: dict[str, Any] = {**entries[0].data, **entries[0].options} if entries else {}
        self._discovery_prefix = conf.get("discovery_prefix") or DEFAULT_DISCOVERY_PREFIX
        birth = conf.get("birth_message")
        if birth is None:
            self._birth = (DEFAULT_BIRTH_TOPIC, DEFAULT_BIRTH_PAYLOAD)
        elif birth.get("topic"):
            self._birth = (str(birth["topic"]), str(birth.get("payload", "")))
        else:
            self._birth = None

    # ---------------------------------------------------------------- publishing

    def async_republish(self) -> int:
        """Queue every retained message of every bridged device again; return how many.

        Used on start, on reconnect, on the birth message and by ``switchboard.bridge_publish``.
        """
        if not self.running:
            return 0
        count = 0
        for device_id, (coordinator, state) in self.runtime.devices().items():
            if device_id in self._topics:
                count += self._sync_device(device_id, coordinator, state, full=True)
        self.stats.republishes += 1
        self.stats.last_republish = time.time()
        return count

    async def async_wait_idle(self) -> None:
        """Wait until the outbox is empty and everything handed over is done.

        Done: written to the broker's connection (retained state, QoS 0) or acknowledged by
        the broker (command results, QoS 1).
        """
        while not self._idle.is_set():
            await self._idle.wait()

    @callback
    def _queue(self, device_id: str | None, topic: str, payload: str) -> None:
        """Queue a retained message; remember it as the device's retained state."""
        if device_id is not None:
            if payload:
                self._retained.setdefault(device_id, {})[topic] = payload
            else:
                self._retained.get(device_id, {}).pop(topic, None)
        self._outbox.pop(topic, None)
        self._outbox[topic] = _Outgoing(topic, payload, retain=True)
        self._wake_worker()

    @callback
    def _queue_result(self, topic: str, outcome: Outcome) -> None:
        """Queue a command result (not retained, never coalesced)."""
        payload = json.dumps(outcome, separators=(",", ":"), ensure_ascii=False, default=str)
        try:
            payload.encode()
        except UnicodeEncodeError:
            # Text that is not valid Unicode (a lone surrogate) is sent escaped.
            payload = json.dumps(outcome, separators=(",", ":"), default=str)
        self._outbox[f"\0result{next(self._result_sequence)}"] = _Outgoing(
            topic, payload, retain=False, result=True
        )
        self._wake_worker()
        self._hand_over(HANDOVER_SLICE)

    @callback
    def _wake_worker(self) -> None:
        if self._outbox:
            self._idle.clear()
        self._wake.set()

    @callback
    def async_wake(self) -> None:
        """The shared window has room again: let the worker hand messages over."""
        self._wake.set()

    async def _async_run_worker(self) -> None:
        """Hand over what :meth:`_hand_over` left, whenever the shared window has room."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._hand_over(HANDOVER_SLICE):  # noqa: ASYNC110 - yields between slices
                await asyncio.sleep(0)
            self._check_idle()

    @callback
    def _hand_over(self, limit: int) -> bool:
        """Hand up to ``limit`` queued messages to the mqtt client; whether more could go now.

        Each publish starts eagerly, so the client's ``publish`` runs at once, in outbox
        order (which keeps each topic's order on the wire); the shared window bounds how many
        are pending in the client. Without room, the bridge waits in the window's line.
        """
        loop = asyncio.get_running_loop()
        window = self._window
        for _ in range(limit):
            if not (self._outbox and self.connected):
                return False
            if not window.has_room:
                window.wait(self)
                return False
            message = self._outbox.pop(next(iter(self._outbox)))
            task = loop.create_task(self._async_publish(message), eager_start=True)
            if not task.done():
                window.take()
                self._in_flight.add(task)
                task.add_done_callback(self._published)
        if self._outbox and self.connected and not window.has_room:
            window.wait(self)
            return False
        return bool(self._outbox) and self.connected

    @callback
    def _published(self, task: asyncio.Task[None]) -> None:
        """A publish was written, acknowledged or failed: a slot of the window is free."""
        self._in_flight.discard(task)
        self._window.release()
        self._check_idle()

    @callback
    def _check_idle(self) -> None:
        if not self._outbox and not self._in_flight:
            self._idle.set()

    async def _async_publish(self, message: _Outgoing) -> None:
        """Publish one message; a result that fails waits for the next connection."""
        try:
            await mqtt.async_publish(
                self.hass,
                message.topic,
                message.payload,
                QOS if message.result else STATE_QOS,
                message.retain,
            )
        except HomeAssistantError as err:
            self.stats.failed_publishes += 1
            if message.result:
                self._unsent_results.append(message)
            _LOGGER.debug("MQTT bridge could not publish %s: %s", message.topic, err)
        except Exception:
            # Never let one message end the worker: everything else must still go out.
            self.stats.failed_publishes += 1
            _LOGGER.exception("MQTT bridge could not publish %s; dropped", message.topic)
        else:
            self.stats.published += 1

    @callback
    def _on_connection(self, connected: bool) -> None:
        """Republish everything and flush unsent results when the mqtt client connects."""
        self.connected = connected
        if not connected:
            _LOGGER.debug("MQTT bridge of %s: broker connection lost", self.entry.title)
            return
        for message in self._unsent_results:
            self._outbox[f"\0result{next(self._result_sequence)}"] = message
        self._unsent_results.clear()
        self._wake_worker()
        # Home Assistant's mqtt client resubscribes only after announcing the connection, so
        # wait for the acknowledgement of this very resubscription (async_on_subscribe_done
        # would answer at once: the subscription is still registered, just not acknowledged).
        subscribed: asyncio.Future[None] = self.hass.loop.create_future()
        command_filter = (self._command_filter, QOS)

        @callback
        def processed(subscriptions: list[tuple[str, int]]) -> None:
            if command_filter in subscriptions and not subscribed.done():
                subscribed.set_result(None)

        stop_watching = async_dispatcher_connect(self.hass, MQTT_PROCESSED_SUBSCRIPTIONS, processed)
        self.entry.async_create_background_task(
            self.hass, self._async_resume(subscribed, stop_watching), f"{DOMAIN} bridge resume"
        )

    async def _async_resume(
        self, subscribed: asyncio.Future[None], stop_watching: CALLBACK_TYPE
    ) -> None:
        """After a reconnect: republish once the command subscription is acknowledged.

        Devices shown ``online`` before that could be sent a command the broker does not
        deliver to Home Assistant.
        """
        try:
            await self._async_wait_subscribed(subscribed)
        finally:
            stop_watching()
        if self.running and self.connected:
            _LOGGER.debug("MQTT bridge of %s: resubscribed, republishing", self.entry.title)
            self.async_republish()

    @callback
    def _on_birth(self, message: mqtt.ReceiveMessage) -> None:
        """Republish everything when the birth message (Home Assistant is online) appears."""
        if self._birth is not None and message.payload == self._birth[1]:
            _LOGGER.debug("MQTT bridge of %s: birth message, republishing", self.entry.title)
            self.async_republish()

    async def _async_on_ha_stop(self, _event: Event) -> None:
        """Best effort: mark devices offline before Home Assistant's mqtt client goes."""
        if self.running and self.connected:
            for device_id, topics in self._topics.items():
                self._queue(device_id, topics.availability, OFFLINE)

    # ---------------------------------------------------------------- devices and topics

    @callback
    def _add_coordinator(self, coordinator: SwitchboardCoordinator) -> None:
        """Listen to one coordinator (called for existing and later-added coordinators)."""

        @callback
        def updated() -> None:
            self._coordinator_updated(coordinator)

        self._coordinator_unsubscribes.append(coordinator.async_add_listener(updated))
        if any(device_id not in self._topics for device_id in coordinator.data or {}):
            self._refresh_topics()
        self._coordinator_updated(coordinator)

    @callback
    def _coordinator_updated(self, coordinator: SwitchboardCoordinator) -> None:
        """Queue what changed on one coordinator; clear devices that left it."""
        data = coordinator.data or {}
        previous = self._coordinator_devices.get(id(coordinator), set())
        current = set(data)
        self._coordinator_devices[id(coordinator)] = current
        if current - previous - self._topics.keys() - self.settings.exclude_devices:
            self._refresh_topics()
        for device_id in previous - current:
            if self.runtime.coordinator_for_device(device_id) is None:
                self._forget_device(device_id)
        for device_id, state in data.items():
            last = self._last_state.get(device_id)
            if device_id in self._topics and (
                last is None or last[0] is not state or last[1] != coordinator.last_update_success
            ):
                self._sync_device(device_id, coordinator, state, full=False)
        # Hand the changes over at once, before the entities write their states: the client
        # sends them while Home Assistant is busy with the rest (the worker does the remainder).
        self._hand_over(PUBLISH_WINDOW)

    def _sync_device(
        self,
        device_id: str,
        coordinator: SwitchboardCoordinator,
        state: DeviceState,
        *,
        full: bool,
    ) -> int:
        """Queue the device's changed (``full``: all) retained messages; return how many.

        When the device kept its attribute keys since the last sync, only the attributes
        whose :class:`Attribute` object changed are encoded (a push of one INDI vector of
        hundreds encodes one or two values), and the discovery config is rebuilt only when
        what it is made of (descriptor, structure, keys, value kinds, units) changed.
        """
        last = self._last_state.get(device_id)
        self._last_state[device_id] = (state, coordinator.last_update_success)
        topics = self._topics[device_id]
        attributes: Iterable[tuple[str, Attribute]] = state.attributes.items()
        incremental = (
            not full and last is not None and last[0].attributes.keys() == state.attributes.keys()
        )
        if incremental and last is not None:
            before = last[0].attributes
            attributes = [(key, value) for key, value in attributes if before.get(key) is not value]
        wanted = {
            topics.attribute(key): encode_value(attribute.value) for key, attribute in attributes
        }
        available = state.available and coordinator.last_update_success
        wanted[topics.availability] = ONLINE if available else OFFLINE
        if self.settings.discovery:
            topic, payload = self._cached_discovery(device_id, topics, coordinator, state)
            wanted = {topic: payload, **wanted}
        sent = self._retained.get(device_id, {})
        count = 0
        for topic in [] if incremental else [topic for topic in sent if topic not in wanted]:
            self._queue(device_id, topic, "")
            count += 1
        for topic, payload in wanted.items():
            if full or sent.get(topic) != payload:
                self._queue(device_id, topic, payload)
                count += 1
        return count

    def _forget_device(self, device_id: str) -> None:
        """A device left its coordinator: delete its retained messages and discovery config."""
        for topic in list(self._retained.get(device_id, {})):
            self._queue(device_id, topic, "")
        self._retained.pop(device_id, None)
        self._last_state.pop(device_id, None)
        self._discovery_cache.pop(device_id, None)
        if (topics := self._topics.pop(device_id, None)) is not None:
            self._command_topics.pop(topics.command, None)

    def _clear_excluded(self) -> None:
        """Delete retained messages an excluded device may have left from earlier runs."""
        for device_id, (_, state) in self.runtime.devices().items():
            if device_id not in self.settings.exclude_devices:
                continue
            names = self._names()
            area, slug = names.get(device_id, (UNASSIGNED, slugify(state.descriptor.name)))
            topics = DeviceTopics(self.settings.base_topic, area, slug)
            for key in [*(topics.attribute(k) for k in state.attributes), topics.availability]:
                self._queue(None, key, "")
            self._queue(None, self._discovery_topic(device_id), "")

    def _names(self) -> dict[str, tuple[str, str]]:
        """``device id -> (area slug, device slug)`` of every Switchboard device.

        From the device registry (area, ``name_by_user`` or name), else from the descriptor.
        Devices whose ``(area, slug)`` would clash are all suffixed with their id's slug, so
        the result does not depend on the order devices were added.
        """
        device_registry = dr.async_get(self.hass)
        area_registry = ar.async_get(self.hass)
        names: dict[str, tuple[str, str]] = {}
        devices = [
            device
            for entry in self.hass.config_entries.async_entries(DOMAIN)
            for device in dr.async_entries_for_config_entry(device_registry, entry.entry_id)
        ]
        for device in devices:
            for domain, device_id in device.identifiers:
                if domain != DOMAIN:
                    continue
                area = area_registry.async_get_area(device.area_id) if device.area_id else None
                names[device_id] = (
                    slugify(area.name) if area else UNASSIGNED,
                    slugify(device.name_by_user or device.name or device_id) or "device",
                )
        for bridge in self._bridges().values() if self.running else ():
            for device_id, (_, state) in bridge.runtime.devices().items():
                names.setdefault(device_id, (UNASSIGNED, slugify(state.descriptor.name)))
        for device_id, (_, state) in self.runtime.devices().items():
            names.setdefault(device_id, (UNASSIGNED, slugify(state.descriptor.name)))
        counts: dict[tuple[str, str], int] = {}
        for name in names.values():
            counts[name] = counts.get(name, 0) + 1
        return {
            device_id: (
                area,
                slug if counts[(area, slug)] == 1 else f"{slug}_{public_id(device_id)}",
            )
            for device_id, (area, slug) in names.items()
        }

    @callback
    def _refresh_topics(self) -> None:
        """Recompute every bridged device's topics; move the devices whose topics changed."""
        if not self.running:
            return
        names = self._names()
        for device_id, (coordinator, state) in self.runtime.devices().items():
            if device_id in self.settings.exclude_devices:
                continue
            area, slug = names[device_id]
            topics = DeviceTopics(self.settings.base_topic, area, slug)
            old = self._topics.get(device_id)
            if old == topics:
                continue
            if old is not None:
                self._command_topics.pop(old.command, None)
                _LOGGER.debug("MQTT bridge: %s moves to %s", old.root, topics.root)
            self._topics[device_id] = topics
            self._command_topics[topics.command] = device_id
            if coordinator.data and device_id in coordinator.data:
                self._sync_device(device_id, coordinator, state, full=True)

    @callback
    def _on_registry_updated(self, event: Event[Any]) -> None:
        """A device or area was created, renamed, moved or removed: recompute topics."""
        self._refresh_topics()

    # ---------------------------------------------------------------- discovery

    def _discovery_topic(self, device_id: str) -> str:
        """``<prefix>/device/switchboard_<public id>/config``."""
        return f"{self._discovery_prefix}/device/{DOMAIN}_{public_id(device_id)}/config"

    def _cached_discovery(
        self,
        device_id: str,
        topics: DeviceTopics,
        coordinator: SwitchboardCoordinator,
        state: DeviceState,
    ) -> tuple[str, str]:
        """:meth:`_discovery_message`, rebuilt only when one of its inputs changed."""
        signature = (
            state.descriptor,
            coordinator.structure_version,
            topics.root,
            tuple(
                (key, _value_kind(attribute.value), attribute.unit)
                for key, attribute in state.attributes.items()
            ),
        )
        cached = self._discovery_cache.get(device_id)
        if cached is not None and cached[0] == signature:
            return cached[1]
        message = self._discovery_message(device_id, topics, state)
        self._discovery_cache[device_id] = (signature, message)
        return message

    def _discovery_message(
        self, device_id: str, topics: DeviceTopics, state: DeviceState
    ) -> tuple[str, str]:
        """A device discovery config (Home Assistant MQTT discovery, device-based, ``cmps``).

        Every attribute becomes a sensor (booleans a binary sensor); switches the family
        describes become MQTT switches whose payloads are bridge commands.
        """
        descriptor = state.descriptor
        node = f"{DOMAIN}_{public_id(device_id)}"
        components: dict[str, dict[str, Any]] = {}
        switched: set[str] = set()
        runtime = self.runtime
        for description in runtime.describe(state):
            if description.platform is not Platform.SWITCH or description.attribute is None:
                continue
            turn_on = getattr(description, "turn_on", None)
            turn_off = getattr(description, "turn_off", None)
            if turn_on is None or turn_off is None:
                continue
            switch_attribute = description.attribute
            switched.add(switch_attribute)
            components[f"switch_{slugify(description.key)}"] = {
                "p": "switch",
                "unique_id": f"{node}_switch_{slugify(description.key)}",
                "name": switch_attribute.replace("_", " ").capitalize(),
                "stat_t": topics.attribute(switch_attribute),
                "stat_on": "true",
                "stat_off": "false",
                "cmd_t": topics.command,
                "pl_on": json.dumps({"action": turn_on.action, "args": dict(turn_on.args)}),
                "pl_off": json.dumps({"action": turn_off.action, "args": dict(turn_off.args)}),
            }
        for key, attribute in state.attributes.items():
            if key in switched:
                continue
            component: dict[str, Any] = {
                "unique_id": f"{node}_{slugify(key)}",
                "name": key.replace("_", " ").capitalize(),
                "stat_t": topics.attribute(key),
            }
            if isinstance(attribute.value, bool):
                component |= {"p": "binary_sensor", "pl_on": "true", "pl_off": "false"}
            else:
                component["p"] = "sensor"
                if attribute.unit:
                    component["unit_of_meas"] = attribute.unit
                if isinstance(attribute.value, (dict, list)):
                    component["val_tpl"] = "{{ value_json | tojson | truncate(250) }}"
            components[slugify(key) or "attribute"] = component
        device: dict[str, Any] = {
            "ids": [node],
            "name": descriptor.name,
            "mf": descriptor.manufacturer,
        }
        for short, value in (
            ("mdl", descriptor.model),
            ("sw", descriptor.sw_version),
            ("hw", descriptor.hw_version),
            ("sn", descriptor.serial_number),
        ):
            if value:
                device[short] = value
        if descriptor.mac:
            device["cns"] = [["mac", descriptor.mac]]
        payload = {
            "dev": device,
            "o": {"name": "Switchboard", "url": "https://github.com/switchboard-dev/switchboard"},
            "avty_t": topics.availability,
            "qos": QOS,
            "cmps": components,
        }
        return self._discovery_topic(device_id), json.dumps(payload, separators=(",", ":"))

    # ---------------------------------------------------------------- commands

    async def _async_on_command(self, message: mqtt.ReceiveMessage) -> None:
        """Handle ``<base>/<area>/<device>/command``: execute and publish one result."""
        result_topic = f"{message.topic}/result"
        payload = message.payload
        if isinstance(payload, bytearray):
            payload = bytes(payload)
        device_id = self._command_topics.get(message.topic)
        if device_id is None:
            if self._answers_unknown(message.topic):
                outcome = error_outcome(
                    _id_of(payload),
                    "unknown_device",
                    f"no Switchboard device has the topic {message.topic.rsplit('/', 1)[0]}",
                    action=None,
                    device=None,
                )
                self._log_rejected(message.topic, outcome)
                self._queue_result(result_topic, outcome)
            return
        command_id = _id_of(payload)
        key = (device_id, json.dumps(command_id)) if command_id is not None else None
        if key is not None and key in self._recent:
            cached = self._recent[key]
            if cached is not None:
                self.stats.duplicates_answered += 1
                _LOGGER.debug("MQTT bridge: command id %s seen before, answering again", command_id)
                self._queue_result(result_topic, cached)
            return
        if key is not None:
            self._remember(key, None)
        try:
            outcome = await self.async_command(device_id, payload)
        finally:
            # Released whatever happens (cancelled while unloading included); kept below only
            # when the command ran.
            if key is not None:
                self._recent.pop(key, None)
        if key is not None and outcome.get("error") not in REFUSALS:
            # A refused command never ran: a corrected retry with the same id runs.
            self._remember(key, outcome)
        self._queue_result(result_topic, outcome)

    def _remember(self, key: tuple[str, str], outcome: Outcome | None) -> None:
        self._recent[key] = outcome
        self._recent.move_to_end(key)
        while len(self._recent) > RECENT_RESULTS:
            self._recent.popitem(last=False)

    def _answers_unknown(self, topic: str) -> bool:
        """Whether this bridge answers a command for a topic no bridge knows (the first one)."""
        base = self.settings.base_topic
        bridges = [b for b in self._bridges().values() if b.settings.base_topic == base]
        if any(topic in bridge._command_topics for bridge in bridges):
            return False
        return min(bridge.entry.entry_id for bridge in bridges) == self.entry.entry_id

    async def async_command(
        self, device_id: str, payload: str | bytes | Mapping[str, Any]
    ) -> Outcome:
        """Validate and run one command on ``device_id``; return its ``Outcome``; never raises.

        ``payload`` is the command JSON (bytes/str) or the decoded mapping. Commands to one
        device run one at a time, in arrival order. A refused command is logged once.
        """
        try:
            command, command_id = parse_command(payload)
        except CommandError as err:
            outcome = error_outcome(
                _id_of(payload), err.code, err.reason, action=None, device=device_id
            )
            self._log_rejected(device_id, outcome)
            return outcome
        action: str = command["action"]
        result = await self._runner.async_run(device_id, action, command["args"])
        if not result.ok:
            outcome = error_outcome(
                command_id,
                result.code or "command_failed",
                result.message,
                action=action,
                device=device_id,
            )
            self._log_rejected(device_id, outcome)
            return outcome
        self.stats.commands_ok += 1
        return {
            "id": command_id,
            "status": "ok",
            "action": action,
            "device": device_id,
            "state": result.state,
        }

    def _log_rejected(self, where: str, outcome: Outcome) -> None:
        """The one log line of a refused command (no payload: it may be large)."""
        self.stats.commands_rejected += 1
        _LOGGER.warning(
            "MQTT bridge refused command %s (id %s) for %s: %s (%s)",
            outcome["action"] or "?",
            outcome["id"],
            where,
            outcome["error"],
            outcome["reason"],
        )

    # ---------------------------------------------------------------- diagnostics

    def diagnostics(self) -> dict[str, Any]:
        """Settings, connection, counters and topics of the bridge (no payloads)."""
        return {
            "running": self.running,
            "connected": self.connected,
            "settings": {
                "enabled": self.settings.enabled,
                "base_topic": self.settings.base_topic,
                "discovery": self.settings.discovery,
                "exclude_devices": sorted(self.settings.exclude_devices),
            },
            "queued": len(self._outbox),
            "unsent_results": len(self._unsent_results),
            "stats": {
                "published": self.stats.published,
                "failed_publishes": self.stats.failed_publishes,
                "commands_ok": self.stats.commands_ok,
                "commands_rejected": self.stats.commands_rejected,
                "duplicates_answered": self.stats.duplicates_answered,
                "republishes": self.stats.republishes,
                "last_republish": self.stats.last_republish,
            },
            "devices": {device_id: topics.root for device_id, topics in self._topics.items()},
        }


def bridged_devices(bridges: Iterable[MqttBridge]) -> dict[str, MqttBridge]:
    """``device id -> bridge`` of the entries' devices (for ``bridge_send_command``)."""
    return {device_id: bridge for bridge in bridges for device_id in bridge.runtime.devices()}


__all__ = [
    "CONF_BASE_TOPIC",
    "CONF_BRIDGE",
    "CONF_BRIDGE_ENABLED",
    "CONF_DISCOVERY",
    "CONF_EXCLUDE_DEVICES",
    "BridgeSettings",
    "MqttBridge",
    "options_section",
    "validate_options",
]
