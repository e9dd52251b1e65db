"""The INDI device sources: one hub per server, one source per INDI device.

Facts: ``docs/protocols/indi.md``. :class:`IndiHub` turns the client's events (``client.py``)
into the common model (attribute keys below) and runs the allow-listed actions of
``actions.py``; :class:`IndiDeviceSource` is what one coordinator reads (a device, or with
``device`` None, the server itself).

Attribute keys: ``<VECTOR>.<MEMBER>`` (member value: float, bool for switches, text, light
state), ``<VECTOR>.state`` (Idle/Ok/Busy/Alert), ``<VECTOR>.selected`` (OneOfMany selects),
BLOBs ``<VECTOR>.<MEMBER>.format`` / ``.size``, and for a cooled CCD ``ccd.target``,
``ccd.hvac_mode``, ``ccd.hvac_action``.

Identity: INDI has no server identity, so a server is known by the devices it serves. A device
is available while the server is connected and has defined it since the connection began.
After a reconnect, a server that defines devices of which none is one the entry had (another
server at the address, or the drivers changed) is not attached to the entry: its devices are
held back (no entities), the entry's devices stay unavailable, and the translated
``indi_other_server`` repair issue names the address and the devices found, once
``INITIAL_DEFINITIONS_MAX`` s have passed without a known device. A known device defined again
clears the issue and adds the held devices; reloading the entry accepts the server as it is.
"""

import asyncio
from collections.abc import Collection, Mapping
import contextlib
from dataclasses import dataclass
import logging
from typing import Any, Final, override

from homeassistant.components.climate import HVACAction, HVACMode
from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import (
    ATTR_CONFIG_ENTRY_ID,
    CONF_HOST,
    CONF_PORT,
    DEGREE,
    PERCENTAGE,
    UnitOfLength,
    UnitOfTemperature,
    UnitOfTime,
)
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers.event import async_call_later

from ...const import DOMAIN
from ...coordinator import (
    DeviceSource,
    SwitchboardCoordinator,
    SwitchboardData,
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
from ...repairs import (
    ISSUE_INDI_OTHER_SERVER,
    PushChannelWatch,
    async_delete_issue,
    async_raise_indi_other_server_issue,
)
from .actions import device_actions
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
    MANUFACTURER,
)
from .formats import clean_label, format_number, is_sexagesimal, label_unit
from .protocol import STATES, IndiMember

_LOGGER = logging.getLogger(__name__)

MAX_TEXT: Final = 255
INITIAL_DEFINITIONS_QUIET: Final = 0.3
"""Setup waits until definitions pause this long (at most INITIAL_DEFINITIONS_MAX)."""
INITIAL_DEFINITIONS_MAX: Final = 3.0
ON_OFF_PAIRS: Final = {("CONNECT", "DISCONNECT"), ("ON", "OFF"), ("ENABLE", "DISABLE")}
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


def number_unit(vector: IndiVector, member: IndiMember) -> str | None:
    """A number member's unit: a standard property's, else one written into its label.

    ``Pixel size X (um)`` -> µm; for a vector of one member its own label counts too.
    """
    known = KNOWN_NUMBERS.get((vector.name, member.name), (None, None))[0]
    if known is not None:
        return known
    unit = label_unit(member.label)[1]
    if unit is None and len(vector.members) == 1:
        unit = label_unit(vector.label)[1]
    return unit


_SHARED: Final[Mapping[str | bool, Attribute]] = {
    **{state: Attribute(state) for state in STATES},
    True: Attribute(True),
    False: Attribute(False),
}
"""One attribute object per vector state and switch value: an update that leaves them as they
were hands the coordinator and the entities the same objects (compared by identity)."""


def vector_attributes(vector: IndiVector, *, blobs: bool) -> dict[str, Attribute]:
    """The attributes one vector contributes to its device's state."""
    name = vector.name
    # The keys of state_key and member_key, spelt out: this runs for every update.
    attributes: dict[str, Attribute] = {f"{name}.state": _SHARED[vector.state]}
    for member in vector.members.values():
        key = f"{name}.{member.name}"
        if vector.kind == "switch":
            attributes[key] = _SHARED[member.value == "On"]
        elif vector.kind == "number":
            unit = number_unit(vector, member)
            attributes[key] = Attribute(member.value, unit)
            if is_sexagesimal(member.format) and isinstance(member.value, float):
                attributes[f"{key}.text"] = Attribute(format_number(member.value, member.format))
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
    """Replaced on every change, never modified: device states share it without a copy."""
    coordinator: SwitchboardCoordinator | None = None
    descriptor: tuple[IndiVector | None, DeviceDescriptor] | None = None
    """The descriptor, with the DRIVER_INFO vector it was built from (rebuilt when it changes)."""


class IndiHub:
    """One INDI server connection of a config entry, translated into the common model."""

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry, family: Family, runtime: FamilyRuntime
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
        self.push_watch = PushChannelWatch(hass, entry, f"INDI server {self.server_id}")
        """Raises the ``push_down`` repair issue while the server is unreachable too long."""
        self.devices: dict[str, _DeviceRecord] = {}
        self.ccd_targets: dict[str, float] = {}
        self.server_coordinator: SwitchboardCoordinator | None = None
        self._alerts: set[tuple[str, str]] = set()
        self._definitions = asyncio.Event()
        self._started = False
        self._session: set[str] = set()
        """Devices the server defined since the current connection began."""
        self._held: set[str] = set()
        """Devices of a server not (yet) known to serve any of the entry's devices."""
        self._identity_check: CALLBACK_TYPE | None = None
        self._other_server = False

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
        """An INDI device, under its server (the same object while DRIVER_INFO is unchanged)."""
        info = self.client.vectors.get((device, "DRIVER_INFO"))
        record = self.devices.get(device)
        if record is not None and record.descriptor is not None and record.descriptor[0] is info:
            return record.descriptor[1]
        model = sw_version = None
        if info is not None:
            # Drivers' texts keep the XML's line breaks and indentation: collapse them.
            model = clean_label(_text(info, "DRIVER_NAME") or "") or None
            sw_version = clean_label(_text(info, "DRIVER_VERSION") or "") or None
        descriptor = DeviceDescriptor(
            id=self.device_id(device),
            name=device,
            manufacturer=MANUFACTURER,
            model=model,
            sw_version=sw_version,
            via_device=self.server_id,
        )
        if record is not None:
            record.descriptor = (info, descriptor)
        return descriptor

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
            available=self.client.connected and device in self._session,
            attributes=record.attributes,
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
        """Close the client; clear the push-down and other-server repair issues."""
        self.push_watch.async_stop()
        self._cancel_identity_check()
        async_delete_issue(self.hass, ISSUE_INDI_OTHER_SERVER, self.entry)
        await self.client.async_close()

    # ------------------------------------------------------------------ server identity

    def _holding(self) -> bool:
        """Whether new devices are held back: the entry has devices, none defined again yet."""
        return bool(self.devices) and self._session.isdisjoint(self.devices)

    def _cancel_identity_check(self) -> None:
        if self._identity_check is not None:
            self._identity_check()
            self._identity_check = None

    @callback
    def _check_identity(self, _now: Any) -> None:
        """After a reconnect's definitions: only new devices means another server."""
        self._identity_check = None
        if not self.client.connected or not self._held or not self._holding():
            return
        devices = ", ".join(sorted(self._held))
        if not self._other_server:
            _LOGGER.warning(
                "INDI server %s now serves %s and none of this entry's devices: not added",
                self.server_id,
                devices,
            )
        self._other_server = True
        async_raise_indi_other_server_issue(self.hass, self.entry, self.server_id, devices)

    def _known_device_back(self) -> None:
        """A device of the entry is defined again: the server is the entry's."""
        if self._other_server:
            self._other_server = False
            async_delete_issue(self.hass, ISSUE_INDI_OTHER_SERVER, self.entry)
        held, self._held = self._held, set()
        for device in sorted(held):
            record = self.devices[device] = _DeviceRecord(attributes=self._rebuild(device))
            self._publish(device, record)

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
        if defined:
            if device not in self._session:
                self._session.add(device)
                if device in self.devices:
                    if self._held or self._other_server:
                        self._known_device_back()
                elif self._holding():
                    self._held.add(device)
            if device in self._held:
                self._definitions.set()
                return
        elif device in self._held:
            return
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
        elif self._alerts:
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
            changed = vector_attributes(vector, blobs=self.blobs)
            if vector.name in ("CCD_TEMPERATURE", "CCD_COOLER"):
                changed.update(self._ccd_attributes(device))
            record.attributes = {**record.attributes, **changed}
            # The coordinator compares only these keys to find the entities to update.
            self._publish(device, record, touched=changed.keys())
            return
        self._publish(device, record)

    async def _async_enable_blob(self, device: str, vector: str) -> None:
        with contextlib.suppress(IndiError):
            await self.client.async_enable_blob(device, vector, "Also")

    def _on_deleted(self, device: str, name: str | None) -> None:
        if name is None:
            self._session.discard(device)
            self._held.discard(device)
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
        self.push_watch.async_set_connected(connected)
        self._session.clear()
        self._held.clear()
        self._cancel_identity_check()
        if connected and self.devices:
            self._identity_check = async_call_later(
                self.hass, INITIAL_DEFINITIONS_MAX, self._check_identity
            )
        for device, record in self.devices.items():
            if record.coordinator is not None:
                record.coordinator.async_set_push_healthy(connected)
                if not connected and (state := self.device_state(device)) is not None:
                    record.coordinator.async_push_devices({state.descriptor.id: state})
        if self.server_coordinator is not None:
            self.server_coordinator.async_set_push_healthy(connected)
        self._publish_server()

    def _publish(
        self, device: str, record: _DeviceRecord, touched: Collection[str] | None = None
    ) -> None:
        state = self.device_state(device)
        if state is None:
            return
        if record.coordinator is None:
            record.coordinator = self._new_coordinator(device)
            record.coordinator.async_set_updated_data({state.descriptor.id: state})
            self.runtime.async_add_coordinator(state.descriptor.id, record.coordinator)
            self._publish_server()
            return
        record.coordinator.async_push_devices(
            {state.descriptor.id: state},
            touched=None if touched is None else {state.descriptor.id: touched},
        )

    def _publish_server(self) -> None:
        if self.server_coordinator is not None:
            self.server_coordinator.async_push_devices({self.server_id: self.server_state()})

    # ------------------------------------------------------------------ commands

    def actions(self, device: str | None) -> Mapping[str, ActionSpec]:
        """Allow-list: set_vector for any writable vector, plus the entity shortcuts."""
        if device is None:
            return {}
        return device_actions(
            ccd="ccd.target" in (self.devices.get(device) or _DeviceRecord({})).attributes
        )

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
