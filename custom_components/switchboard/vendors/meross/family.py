"""The Meross family: one config entry per Meross account, push over the account's MQTT broker.

Facts: ``docs/protocols/meross.md``. The device list comes from the cloud HTTP API and is
cached in a Store, so a restart sets up from the cache and refreshes the list in the background.
Every device (a hub with its valves) has its own coordinator; the account's MQTT connection
(TLS, app credentials) carries requests and pushes for all of them. While that connection is up
the coordinators only poll as a slow safety net; pushes reach them through ``async_push``. All
requests go through one limiter that keeps the account under the cloud's limits and lets
commands jump ahead of polls; an account device shows the request rate.
"""

import asyncio
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from datetime import timedelta
import logging
import ssl
import time
from typing import Any, Final, override

from homeassistant.components.climate import HVACMode
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfPower,
    UnitOfTemperature,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.storage import Store
from homeassistant.util.ssl import get_default_context, get_default_no_verify_context
import probatio

from ...const import DOMAIN
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
    SwitchboardSensorDescription,
    SwitchboardSwitchDescription,
)
from ...family import Family, FamilyRuntime
from ...model import (
    ActionSpec,
    Attribute,
    CommandRejectedError,
    DeviceAuthError,
    DeviceConnectionError,
    DeviceDescriptor,
    DeviceRateLimitError,
    DeviceResponseError,
    DeviceState,
)
from ...validation import finite_float, strict_int
from . import device as model
from .client import (
    MerossCloud,
    MerossConnectionError,
    MerossCredentials,
    MerossDeviceError,
    MerossDeviceInfo,
    MerossError,
    MerossMqttClient,
    MerossRateLimitError,
    MerossSubdeviceInfo,
    MerossTimeoutError,
    MerossTokenExpiredError,
    MessageTrace,
    Namespace,
    RequestLimiter,
    account_title,
)
from .const import (
    CONF_API_BASE_URL,
    CONF_CREDENTIALS,
    CONF_EMAIL,
    CONF_MAX_REQUESTS,
    CONF_PUSH,
    CONF_PUSH_EVENTS,
    CONF_VERIFY_SSL,
    CONSUMPTION_EVERY_SECONDS,
    DEFAULT_MAX_REQUESTS,
    DEVICE_LIST_REFRESH_SECONDS,
    EVENT_PUSH,
    FAMILY_KEY,
    LIMITER_BURST,
    MANUFACTURER,
    TRACE_LENGTH,
)
from .services import async_setup_services

_LOGGER = logging.getLogger(__name__)

STORE_VERSION: Final = 1
STORE_SAVE_DELAY: Final = 30
MQTT_CONNECT_WAIT: Final = 10.0
REQUEST_TIMEOUT: Final = 10.0

UNITS: Final[dict[str, str]] = {
    "power": UnitOfPower.WATT,
    "voltage": UnitOfElectricPotential.VOLT,
    "current": UnitOfElectricCurrent.AMPERE,
    "energy_today": UnitOfEnergy.KILO_WATT_HOUR,
    "energy_total": UnitOfEnergy.KILO_WATT_HOUR,
    "current_temperature": UnitOfTemperature.CELSIUS,
    "target_temperature": UnitOfTemperature.CELSIUS,
    "min_temperature": UnitOfTemperature.CELSIUS,
    "max_temperature": UnitOfTemperature.CELSIUS,
    **dict.fromkeys(
        (
            "manual_temperature",
            "comfort_temperature",
            "sleep_temperature",
            "eco_temperature",
            "away_temperature",
        ),
        UnitOfTemperature.CELSIUS,
    ),
    "battery": PERCENTAGE,
    "request_rate": "requests/min",
}


def _number(value: Any, default: float) -> float:
    return (
        float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default
    )


def _map_error(err: MerossError) -> Exception:
    """Turn a client error into the model error the coordinator understands."""
    if isinstance(err, MerossTokenExpiredError):
        return DeviceAuthError(str(err))
    if isinstance(err, MerossRateLimitError):
        return DeviceRateLimitError(str(err), retry_after=60)
    if isinstance(err, MerossDeviceError):
        return CommandRejectedError(str(err))
    if isinstance(err, (MerossConnectionError, MerossTimeoutError)):
        return DeviceConnectionError(str(err))
    return DeviceResponseError(str(err))


class MerossAccount:
    """The account's shared parts: cloud API, MQTT connection, limiter, cache and traces."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        """Build the clients from the entry (nothing connects yet)."""
        self.hass = hass
        self.entry = entry
        self.credentials = MerossCredentials.from_dict(entry.data[CONF_CREDENTIALS])
        self.cloud = MerossCloud(
            async_get_clientsession(hass),
            self.credentials.domain or entry.data[CONF_API_BASE_URL],
            self.credentials,
        )
        self.limiter = RequestLimiter(
            max_per_minute=float(entry.options.get(CONF_MAX_REQUESTS, DEFAULT_MAX_REQUESTS)),
            burst=LIMITER_BURST,
        )
        self.push_enabled: bool = entry.options.get(CONF_PUSH, True)
        self.push_events: bool = entry.options.get(CONF_PUSH_EVENTS, False)
        context: ssl.SSLContext = (
            get_default_context()
            if entry.data.get(CONF_VERIFY_SSL, True)
            else get_default_no_verify_context()
        )
        self.mqtt = MerossMqttClient(
            host=self.credentials.mqtt_host,
            port=self.credentials.mqtt_port,
            user_id=self.credentials.user_id,
            key=self.credentials.key,
            ssl_context=context,
            limiter=self.limiter,
            on_push=self._on_push,
            on_connection_change=self._on_connection_change,
            on_trace=self._on_trace,
        )
        self.store: Store[dict[str, Any]] = Store(
            hass, STORE_VERSION, f"{DOMAIN}.meross_{entry.entry_id}"
        )
        self.cache: dict[str, Any] = {}
        self.devices: dict[str, MerossDeviceInfo] = {}
        self.subdevices: dict[str, list[MerossSubdeviceInfo]] = {}
        self.sources: dict[str, MerossDeviceSource] = {}
        self.traces: dict[str, deque[dict[str, Any]]] = {}
        self.account_coordinator = SwitchboardCoordinator(
            hass,
            entry,
            source=MerossAccountSource(self),
            polling=PollingSettings(
                normal=timedelta(seconds=30), burst=timedelta(seconds=30), burst_cycles=0
            ),
            name="Meross account",
        )
        """The coordinator of the account's diagnostic device."""
        self.pushes = 0

    @property
    def account_id(self) -> str:
        """Device id of the account's diagnostic device."""
        return f"meross_account_{self.credentials.user_id}"

    # -- cache ---------------------------------------------------------------------------

    async def async_load_cache(self) -> bool:
        """Load the cached device list; return whether there was one."""
        self.cache = await self.store.async_load() or {}
        if not self.cache.get("devices"):
            return False
        self._apply_device_list(
            [MerossDeviceInfo.from_api(item) for item in self.cache["devices"]],
            {
                hub: [MerossSubdeviceInfo.from_api(hub, item) for item in items]
                for hub, items in self.cache.get("subdevices", {}).items()
            },
        )
        return True

    def _apply_device_list(
        self, devices: list[MerossDeviceInfo], subdevices: dict[str, list[MerossSubdeviceInfo]]
    ) -> None:
        self.devices = {info.uuid: info for info in devices}
        self.subdevices = subdevices

    @callback
    def async_save_cache(self) -> None:
        """Schedule writing the cache."""
        self.store.async_delay_save(lambda: self.cache, STORE_SAVE_DELAY)

    async def async_fetch_device_list(self) -> None:
        """Read the device list (and hubs' sub-devices) from the cloud into the cache."""
        devices = await self.cloud.async_list_devices()
        subdevices: dict[str, list[MerossSubdeviceInfo]] = {}
        for info in devices:
            if model.kind_of(None, info.device_type) == "hub":
                subdevices[info.uuid] = await self.cloud.async_list_subdevices(info.uuid)
        self._apply_device_list(devices, subdevices)
        self.cache["devices"] = [info.raw for info in devices]
        self.cache["subdevices"] = {
            hub: [sub.raw for sub in subs] for hub, subs in subdevices.items()
        }
        self.async_save_cache()

    # -- requests ------------------------------------------------------------------------

    async def async_request(
        self, uuid: str, method: str, namespace: str, payload: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Send a request through the limiter; raise model errors."""
        try:
            return await self.mqtt.async_request(
                uuid, method, namespace, payload, timeout=REQUEST_TIMEOUT
            )
        except MerossError as err:
            raise _map_error(err) from err

    # -- MQTT callbacks ------------------------------------------------------------------

    @callback
    def _on_trace(self, trace: MessageTrace) -> None:
        entry = asdict(trace)
        self.traces.setdefault(trace.uuid, deque(maxlen=TRACE_LENGTH)).append(entry)

    @callback
    def _on_push(self, uuid: str, namespace: str, payload: dict[str, Any]) -> None:
        self.pushes += 1
        if self.push_events:
            registry = dr.async_get(self.hass)
            device = registry.async_get_device_by_identifier((DOMAIN, uuid), self.entry.entry_id)
            self.hass.bus.async_fire(
                EVENT_PUSH,
                {
                    "device_id": device.id if device else None,
                    "uuid": uuid,
                    "namespace": namespace,
                    "payload": payload,
                },
            )
        if not self.push_enabled:
            return
        source = self.sources.get(uuid)
        if source is not None:
            source.async_handle_push(namespace, payload)

    @callback
    def _on_connection_change(self, connected: bool) -> None:
        if self.account_coordinator.data is not None:
            self.account_coordinator.async_set_updated_data(self.account_data())
        if not self.push_enabled:
            return
        for source in self.sources.values():
            if source.coordinator is not None:
                source.coordinator.async_set_push_healthy(connected)
                if connected and self.entry.state.recoverable:
                    # Catch up on what happened while the connection was down.
                    self.entry.async_create_background_task(
                        self.hass,
                        source.coordinator.async_request_refresh(),
                        f"meross refresh {source.info.uuid}",
                    )

    def account_data(self) -> SwitchboardData:
        """The account's own device: request rate and MQTT state."""
        descriptor = DeviceDescriptor(
            id=self.account_id,
            name="Meross cloud account",
            manufacturer=MANUFACTURER,
            model="Cloud account",
        )
        attributes = {
            "request_rate": Attribute(self.limiter.requests_per_minute, UNITS["request_rate"]),
            "push_connected": Attribute(self.mqtt.connected),
            "queued_requests": Attribute(self.limiter.queued),
        }
        return {self.account_id: DeviceState(descriptor=descriptor, attributes=attributes)}


class MerossAccountSource(DeviceSource):
    """The account device: local numbers only, no network."""

    def __init__(self, account: MerossAccount) -> None:
        """Serve ``account``."""
        self.account = account

    @override
    async def async_fetch(self) -> SwitchboardData:
        return self.account.account_data()

    @override
    def actions(self, device_id: str) -> Mapping[str, ActionSpec]:
        return {}

    @override
    async def async_execute(
        self, device_id: str, action: str, args: Mapping[str, Any]
    ) -> SwitchboardData | None:
        raise CommandRejectedError(f"{action} is not supported")


class MerossDeviceSource(DeviceSource):
    """One Meross device (a hub together with its valves) over the account's MQTT connection."""

    def __init__(self, account: MerossAccount, info: MerossDeviceInfo) -> None:
        """Serve device ``info``; its MAC and abilities come from the cache or the first poll."""
        self.account = account
        self.info = info
        self.coordinator: SwitchboardCoordinator | None = None
        cached = account.cache.setdefault("device_extra", {}).get(info.uuid, {})
        self.mac: str | None = cached.get("mac")
        self.abilities: dict[str, Any] | None = cached.get("abilities")
        self.kind = model.kind_of(self.abilities, info.device_type)
        self.values: dict[str, dict[str, Any]] = {}
        self.available: dict[str, bool] = {}
        self.reachable: bool | None = None
        """Whether the last poll got answers (None: not polled yet)."""
        self._online_pushes = 0
        self._fetching = False
        self._consumption_at = 0.0
        self.energy_days: dict[str, float] = dict(
            account.cache.setdefault("energy", {}).get(info.uuid, {})
        )

    # -- identity ------------------------------------------------------------------------

    def valve_ids(self) -> list[tuple[str, MerossSubdeviceInfo]]:
        """(device id, info) of the hub's valves."""
        return [
            (model.subdevice_id(self.info.uuid, sub.subdevice_id), sub)
            for sub in self.account.subdevices.get(self.info.uuid, [])
            if sub.subdevice_type.startswith("mts1")
        ]

    def descriptor(self) -> DeviceDescriptor:
        """The device for the registry (MAC, firmware, hardware version)."""
        info = self.info
        return DeviceDescriptor(
            id=info.uuid,
            name=info.name,
            manufacturer=MANUFACTURER,
            model=info.device_type.upper(),
            sw_version=info.firmware_version or None,
            hw_version=info.hardware_version or None,
            serial_number=info.uuid,
            mac=self.mac,
        )

    def valve_descriptor(self, sub: MerossSubdeviceInfo) -> DeviceDescriptor:
        """A valve, linked to its hub."""
        return DeviceDescriptor(
            id=model.subdevice_id(self.info.uuid, sub.subdevice_id),
            name=sub.name,
            manufacturer=MANUFACTURER,
            model=sub.subdevice_type.upper(),
            serial_number=sub.subdevice_id,
            via_device=self.info.uuid,
        )

    def _remember(self) -> None:
        self.account.cache["device_extra"][self.info.uuid] = {
            "mac": self.mac,
            "abilities": self.abilities,
        }
        self.account.cache["energy"][self.info.uuid] = self.energy_days
        self.account.async_save_cache()

    # -- state ---------------------------------------------------------------------------

    def _attributes(self, device_id: str) -> dict[str, Attribute]:
        values = self.values.get(device_id, {})
        attributes = {key: Attribute(value, UNITS.get(key)) for key, value in values.items()}
        if self.kind == "thermostat" and device_id == self.info.uuid:
            hvac, action = model.thermostat_hvac(values)
            attributes["hvac_mode"] = Attribute(hvac)
            attributes["hvac_action"] = Attribute(action)
        elif device_id != self.info.uuid:
            hvac, action = model.valve_hvac(values)
            attributes["hvac_mode"] = Attribute(hvac)
            attributes["hvac_action"] = Attribute(action)
        return attributes

    def states(self) -> SwitchboardData:
        """Current states of the device (and its valves)."""
        states = {
            self.info.uuid: DeviceState(
                descriptor=self.descriptor(),
                available=self.available.get(self.info.uuid, self.info.online),
                attributes=self._attributes(self.info.uuid),
            )
        }
        hub_online = states[self.info.uuid].available
        for device_id, sub in self.valve_ids():
            online = bool(self.values.get(device_id, {}).get("online", True))
            states[device_id] = DeviceState(
                descriptor=self.valve_descriptor(sub),
                available=hub_online and online,
                attributes=self._attributes(device_id),
            )
        return states

    def _energy(self, days: dict[str, float]) -> None:
        """Merge daily kWh; the total is the sum of every day ever seen (never goes back)."""
        for date, kwh in days.items():
            self.energy_days[date] = max(kwh, self.energy_days.get(date, 0.0))
        values = self.values.setdefault(self.info.uuid, {})
        values["energy_today"] = round(self.energy_days.get(model.today(), 0.0), 3)
        values["energy_total"] = round(sum(self.energy_days.values()), 3)

    def _apply_system_all(self, payload: dict[str, Any]) -> None:
        data = payload.get("all") or {}
        system = data.get("system") or {}
        mac = (system.get("hardware") or {}).get("macAddress")
        if isinstance(mac, str) and mac:
            self.mac = mac.lower()
        online = (system.get("online") or {}).get("status")
        if online is not None:
            self.available[self.info.uuid] = int(online) == 1
        digest = data.get("digest") or {}
        values = self.values.setdefault(self.info.uuid, {})
        if "togglex" in digest:
            values.update(model.togglex_values(digest["togglex"]))
        thermostat = (digest.get("thermostat") or {}).get("mode")
        if thermostat:
            values.update(model.thermostat_values(thermostat[0]))

    @override
    async def async_fetch(self) -> SwitchboardData:
        """Poll the device; a device that does not answer is unavailable, not an error.

        Requests are QoS 0: one sent before the device has subscribed (a device just added to
        the account, or one reconnecting after a restart) is lost and times out. When the
        cloud reports the device online during that wait, the poll is repeated at once; while
        the device stays silent it is polled at the normal interval even though push is up.
        """
        if not self.account.mqtt.connected:
            raise DeviceConnectionError("not connected to the Meross broker")
        self._fetching = True
        try:
            for attempt in range(2):
                online_pushes = self._online_pushes
                try:
                    await self._async_poll()
                except DeviceConnectionError:
                    if not self.account.mqtt.connected:
                        raise
                    if attempt == 0 and self._online_pushes != online_pushes:
                        _LOGGER.debug("%s came online while polled; asking again", self.info.name)
                        continue
                    self._set_reachable(False)
                else:
                    self._set_reachable(True)
                break
        finally:
            self._fetching = False
        return self.states()

    def _set_reachable(self, reachable: bool) -> None:
        """Remember whether the device answers; poll a silent one at the normal interval."""
        if reachable != self.reachable:
            if reachable is False:
                _LOGGER.info("Meross device %s does not answer", self.info.name)
            elif self.reachable is False:
                _LOGGER.info("Meross device %s answers again", self.info.name)
        self.reachable = reachable
        if not reachable:
            self.available[self.info.uuid] = False
        coordinator = self.coordinator
        if coordinator is None or coordinator.burst_remaining:
            return
        coordinator.update_interval = (
            coordinator.base_interval if reachable else coordinator.polling.normal
        )

    async def _async_poll(self) -> None:
        """Poll System.All, then the model's own namespaces."""
        uuid = self.info.uuid
        if self.abilities is None:
            reply = await self.account.async_request(uuid, "GET", Namespace.SYSTEM_ABILITY)
            self.abilities = dict(reply.get("ability") or {})
            self.kind = model.kind_of(self.abilities, self.info.device_type)
            self._remember()
        self._apply_system_all(await self.account.async_request(uuid, "GET", Namespace.SYSTEM_ALL))
        abilities = self.abilities
        if Namespace.CONTROL_ELECTRICITY in abilities:
            reply = await self.account.async_request(
                uuid, "GET", Namespace.CONTROL_ELECTRICITY, {"channel": 0}
            )
            self.values[uuid].update(model.electricity_values(reply))
        if Namespace.CONTROL_CONSUMPTIONX in abilities and (
            time.monotonic() - self._consumption_at > CONSUMPTION_EVERY_SECONDS
            or "energy_total" not in self.values[uuid]
        ):
            reply = await self.account.async_request(
                uuid, "GET", Namespace.CONTROL_CONSUMPTIONX, {"channel": 0}
            )
            self._consumption_at = time.monotonic()
            self._energy(model.consumption_days(reply))
            self._remember()
        if self.kind == "hub":
            reply = await self.account.async_request(
                uuid, "GET", Namespace.HUB_MTS100_ALL, {"all": []}
            )
            self._apply_valves(reply.get("all"))
            if Namespace.HUB_BATTERY in abilities:
                reply = await self.account.async_request(
                    uuid, "GET", Namespace.HUB_BATTERY, {"battery": []}
                )
                self._apply_valves(reply.get("battery"))

    def _apply_valves(self, items: Any) -> None:
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and "id" in item:
                device_id = model.subdevice_id(self.info.uuid, str(item["id"]))
                self.values.setdefault(device_id, {}).update(model.valve_values(item))

    # -- push ----------------------------------------------------------------------------

    @callback
    def async_handle_push(self, namespace: str, payload: dict[str, Any]) -> None:
        """Merge a PUSH into the state and hand it to the coordinator."""
        coordinator = self.coordinator
        if coordinator is None:
            return
        uuid = self.info.uuid
        values = self.values.setdefault(uuid, {})
        if namespace == Namespace.CONTROL_TOGGLEX:
            values.update(model.togglex_values(payload.get("togglex")))
        elif namespace == Namespace.CONTROL_ELECTRICITY:
            values.update(model.electricity_values(payload))
        elif namespace == Namespace.THERMOSTAT_MODE:
            for item in payload.get("mode") or []:
                if isinstance(item, dict) and int(item.get("channel", 0)) == 0:
                    values.update(model.thermostat_values(item))
        elif namespace == Namespace.SYSTEM_ONLINE:
            status = (payload.get("online") or {}).get("status")
            if status is not None:
                self.available[uuid] = int(status) == 1
                if self.available[uuid]:
                    self._online_pushes += 1
                    if self.reachable is False and not self._fetching:
                        # It missed our last poll; catch up now rather than in 30 s.
                        self.account.entry.async_create_background_task(
                            self.account.hass,
                            coordinator.async_request_refresh(),
                            f"meross catch-up {uuid}",
                        )
        elif namespace in (
            Namespace.HUB_MTS100_ALL,
            Namespace.HUB_MTS100_MODE,
            Namespace.HUB_MTS100_TEMPERATURE,
            Namespace.HUB_TOGGLEX,
            Namespace.HUB_ONLINE,
            Namespace.HUB_BATTERY,
        ):
            key = namespace.rsplit(".", 1)[-1]
            key = {"All": "all", "ToggleX": "togglex"}.get(key, key.lower())
            self._apply_valves(payload.get(key))
        else:
            return
        coordinator.async_push_devices(self.states())

    # -- commands ------------------------------------------------------------------------

    @override
    def actions(self, device_id: str) -> Mapping[str, ActionSpec]:
        """turn_on/turn_off per channel; set_temperature/set_hvac_mode for thermostats."""
        if device_id == self.info.uuid and self.kind == "toggle":
            channels = probatio.All(
                strict_int,
                probatio.Range(min=0, max=max(len(self.info.channel_names) - 1, 0)),
            )
            schema = probatio.Schema({probatio.Optional("channel", default=0): channels})
            return {
                "turn_on": ActionSpec(
                    name="turn_on", schema=schema, description="SET ToggleX onoff 1 on a channel."
                ),
                "turn_off": ActionSpec(
                    name="turn_off", schema=schema, description="SET ToggleX onoff 0 on a channel."
                ),
            }
        if (device_id == self.info.uuid and self.kind == "thermostat") or (
            device_id != self.info.uuid and device_id in dict(self.valve_ids())
        ):
            values = self.values.get(device_id, {})
            low = float(values.get("min_temperature", 5.0))
            high = float(values.get("max_temperature", 35.0))
            modes = [HVACMode.OFF, HVACMode.HEAT, HVACMode.AUTO]
            if device_id == self.info.uuid:
                modes.append(HVACMode.COOL)
            return {
                "set_temperature": ActionSpec(
                    name="set_temperature",
                    schema=probatio.Schema(
                        {
                            probatio.Required("temperature"): probatio.All(
                                finite_float, probatio.Range(min=low, max=high)
                            )
                        }
                    ),
                    description="Set the target temperature (°C) of the current mode.",
                ),
                "set_hvac_mode": ActionSpec(
                    name="set_hvac_mode",
                    schema=probatio.Schema(
                        {probatio.Required("hvac_mode"): probatio.In([str(m) for m in modes])}
                    ),
                    description="Switch off, or to heat / cool / auto.",
                ),
            }
        return {}

    @override
    async def async_execute(
        self, device_id: str, action: str, args: Mapping[str, Any]
    ) -> SwitchboardData | None:
        """Send the SET; apply what the device acknowledged."""
        uuid = self.info.uuid
        values = self.values.setdefault(device_id, {})
        if device_id == uuid and self.kind == "toggle":
            channel = int(args.get("channel", 0))
            on = action == "turn_on"
            request = model.toggle_request(channel, on)
            await self.account.async_request(
                uuid, request.method, request.namespace, request.payload
            )
            if channel == 0 and len(self.info.channel_names) > 1:
                for key in list(values):
                    if key.startswith("channel_") and key.endswith("_on"):
                        values[key] = on
            values[f"channel_{channel}_on"] = on
            if channel != 0 and len(self.info.channel_names) > 1:
                # Channel 0 is the master: on while any outlet is (the device pushes it too).
                values["channel_0_on"] = any(
                    value
                    for key, value in values.items()
                    if key.startswith("channel_") and key.endswith("_on") and key != "channel_0_on"
                )
            return self.states()
        if device_id == uuid:
            if action == "set_hvac_mode":
                request = model.thermostat_mode_request(str(args["hvac_mode"]))
            else:
                request = model.thermostat_temperature_request(
                    values.get("mode"), float(args["temperature"])
                )
            reply = await self.account.async_request(
                uuid, request.method, request.namespace, request.payload
            )
            items = reply.get("mode") or []
            if items:
                values.update(model.thermostat_values(items[0]))
                return self.states()
            return None
        sub_id = device_id.rsplit("-", 1)[-1].upper()
        for request in model.valve_requests(sub_id, action, dict(args), values.get("mode")):
            await self.account.async_request(
                uuid, request.method, request.namespace, request.payload
            )
        return None


class MerossRuntime(FamilyRuntime):
    """One Meross account: its coordinators and how its devices look as entities."""

    def __init__(self, family: MerossFamily, hass: HomeAssistant, entry: ConfigEntry) -> None:
        """Build the account's clients (nothing connects yet)."""
        super().__init__(family)
        self.account = MerossAccount(hass, entry)
        self._sync_lock = asyncio.Lock()

    @override
    def describe(self, state: DeviceState) -> Iterable[SwitchboardEntityDescription]:
        """Switches per channel, meter sensors, climate entities, account diagnostics."""
        keys = state.attributes
        if "request_rate" in keys:
            yield SwitchboardSensorDescription(
                key="request_rate",
                translation_key="meross_request_rate",
                attribute="request_rate",
                state_class=SensorStateClass.MEASUREMENT,
                native_unit_of_measurement=UNITS["request_rate"],
                entity_category=EntityCategory.DIAGNOSTIC,
            )
            yield SwitchboardBinarySensorDescription(
                key="push_connected",
                translation_key="meross_push_connected",
                attribute="push_connected",
                device_class=None,
                entity_category=EntityCategory.DIAGNOSTIC,
            )
            return
        channels = sorted(
            int(key.split("_")[1])
            for key in keys
            if key.startswith("channel_") and key.endswith("_on")
        )
        for channel in channels:
            if len(channels) == 1:
                yield SwitchboardSwitchDescription(
                    key=f"channel_{channel}",
                    name=None,
                    attribute=f"channel_{channel}_on",
                    turn_on=ActionCall("turn_on", {"channel": channel}),
                    turn_off=ActionCall("turn_off", {"channel": channel}),
                )
            else:
                yield SwitchboardSwitchDescription(
                    key=f"channel_{channel}",
                    translation_key="meross_master" if channel == 0 else "meross_channel",
                    translation_placeholders={"channel": str(channel)},
                    attribute=f"channel_{channel}_on",
                    turn_on=ActionCall("turn_on", {"channel": channel}),
                    turn_off=ActionCall("turn_off", {"channel": channel}),
                )
        for key, device_class, precision in (
            ("power", SensorDeviceClass.POWER, 1),
            ("voltage", SensorDeviceClass.VOLTAGE, 1),
            ("current", SensorDeviceClass.CURRENT, 2),
        ):
            if key in keys:
                yield SwitchboardSensorDescription(
                    key=key,
                    attribute=key,
                    device_class=device_class,
                    state_class=SensorStateClass.MEASUREMENT,
                    native_unit_of_measurement=UNITS[key],
                    suggested_display_precision=precision,
                )
        if "energy_today" in keys:
            yield SwitchboardSensorDescription(
                key="energy_today",
                translation_key="meross_energy_today",
                attribute="energy_today",
                device_class=SensorDeviceClass.ENERGY,
                state_class=SensorStateClass.TOTAL_INCREASING,
                native_unit_of_measurement=UNITS["energy_today"],
                suggested_display_precision=3,
            )
        if "energy_total" in keys:
            yield SwitchboardSensorDescription(
                key="energy_total",
                translation_key="meross_energy_total",
                attribute="energy_total",
                device_class=SensorDeviceClass.ENERGY,
                state_class=SensorStateClass.TOTAL_INCREASING,
                native_unit_of_measurement=UNITS["energy_total"],
                suggested_display_precision=3,
            )
        if "hvac_mode" in keys:
            valve = state.descriptor.via_device is not None
            modes = (HVACMode.OFF, HVACMode.HEAT, HVACMode.AUTO) + (
                () if valve else (HVACMode.COOL,)
            )
            yield SwitchboardClimateDescription(
                key="thermostat",
                name=None,
                attribute="hvac_mode",
                current_temperature_attribute="current_temperature",
                target_temperature_attribute="target_temperature",
                hvac_action_attribute="hvac_action",
                hvac_modes=modes,
                min_temp=_number(state.value("min_temperature"), 5.0),
                max_temp=_number(state.value("max_temperature"), 35.0),
                target_temperature_step=0.5,
                set_temperature=ActionCall("set_temperature"),
                set_hvac_mode=ActionCall("set_hvac_mode"),
            )
        if "battery" in keys:
            yield SwitchboardSensorDescription(
                key="battery",
                attribute="battery",
                device_class=SensorDeviceClass.BATTERY,
                state_class=SensorStateClass.MEASUREMENT,
                native_unit_of_measurement=PERCENTAGE,
                entity_category=EntityCategory.DIAGNOSTIC,
            )

    @override
    def diagnostics(self) -> dict[str, Any]:
        """MQTT state, request rate, cached device list and the last messages per device."""
        account = self.account
        return {
            "mqtt": {
                "host": account.mqtt.host,
                "port": account.mqtt.port,
                "connected": account.mqtt.connected,
                "connect_count": account.mqtt.connect_count,
                "last_error": account.mqtt.last_error,
                "dropped_messages": account.mqtt.dropped_messages,
                "task_failures": account.mqtt.task_failures,
                "pushes": account.pushes,
            },
            "push_enabled": account.push_enabled,
            "request_rate": account.limiter.requests_per_minute,
            "devices": [info.raw for info in account.devices.values()],
            "trace": {uuid: list(trace) for uuid, trace in account.traces.items()},
        }

    @override
    async def async_shutdown(self) -> None:
        """Stop polling, close the MQTT connection and the limiter, save the cache."""
        await super().async_shutdown()
        await self.account.mqtt.async_stop()
        self.account.limiter.close()
        await self.account.store.async_save(self.account.cache)

    # -- devices coming and going --------------------------------------------------------

    async def async_add_device(self, info: MerossDeviceInfo, family: MerossFamily) -> None:
        """Create the coordinator of a device and refresh it once."""
        account = self.account
        source = MerossDeviceSource(account, info)
        coordinator = SwitchboardCoordinator(
            account.hass,
            account.entry,
            source=source,
            polling=family.polling.with_options(account.entry.options),
            name=f"Meross {info.name}",
        )
        source.coordinator = coordinator
        account.sources[info.uuid] = source
        if account.push_enabled and account.mqtt.connected:
            coordinator.async_set_push_healthy(True)
        await coordinator.async_refresh()
        self.async_add_coordinator(info.uuid, coordinator)

    async def async_remove_device(self, uuid: str) -> None:
        """Forget a device that left the account: its entities go, the device turns stale."""
        coordinator = self.coordinators.pop(uuid, None)
        self.account.sources.pop(uuid, None)
        if coordinator is None:
            return
        for device_id in list(coordinator.data or {}):
            coordinator.async_remove_device(device_id)
        await coordinator.async_shutdown()

    async def async_sync_devices(self, family: MerossFamily) -> None:
        """Refresh the device list from the cloud; add new devices, drop departed ones."""
        async with self._sync_lock:
            await self._async_sync_devices(family)

    async def _async_sync_devices(self, family: MerossFamily) -> None:
        account = self.account
        try:
            await account.async_fetch_device_list()
        except MerossTokenExpiredError:
            account.entry.async_start_reauth(account.hass)
            return
        except MerossError as err:
            _LOGGER.debug("Meross device list refresh failed: %s", err)
            return
        for uuid in [uuid for uuid in account.sources if uuid not in account.devices]:
            await self.async_remove_device(uuid)
        added = [info for uuid, info in account.devices.items() if uuid not in account.sources]
        # Together: a new device that does not answer yet must not hold up the others.
        await asyncio.gather(*(self.async_add_device(info, family) for info in added))
        for uuid, info in account.devices.items():
            source = account.sources[uuid]
            if source.info is not info:
                source.info = info
                if source.coordinator is not None and source.coordinator.data is not None:
                    source.coordinator.async_push_devices(source.states())


class MerossFamily(Family):
    """Meross plugs, strips, thermostats and hubs of one cloud account."""

    key = FAMILY_KEY
    polling = PollingSettings(
        normal=timedelta(seconds=30),
        burst=timedelta(seconds=2),
        burst_cycles=3,
        push=timedelta(minutes=10),
    )
    redact = frozenset(
        {
            "email",
            "user_id",
            "userid",
            "userId",
            "key",
            "token",
            "mac",
            "macAddress",
            "wifiMac",
            "innerIp",
            "server",
            "bindId",
            CONF_CREDENTIALS,
            "uuid",
        }
    )

    @override
    async def async_setup(self, hass: HomeAssistant) -> None:
        """Register the raw request service."""
        async_setup_services(hass)

    @override
    async def async_setup_entry(self, hass: HomeAssistant, entry: ConfigEntry) -> FamilyRuntime:
        """Start from the cached device list when there is one, else read it from the cloud."""
        if (email := entry.data.get(CONF_EMAIL)) and entry.title == email:
            # Entries made before titles were masked: Home Assistant logs titles.
            hass.config_entries.async_update_entry(entry, title=account_title(email))
        runtime = MerossRuntime(self, hass, entry)
        account = runtime.account
        cached = await account.async_load_cache()
        if not cached:
            try:
                await account.async_fetch_device_list()
            except MerossTokenExpiredError as err:
                raise ConfigEntryAuthFailed(
                    translation_domain=DOMAIN, translation_key="auth_failed"
                ) from err
            except MerossError as err:
                raise ConfigEntryNotReady(
                    translation_domain=DOMAIN,
                    translation_key="cannot_connect",
                    translation_placeholders={"error": str(err)},
                ) from err
        await account.mqtt.async_start(
            lambda coro: entry.async_create_background_task(hass, coro, "meross mqtt")
        )
        if not await account.mqtt.async_wait_connected(MQTT_CONNECT_WAIT):
            _LOGGER.warning(
                "Meross broker %s not reachable yet (%s); retrying in the background",
                account.mqtt.host,
                account.mqtt.last_error,
            )
        account_coordinator = account.account_coordinator
        await account_coordinator.async_config_entry_first_refresh()
        runtime.async_add_coordinator(account.account_id, account_coordinator)
        await asyncio.gather(
            *(runtime.async_add_device(info, self) for info in account.devices.values())
        )
        if cached:
            entry.async_create_background_task(
                hass, runtime.async_sync_devices(self), "meross device list"
            )

        async def _periodic(_now: Any) -> None:
            await runtime.async_sync_devices(self)

        entry.async_on_unload(
            async_track_time_interval(
                hass, _periodic, timedelta(seconds=DEVICE_LIST_REFRESH_SECONDS)
            )
        )
        return runtime

    @override
    def options_schema(self, entry: ConfigEntry) -> Mapping[probatio.Marker, Any]:
        """Push on/off, the push event, and the request limit."""
        return {
            probatio.Required(CONF_PUSH, default=entry.options.get(CONF_PUSH, True)): cv.boolean,
            probatio.Required(
                CONF_PUSH_EVENTS, default=entry.options.get(CONF_PUSH_EVENTS, False)
            ): cv.boolean,
            probatio.Required(
                CONF_MAX_REQUESTS,
                default=entry.options.get(CONF_MAX_REQUESTS, DEFAULT_MAX_REQUESTS),
            ): probatio.All(probatio.Coerce(int), probatio.Range(min=5, max=600)),
        }
