"""The INDI family: one config entry per INDI server, one coordinator per INDI device.

Facts: ``docs/protocols/indi.md``. The client (``client.py``) keeps one connection and
reports every received element as an event; :class:`IndiHub` turns them into the common model:

* the server is a device (``host:port``) with a connectivity sensor; each INDI device is a device
  (``host:port/<device>``) under it, fed by its own coordinator, so a telescope pushing its
  coordinates four times a second only touches the telescope's entities;
* every ``set*Vector`` is pushed (``async_push_devices``); nothing is polled while the
  connection is up. On a drop the devices go unavailable and the coordinators fall back to
  their (cheap, local) poll until the client has reconnected;
* ``def*Vector`` arriving later adds attributes (entities follow without a reload),
  ``delProperty`` removes them; device messages fire ``switchboard_indi_message``.

Attribute keys: ``<VECTOR>.<MEMBER>`` (member value: float, bool for switches, text, light
state), ``<VECTOR>.state`` (Idle/Ok/Busy/Alert), ``<VECTOR>.selected`` (OneOfMany selects),
BLOBs ``<VECTOR>.<MEMBER>.format`` / ``.size``, and for a cooled CCD ``ccd.target``,
``ccd.hvac_mode``, ``ccd.hvac_action``.
"""

import asyncio
from collections.abc import Iterable, Mapping
import contextlib
from dataclasses import dataclass
from datetime import timedelta
import logging
from typing import Any, Final, override

from homeassistant.components.binary_sensor import BinarySensorDeviceClass
from homeassistant.components.climate import HVACAction, HVACMode
from homeassistant.components.number import NumberDeviceClass
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import (
    ATTR_CONFIG_ENTRY_ID,
    CONF_HOST,
    CONF_PORT,
    DEGREE,
    PERCENTAGE,
    EntityCategory,
    UnitOfLength,
    UnitOfTemperature,
    UnitOfTime,
)
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import ConfigEntryNotReady, ServiceValidationError
from homeassistant.helpers import config_validation as cv, service
from homeassistant.helpers.selector import BooleanSelector, NumberSelector, NumberSelectorConfig
import probatio

from ...const import CONF_FAMILY, DOMAIN
from ...coordinator import (
    DeviceSource,
    PollingSettings,
    SwitchboardCoordinator,
    SwitchboardData,
)
from ...descriptions import (
    ActionCall,
    SwitchboardBinarySensorDescription,
    SwitchboardClimateDescription,
    SwitchboardEntityDescription,
    SwitchboardNumberDescription,
    SwitchboardSelectDescription,
    SwitchboardSensorDescription,
    SwitchboardSwitchDescription,
)
from ...family import Family, FamilyRuntime
from ...model import (
    ActionSpec,
    Attribute,
    CommandRejectedError,
    DeviceConnectionError,
    DeviceDescriptor,
    DeviceResponseError,
    DeviceState,
)
from ...validation import finite_float, finite_scalar
from .client import (
    Connected,
    Defined,
    Deleted,
    Disconnected,
    IndiClient,
    IndiConnectionError,
    IndiError,
    IndiEvent,
    IndiTimeoutError,
    IndiVector,
    IndiVectorAlertError,
    Message,
    Updated,
)
from .const import (
    COMMAND_TIMEOUT,
    CONF_DEVICES,
    CONF_ENABLE_BLOBS,
    CONF_SNOOP_TIMEOUT,
    DEFAULT_PORT,
    DEFAULT_SNOOP_TIMEOUT,
    EVENT_INDI_MESSAGE,
    FAMILY_KEY,
    MANUFACTURER,
    SERVICE_SET_VECTOR,
)

_LOGGER = logging.getLogger(__name__)

LIGHT_STATES: Final = ["Idle", "Ok", "Busy", "Alert"]
MAX_TEXT: Final = 255
INITIAL_DEFINITIONS_QUIET: Final = 0.3
"""Setup waits until definitions pause this long (at most INITIAL_DEFINITIONS_MAX)."""
INITIAL_DEFINITIONS_MAX: Final = 3.0
ON_OFF_PAIRS: Final = {("CONNECT", "DISCONNECT"), ("ON", "OFF"), ("ENABLE", "DISABLE")}
QUIET_GROUPS: Final = frozenset(
    {"Options", "Simulator Config", "Simulation", "Connection", "General Info", "Firmware"}
)
"""Vectors in these groups are configuration: their entities are disabled by default."""

# Well-known standard properties: (vector, member) -> (unit, sensor device class).
KNOWN_NUMBERS: Final[Mapping[tuple[str, str], tuple[str | None, SensorDeviceClass | None]]] = {
    ("CCD_TEMPERATURE", "CCD_TEMPERATURE_VALUE"): (
        UnitOfTemperature.CELSIUS,
        SensorDeviceClass.TEMPERATURE,
    ),
    ("FOCUS_TEMPERATURE", "TEMPERATURE"): (
        UnitOfTemperature.CELSIUS,
        SensorDeviceClass.TEMPERATURE,
    ),
    ("WEATHER_PARAMETERS", "WEATHER_TEMPERATURE"): (
        UnitOfTemperature.CELSIUS,
        SensorDeviceClass.TEMPERATURE,
    ),
    ("WEATHER_PARAMETERS", "WEATHER_HUMIDITY"): (PERCENTAGE, SensorDeviceClass.HUMIDITY),
    ("CCD_EXPOSURE", "CCD_EXPOSURE_VALUE"): (UnitOfTime.SECONDS, SensorDeviceClass.DURATION),
    ("ABS_FOCUS_POSITION", "FOCUS_ABSOLUTE_POSITION"): ("steps", None),
    ("REL_FOCUS_POSITION", "FOCUS_RELATIVE_POSITION"): ("steps", None),
    ("EQUATORIAL_EOD_COORD", "RA"): (UnitOfTime.HOURS, None),
    ("EQUATORIAL_EOD_COORD", "DEC"): (DEGREE, None),
    ("EQUATORIAL_COORD", "RA"): (UnitOfTime.HOURS, None),
    ("EQUATORIAL_COORD", "DEC"): (DEGREE, None),
    ("HORIZONTAL_COORD", "ALT"): (DEGREE, None),
    ("HORIZONTAL_COORD", "AZ"): (DEGREE, None),
    ("GEOGRAPHIC_COORD", "LAT"): (DEGREE, None),
    ("GEOGRAPHIC_COORD", "LONG"): (DEGREE, None),
    ("GEOGRAPHIC_COORD", "ELEV"): (UnitOfLength.METERS, SensorDeviceClass.DISTANCE),
}

_MEMBER_VALUE = finite_scalar
"""A member value: On/Off as bool, a number (finite), or text (INDI number text included)."""
SET_VECTOR_SCHEMA: Final = probatio.Schema(
    {
        probatio.Required("vector"): cv.string,
        probatio.Required("members"): probatio.All(
            {cv.string: _MEMBER_VALUE}, probatio.Length(min=1)
        ),
        probatio.Optional("timeout"): probatio.All(finite_float, probatio.Range(min=0, max=600)),
    }
)


def member_key(vector: str, member: str) -> str:
    """Attribute key of a member's value."""
    return f"{vector}.{member}"


def state_key(vector: str) -> str:
    """Attribute key of a vector's state."""
    return f"{vector}.state"


def on_off_members(vector: IndiVector) -> tuple[str, str] | None:
    """(on member, off member) of a two-member ON/OFF switch vector such as CONNECTION."""
    if vector.kind != "switch" or vector.rule not in ("OneOfMany", "AtMostOne"):
        return None
    if len(vector.members) != 2:
        return None
    first, second = vector.members
    for on, off in ((first, second), (second, first)):
        upper = (on.upper(), off.upper())
        labels = (vector.members[on].label.lower(), vector.members[off].label.lower())
        if (
            upper in ON_OFF_PAIRS
            or (upper[0].endswith("_ON") and upper[1].endswith("_OFF"))
            or labels == ("on", "off")
        ):
            return on, off
    return None


def select_options(vector: IndiVector) -> dict[str, str]:
    """Select option text -> member name for a OneOfMany vector (labels when unique)."""
    labels = [member.label for member in vector.members.values()]
    if len(set(labels)) == len(labels) and all(labels):
        return {member.label: name for name, member in vector.members.items()}
    return {name: name for name in vector.members}


def vector_attributes(vector: IndiVector, *, blobs: bool) -> dict[str, Attribute]:
    """The attributes one vector contributes to its device's state."""
    name = vector.name
    attributes: dict[str, Attribute] = {state_key(name): Attribute(vector.state)}
    for member in vector.members.values():
        key = member_key(name, member.name)
        if vector.kind == "switch":
            attributes[key] = Attribute(member.value == "On")
        elif vector.kind == "number":
            unit = KNOWN_NUMBERS.get((name, member.name), (None, None))[0]
            attributes[key] = Attribute(member.value, unit)
        elif vector.kind == "text":
            text = member.value if isinstance(member.value, str) else ""
            attributes[key] = Attribute(text[:MAX_TEXT])
        elif vector.kind == "light":
            attributes[key] = Attribute(member.value)
        elif blobs:
            attributes[f"{key}.format"] = Attribute(member.blob_format)
            attributes[f"{key}.size"] = Attribute(member.size, "B")
    if vector.kind == "switch" and vector.rule == "OneOfMany" and on_off_members(vector) is None:
        selected = [
            option
            for option, member in select_options(vector).items()
            if vector.members[member].value == "On"
        ]
        attributes[f"{name}.selected"] = Attribute(selected[0] if selected else None)
    return attributes


@dataclass(slots=True)
class _DeviceRecord:
    """What the hub keeps per INDI device."""

    attributes: dict[str, Attribute]
    coordinator: SwitchboardCoordinator | None = None


class IndiHub:
    """One INDI server connection of a config entry, translated into the common model."""

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry, family: Family, runtime: IndiRuntime
    ) -> None:
        """Create the client (not connected yet) of ``runtime``'s server."""
        self.hass = hass
        self.entry = entry
        self.family = family
        self.runtime = runtime
        self.host: str = entry.data[CONF_HOST]
        self.port: int = int(entry.data.get(CONF_PORT, DEFAULT_PORT))
        devices = list(entry.data.get(CONF_DEVICES) or [])
        self.blobs = bool(entry.options.get(CONF_ENABLE_BLOBS, False))
        self.client = IndiClient(
            self.host,
            self.port,
            devices=devices or None,
            snoop_timeout=float(entry.options.get(CONF_SNOOP_TIMEOUT, DEFAULT_SNOOP_TIMEOUT)),
            on_event=self._on_event,
        )
        self.server_id = f"{self.host}:{self.port}"
        self.devices: dict[str, _DeviceRecord] = {}
        self.ccd_targets: dict[str, float] = {}
        self.server_coordinator: SwitchboardCoordinator | None = None
        self._alerts: set[tuple[str, str]] = set()
        self._definitions = asyncio.Event()
        self._started = False

    # ------------------------------------------------------------------ identity

    def device_id(self, device: str) -> str:
        """Integration-wide id of an INDI device."""
        return f"{self.server_id}/{device}"

    def device_name(self, device_id: str) -> str | None:
        """INDI device name from a device id of this server (None for the server itself)."""
        prefix = f"{self.server_id}/"
        return device_id[len(prefix) :] if device_id.startswith(prefix) else None

    @property
    def server_descriptor(self) -> DeviceDescriptor:
        """The INDI server as a device."""
        return DeviceDescriptor(
            id=self.server_id,
            name=f"INDI server {self.server_id}",
            manufacturer=MANUFACTURER,
            model="INDI server",
        )

    def descriptor(self, device: str) -> DeviceDescriptor:
        """An INDI device, under its server."""
        info = self.client.vectors.get((device, "DRIVER_INFO"))
        model = sw_version = None
        if info is not None:
            model = _text(info, "DRIVER_NAME")
            sw_version = _text(info, "DRIVER_VERSION")
        return DeviceDescriptor(
            id=self.device_id(device),
            name=device,
            manufacturer=MANUFACTURER,
            model=model,
            sw_version=sw_version,
            via_device=self.server_id,
        )

    # ------------------------------------------------------------------ states

    def server_state(self) -> DeviceState:
        """The server device: connected flag and number of devices."""
        return DeviceState(
            descriptor=self.server_descriptor,
            available=True,
            attributes={
                "connected": Attribute(self.client.connected),
                "devices": Attribute(len(self.devices)),
            },
        )

    def device_state(self, device: str) -> DeviceState | None:
        """The current state of one INDI device, or None when it is not defined."""
        record = self.devices.get(device)
        if record is None:
            return None
        return DeviceState(
            descriptor=self.descriptor(device),
            available=self.client.connected,
            attributes=dict(record.attributes),
        )

    def _rebuild(self, device: str) -> dict[str, Attribute]:
        attributes: dict[str, Attribute] = {}
        for (vector_device, _), vector in self.client.vectors.items():
            if vector_device == device:
                attributes.update(vector_attributes(vector, blobs=self.blobs))
        attributes.update(self._ccd_attributes(device))
        return attributes

    def _ccd_attributes(self, device: str) -> dict[str, Attribute]:
        temperature = self.client.vectors.get((device, "CCD_TEMPERATURE"))
        cooler = self.client.vectors.get((device, "CCD_COOLER"))
        if temperature is None or cooler is None:
            return {}
        current = temperature.members.get("CCD_TEMPERATURE_VALUE")
        if current is None or not isinstance(current.value, float):
            return {}
        target = self.ccd_targets.setdefault(device, current.value)
        cooling = cooler.members.get("COOLER_ON") is not None and (
            cooler.members["COOLER_ON"].value == "On"
        )
        if not cooling:
            action = HVACAction.OFF
        elif temperature.state == "Busy":
            action = HVACAction.COOLING
        else:
            action = HVACAction.IDLE
        return {
            "ccd.target": Attribute(target, UnitOfTemperature.CELSIUS),
            "ccd.hvac_mode": Attribute(str(HVACMode.COOL if cooling else HVACMode.OFF)),
            "ccd.hvac_action": Attribute(str(action)),
        }

    # ------------------------------------------------------------------ lifecycle

    async def async_start(self) -> None:
        """Connect (ConfigEntryNotReady on failure), wait for the first definitions, run."""
        runtime = self.runtime
        self.server_coordinator = self._new_coordinator(None)
        self.server_coordinator.async_set_updated_data({self.server_id: self.server_state()})
        runtime.async_add_coordinator(self.server_id, self.server_coordinator)
        try:
            await self.client.async_connect()
        except IndiConnectionError as err:
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN,
                translation_key="indi_cannot_connect",
                translation_placeholders={"server": self.server_id, "error": str(err)},
            ) from err
        self._started = True
        self.entry.async_create_background_task(
            self.hass, self.client.async_run(), f"INDI client {self.server_id}"
        )
        # Let the initial burst of definitions arrive, so entities exist after setup.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + INITIAL_DEFINITIONS_MAX
        while (remaining := deadline - loop.time()) > 0:
            self._definitions.clear()
            try:
                async with asyncio.timeout(min(INITIAL_DEFINITIONS_QUIET, remaining)):
                    await self._definitions.wait()
            except TimeoutError:
                if self.devices:
                    break

    async def async_stop(self) -> None:
        """Close the client."""
        await self.client.async_close()

    def _new_coordinator(self, device: str | None) -> SwitchboardCoordinator:
        coordinator = SwitchboardCoordinator(
            self.hass,
            self.entry,
            source=IndiDeviceSource(self, device),
            polling=self.family.polling.with_options(self.entry.options),
            name=f"INDI {self.server_id}" + (f" {device}" if device else ""),
        )
        coordinator.async_set_push_healthy(self.client.connected)
        return coordinator

    # ------------------------------------------------------------------ events

    def _on_event(self, event: IndiEvent) -> None:
        match event:
            case Updated(vector=vector):
                self._on_vector(vector, defined=False)
            case Defined(vector=vector):
                self._on_vector(vector, defined=True)
            case Deleted(device=device, vector_name=name):
                self._on_deleted(device, name)
            case Message(device=device, text=text, timestamp=timestamp):
                self.hass.bus.async_fire(
                    EVENT_INDI_MESSAGE,
                    {
                        ATTR_CONFIG_ENTRY_ID: self.entry.entry_id,
                        "server": self.server_id,
                        "device": device,
                        "message": text,
                        "timestamp": timestamp,
                    },
                )
            case Connected():
                self._on_connection(True)
            case Disconnected():
                self._on_connection(False)

    def _on_vector(self, vector: IndiVector, *, defined: bool) -> None:
        device = vector.device
        key = vector.key
        if vector.state == "Alert":
            if key not in self._alerts:
                self._alerts.add(key)
                _LOGGER.warning(
                    "INDI %s %s %s is in Alert%s",
                    self.server_id,
                    device,
                    vector.name,
                    f": {vector.message}" if vector.message else "",
                )
        else:
            self._alerts.discard(key)
        record = self.devices.get(device)
        if record is None:
            record = self.devices[device] = _DeviceRecord(attributes={})
        if defined:
            self._definitions.set()
            if vector.kind == "blob" and self.blobs:
                self.entry.async_create_background_task(
                    self.hass,
                    self._async_enable_blob(device, vector.name),
                    f"INDI enableBLOB {device} {vector.name}",
                )
            record.attributes = self._rebuild(device)
        else:
            attributes = dict(record.attributes)
            attributes.update(vector_attributes(vector, blobs=self.blobs))
            if vector.name in ("CCD_TEMPERATURE", "CCD_COOLER"):
                attributes.update(self._ccd_attributes(device))
            record.attributes = attributes
        self._publish(device, record)

    async def _async_enable_blob(self, device: str, vector: str) -> None:
        with contextlib.suppress(IndiError):
            await self.client.async_enable_blob(device, vector, "Also")

    def _on_deleted(self, device: str, name: str | None) -> None:
        record = self.devices.get(device)
        if record is None:
            return
        if name is None:
            del self.devices[device]
            if record.coordinator is not None:
                record.coordinator.async_remove_device(self.device_id(device))
            self._publish_server()
            return
        record.attributes = self._rebuild(device)
        self._publish(device, record)

    def _on_connection(self, connected: bool) -> None:
        for device, record in self.devices.items():
            if record.coordinator is not None:
                record.coordinator.async_set_push_healthy(connected)
                if not connected and (state := self.device_state(device)) is not None:
                    record.coordinator.async_push_devices({state.descriptor.id: state})
        if self.server_coordinator is not None:
            self.server_coordinator.async_set_push_healthy(connected)
        self._publish_server()

    def _publish(self, device: str, record: _DeviceRecord) -> None:
        state = self.device_state(device)
        if state is None:
            return
        if record.coordinator is None:
            record.coordinator = self._new_coordinator(device)
            record.coordinator.async_set_updated_data({state.descriptor.id: state})
            self.runtime.async_add_coordinator(state.descriptor.id, record.coordinator)
            self._publish_server()
            return
        record.coordinator.async_push_devices({state.descriptor.id: state})

    def _publish_server(self) -> None:
        if self.server_coordinator is not None:
            self.server_coordinator.async_push_devices({self.server_id: self.server_state()})

    # ------------------------------------------------------------------ commands

    def actions(self, device: str | None) -> Mapping[str, ActionSpec]:
        """Allow-list: set_vector for any writable vector, plus the entity shortcuts."""
        if device is None:
            return {}
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
        if "ccd.target" in (self.devices.get(device) or _DeviceRecord({})).attributes:
            specs["set_temperature"] = ActionSpec(
                name="set_temperature",
                schema=probatio.Schema({probatio.Required("temperature"): finite_float}),
                description="Set the CCD cooler's target temperature (CCD_TEMPERATURE, °C).",
            )
            specs["set_hvac_mode"] = ActionSpec(
                name="set_hvac_mode",
                schema=probatio.Schema(
                    {probatio.Required("hvac_mode"): probatio.In(["cool", "off"])}
                ),
                description="Switch the CCD cooler on (cool) or off (CCD_COOLER).",
            )
        return specs

    def _members_for(
        self, device: str, action: str, args: Mapping[str, Any]
    ) -> tuple[str, dict[str, str | float], float]:
        timeout = float(args.get("timeout", COMMAND_TIMEOUT))
        if action == "set_temperature":
            return "CCD_TEMPERATURE", {"CCD_TEMPERATURE_VALUE": args["temperature"]}, timeout
        if action == "set_hvac_mode":
            member = "COOLER_ON" if args["hvac_mode"] == "cool" else "COOLER_OFF"
            return "CCD_COOLER", {member: "On"}, timeout
        name: str = args["vector"]
        vector = self.client.vectors.get((device, name))
        if vector is None:
            raise CommandRejectedError(
                f"{device} has no vector {name}",
                translation_key="indi_unknown_vector",
                placeholders={"vector": name},
            )
        if action == "set_vector":
            members: dict[str, str | float] = {}
            for member, value in args["members"].items():
                if isinstance(value, bool):
                    members[member] = "On" if value else "Off"
                else:
                    members[member] = value
            return name, members, timeout
        if action == "set_value":
            return name, {args["member"]: args["value"]}, timeout
        if action == "select_option":
            options = select_options(vector)
            if args["option"] not in options:
                raise CommandRejectedError(
                    f"{name} has no option {args['option']}",
                    translation_key="indi_unknown_vector",
                    placeholders={"vector": f"{name} {args['option']}"},
                )
            return name, {options[args["option"]]: "On"}, timeout
        member = args["member"]
        pair = on_off_members(vector)
        if pair is not None:
            return name, {pair[0] if action == "turn_on" else pair[1]: "On"}, timeout
        return name, {member: "On" if action == "turn_on" else "Off"}, timeout

    async def async_execute(
        self, device: str, action: str, args: Mapping[str, Any]
    ) -> IndiVector | None:
        """Send the command and wait for the device's confirmation.

        Returns the confirmed vector, or None when the device is still Busy after the timeout
        (the entity then follows the pushed updates). An Alert reply raises
        CommandRejectedError (translated ``indi_alert``).
        """
        vector, members, timeout = self._members_for(device, action, args)
        if action == "set_temperature":
            self.ccd_targets[device] = float(args["temperature"])
        try:
            result = await self.client.async_command(device, vector, members, timeout)
        except IndiVectorAlertError as err:
            raise CommandRejectedError(
                str(err),
                translation_key="indi_alert",
                placeholders={"vector": vector, "message": err.vector.message or "-"},
            ) from err
        except IndiTimeoutError:
            return None
        except IndiConnectionError as err:
            raise DeviceConnectionError(str(err)) from err
        except IndiError as err:
            raise DeviceResponseError(str(err)) from err
        finally:
            if action == "set_temperature" and (record := self.devices.get(device)):
                record.attributes = {**record.attributes, **self._ccd_attributes(device)}
                self._publish(device, record)
        return result


def _text(vector: IndiVector, member: str) -> str | None:
    value = vector.members.get(member)
    return value.value if value is not None and isinstance(value.value, str) else None


class IndiDeviceSource(DeviceSource):
    """One INDI device (or, with ``device`` None, the server itself) of a hub."""

    def __init__(self, hub: IndiHub, device: str | None) -> None:
        """Bind to the hub."""
        self.hub = hub
        self.device = device

    @override
    async def async_fetch(self) -> SwitchboardData:
        """Return the pushed state (no network); devices are unavailable while disconnected."""
        if self.device is None:
            return {self.hub.server_id: self.hub.server_state()}
        state = self.hub.device_state(self.device)
        return {} if state is None else {state.descriptor.id: state}

    @override
    def actions(self, device_id: str) -> Mapping[str, ActionSpec]:
        """The hub's allow-list for this device."""
        return self.hub.actions(self.device)

    @override
    async def async_execute(
        self, device_id: str, action: str, args: Mapping[str, Any]
    ) -> SwitchboardData | None:
        """Run the command; reply with the device's state as pushed meanwhile."""
        if self.device is None:
            raise DeviceResponseError("the INDI server accepts no commands")
        await self.hub.async_execute(self.device, action, args)
        return await self.async_fetch()


class IndiRuntime(FamilyRuntime):
    """One INDI server: the hub, its coordinators, and the entity mapping."""

    def __init__(self, family: Family, hass: HomeAssistant, entry: ConfigEntry) -> None:
        """Create the server's hub (not connected yet)."""
        super().__init__(family)
        self.hub = IndiHub(hass, entry, family, self)

    @override
    def describe(self, state: DeviceState) -> Iterable[SwitchboardEntityDescription]:
        """Entities for the server (connectivity) or for every vector of an INDI device."""
        hub = self.hub
        if state.descriptor.id == hub.server_id:
            yield SwitchboardBinarySensorDescription(
                key="connected",
                translation_key="indi_connected",
                attribute="connected",
                device_class=BinarySensorDeviceClass.CONNECTIVITY,
                entity_category=EntityCategory.DIAGNOSTIC,
            )
            return
        device = hub.device_name(state.descriptor.id)
        if device is None:
            return
        attributes = state.attributes
        for (vector_device, _), vector in list(hub.client.vectors.items()):
            if vector_device == device and state_key(vector.name) in attributes:
                yield from describe_vector(vector, attributes, blobs=hub.blobs)
        if "ccd.target" in attributes:
            temperature = hub.client.vectors.get((device, "CCD_TEMPERATURE"))
            member = temperature.members.get("CCD_TEMPERATURE_VALUE") if temperature else None
            yield SwitchboardClimateDescription(
                key="ccd_cooler",
                translation_key="indi_ccd_cooler",
                attribute="ccd.hvac_mode",
                current_temperature_attribute=member_key(
                    "CCD_TEMPERATURE", "CCD_TEMPERATURE_VALUE"
                ),
                target_temperature_attribute="ccd.target",
                hvac_action_attribute="ccd.hvac_action",
                hvac_modes=(HVACMode.OFF, HVACMode.COOL),
                min_temp=member.minimum if member and member.minimum is not None else -50.0,
                max_temp=member.maximum if member and member.maximum is not None else 50.0,
                target_temperature_step=0.5,
                set_temperature=ActionCall("set_temperature"),
                set_hvac_mode=ActionCall("set_hvac_mode"),
                extra_attributes=(("state", state_key("CCD_TEMPERATURE")),),
            )

    @override
    def diagnostics(self) -> dict[str, Any]:
        """Connection facts and every vector's kind, state and member values."""
        client = self.hub.client
        return {
            "server": self.hub.server_id,
            "connected": client.connected,
            "received_elements": client.received_elements,
            "snoop_requests": client.snoop_requests,
            "vectors": {
                f"{device}/{name}": {
                    "kind": vector.kind,
                    "perm": vector.perm,
                    "rule": vector.rule,
                    "state": vector.state,
                    "members": {m.name: m.value for m in vector.members.values()},
                }
                for (device, name), vector in client.vectors.items()
            },
        }

    @override
    async def async_shutdown(self) -> None:
        """Close the INDI connection, then stop the coordinators."""
        await self.hub.async_stop()
        await super().async_shutdown()


def describe_vector(
    vector: IndiVector, attributes: Mapping[str, Attribute], *, blobs: bool
) -> Iterable[SwitchboardEntityDescription]:
    """Entity descriptions of one vector (see the issue's mapping rules)."""
    name = vector.name
    state = (("state", state_key(name)),)
    quiet = vector.group in QUIET_GROUPS and name != "CONNECTION"
    category = EntityCategory.CONFIG if quiet else None
    enabled = not quiet
    multi = len(vector.members) > 1

    def title(member_label: str) -> str:
        return f"{vector.label} {member_label}" if multi else vector.label

    if vector.kind == "switch":
        pair = on_off_members(vector)
        if vector.perm == "ro":
            for member in vector.members.values():
                yield SwitchboardBinarySensorDescription(
                    key=member_key(name, member.name),
                    name=title(member.label),
                    attribute=member_key(name, member.name),
                    entity_category=EntityCategory.DIAGNOSTIC,
                    entity_registry_enabled_default=enabled,
                    extra_attributes=state,
                )
        elif pair is not None:
            yield SwitchboardSwitchDescription(
                key=name,
                name=vector.label,
                attribute=member_key(name, pair[0]),
                turn_on=ActionCall("turn_on", {"vector": name, "member": pair[0]}),
                turn_off=ActionCall("turn_off", {"vector": name, "member": pair[0]}),
                entity_category=category,
                entity_registry_enabled_default=enabled,
                extra_attributes=state,
            )
        elif vector.rule == "OneOfMany":
            yield SwitchboardSelectDescription(
                key=name,
                name=vector.label,
                attribute=f"{name}.selected",
                options=list(select_options(vector)),
                select_option=ActionCall("select_option", {"vector": name}),
                entity_category=category,
                entity_registry_enabled_default=enabled,
                extra_attributes=state,
            )
        else:
            for member in vector.members.values():
                yield SwitchboardSwitchDescription(
                    key=member_key(name, member.name),
                    name=title(member.label),
                    attribute=member_key(name, member.name),
                    turn_on=ActionCall("turn_on", {"vector": name, "member": member.name}),
                    turn_off=ActionCall("turn_off", {"vector": name, "member": member.name}),
                    entity_category=category,
                    entity_registry_enabled_default=enabled,
                    extra_attributes=state,
                )
    elif vector.kind == "number":
        for member in vector.members.values():
            key = member_key(name, member.name)
            unit, device_class = KNOWN_NUMBERS.get((name, member.name), (None, None))
            if vector.perm == "ro":
                yield SwitchboardSensorDescription(
                    key=key,
                    name=title(member.label),
                    attribute=key,
                    native_unit_of_measurement=unit,
                    device_class=device_class,
                    state_class=SensorStateClass.MEASUREMENT,
                    entity_category=category,
                    entity_registry_enabled_default=enabled,
                    extra_attributes=state,
                )
                continue
            minimum, maximum = member.minimum, member.maximum
            if minimum is None or maximum is None or minimum >= maximum:
                minimum, maximum = -1e9, 1e9  # INDI: min == max means "no limits"
            step = member.step if member.step else _step_from_format(member.format)
            yield SwitchboardNumberDescription(
                key=key,
                name=title(member.label),
                attribute=key,
                native_min_value=minimum,
                native_max_value=maximum,
                native_step=step,
                native_unit_of_measurement=unit,
                device_class=_number_device_class(device_class),
                set_value=ActionCall("set_value", {"vector": name, "member": member.name}),
                entity_category=category,
                entity_registry_enabled_default=enabled,
                extra_attributes=state,
            )
    elif vector.kind == "text":
        for member in vector.members.values():
            key = member_key(name, member.name)
            yield SwitchboardSensorDescription(
                key=key,
                name=title(member.label),
                attribute=key,
                entity_category=EntityCategory.DIAGNOSTIC,
                entity_registry_enabled_default=False,
                extra_attributes=state,
            )
    elif vector.kind == "light":
        for member in vector.members.values():
            key = member_key(name, member.name)
            yield SwitchboardSensorDescription(
                key=key,
                name=title(member.label),
                attribute=key,
                device_class=SensorDeviceClass.ENUM,
                options=LIGHT_STATES,
                entity_registry_enabled_default=enabled,
                extra_attributes=state,
            )
    elif vector.kind == "blob" and blobs:
        for member in vector.members.values():
            key = member_key(name, member.name)
            if f"{key}.format" not in attributes:
                continue
            yield SwitchboardSensorDescription(
                key=key,
                name=title(member.label),
                attribute=f"{key}.format",
                entity_category=EntityCategory.DIAGNOSTIC,
                extra_attributes=(("size", f"{key}.size"), *state),
            )


def _step_from_format(fmt: str | None) -> float:
    """A step for a number without one: from the printf precision (``%.2f`` -> 0.01)."""
    if fmt and "." in fmt and fmt.endswith("f"):
        digits = fmt.rsplit(".", 1)[1][:-1]
        if digits.isdigit():
            return float(10 ** -int(digits))
        if digits == "":
            return 1.0
    return 0.001


def _number_device_class(device_class: SensorDeviceClass | None) -> NumberDeviceClass | None:
    if device_class is None:
        return None
    try:
        return NumberDeviceClass(device_class.value)
    except ValueError:
        return None


class IndiFamily(Family):
    """INDI servers: one TCP connection per entry, push only, devices under the server."""

    key = FAMILY_KEY
    polling = PollingSettings(
        normal=timedelta(seconds=30), burst=timedelta(seconds=30), burst_cycles=0, push=None
    )

    @override
    async def async_setup(self, hass: HomeAssistant) -> None:
        """Register ``switchboard.indi_set_vector``."""

        async def set_vector(call: ServiceCall) -> ServiceResponse:
            return await _async_service_set_vector(hass, call)

        hass.services.async_register(
            DOMAIN,
            SERVICE_SET_VECTOR,
            set_vector,
            schema=probatio.Schema(
                {
                    probatio.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
                    probatio.Required("device"): cv.string,
                    probatio.Required("vector"): cv.string,
                    probatio.Required("members"): probatio.All(
                        {cv.string: _MEMBER_VALUE}, probatio.Length(min=1)
                    ),
                    probatio.Optional("timeout"): probatio.All(
                        finite_float, probatio.Range(min=0, max=600)
                    ),
                }
            ),
            supports_response=SupportsResponse.OPTIONAL,
        )

    @override
    async def async_setup_entry(self, hass: HomeAssistant, entry: ConfigEntry) -> FamilyRuntime:
        """Connect to the server and follow its devices."""
        runtime = IndiRuntime(self, hass, entry)
        try:
            await runtime.hub.async_start()
        except BaseException:
            await runtime.hub.async_stop()
            raise
        return runtime

    @override
    def options_schema(self, entry: ConfigEntry) -> Mapping[probatio.Marker, Any]:
        """BLOBs on/off and the snoop timeout."""
        return {
            probatio.Required(
                CONF_ENABLE_BLOBS, default=entry.options.get(CONF_ENABLE_BLOBS, False)
            ): BooleanSelector(),
            probatio.Required(
                CONF_SNOOP_TIMEOUT,
                default=entry.options.get(CONF_SNOOP_TIMEOUT, DEFAULT_SNOOP_TIMEOUT),
            ): NumberSelector(
                NumberSelectorConfig(min=5, max=600, step=1, unit_of_measurement="s")
            ),
        }


async def _async_service_set_vector(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    """Write any vector and return its resulting state."""
    if entry_id := call.data.get(ATTR_CONFIG_ENTRY_ID):
        entries = [service.async_get_config_entry(hass, DOMAIN, entry_id)]
    else:
        entries = hass.config_entries.async_loaded_entries(DOMAIN)
    entries = [entry for entry in entries if entry.data.get(CONF_FAMILY) == FAMILY_KEY]
    device: str = call.data["device"]
    if len(entries) > 1:
        entries = [entry for entry in entries if device in entry.runtime_data.runtime.hub.devices]
    if len(entries) != 1:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="indi_no_entry",
            translation_placeholders={"device": device},
        )
    runtime = entries[0].runtime_data.runtime
    assert isinstance(runtime, IndiRuntime)
    hub = runtime.hub
    record = hub.devices.get(device)
    if record is None or record.coordinator is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_device",
            translation_placeholders={"device": device},
        )
    args: dict[str, Any] = {"vector": call.data["vector"], "members": call.data["members"]}
    if "timeout" in call.data:
        args["timeout"] = call.data["timeout"]
    await record.coordinator.async_execute(hub.device_id(device), "set_vector", args)
    vector = hub.client.vectors.get((device, call.data["vector"]))
    if vector is None:
        return {"device": device, "vector": call.data["vector"], "state": None}
    return {
        "device": device,
        "vector": vector.name,
        "state": vector.state,
        "message": vector.message,
        "timestamp": vector.timestamp,
        "members": {m.name: m.value for m in vector.members.values()},
    }
