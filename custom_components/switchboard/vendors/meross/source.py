"""The Meross device sources: the account's shared parts and one source per device.

Facts: ``docs/protocols/meross.md``. :class:`MerossAccount` holds the cloud API client, the
account's MQTT connection (requests and pushes for every device), the request limiter, the
cached device list and the message traces. :class:`MerossDeviceSource` polls one device (a hub
with its valves), applies its pushes and runs its allow-listed actions (``actions.py``);
:class:`MerossAccountSource` feeds the account's diagnostic device.
"""

from collections import deque
from collections.abc import Mapping
import contextlib
from dataclasses import asdict
from datetime import timedelta
import json
import logging
import ssl
import time
from typing import Any, Final, override

from homeassistant.components.climate import HVACMode
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import (
    PERCENTAGE,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfPower,
    UnitOfTemperature,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
from homeassistant.util.ssl import get_default_context, get_default_no_verify_context

from ...const import DOMAIN
from ...coordinator import (
    DeviceSource,
    PollingSettings,
    SwitchboardCoordinator,
    SwitchboardData,
)
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
    SwitchboardError,
)
from ...repairs import (
    ISSUE_MEROSS_RATE_LIMITED,
    PushChannelWatch,
    async_delete_issue,
    async_raise_meross_rate_issue,
)
from . import device as model
from .actions import CAPTURE_ACTIONS, thermostat_actions, toggle_actions
from .brokers import BrokerAddress, MerossBrokers, device_broker
from .capture import CaptureSecrets, async_capture
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
    RequestPriority,
)
from .const import (
    BUTTON_CAPTURE_SECONDS,
    CONF_API_BASE_URL,
    CONF_CREDENTIALS,
    CONF_EMAIL,
    CONF_MAX_REQUESTS,
    CONF_PUSH,
    CONF_PUSH_EVENTS,
    CONF_VERIFY_SSL,
    CONSUMPTION_EVERY_SECONDS,
    DEFAULT_MAX_REQUESTS,
    EVENT_PUSH,
    LIMITER_BURST,
    MANUFACTURER,
    TRACE_LENGTH,
)

_LOGGER = logging.getLogger(__name__)

STORE_VERSION: Final = 1
STORE_SAVE_DELAY: Final = 30
MQTT_CONNECT_WAIT: Final = 10.0
REQUEST_TIMEOUT: Final = 10.0
MULTIPLE_REPLY_BUDGET: Final = 1500
"""Bytes of replies one ``Appliance.Control.Multiple`` poll may ask for at most.

Devices truncate long replies (2 to 4 kB by model, docs/protocols/meross.md §4), so a poll
batches only namespaces whose replies, as last measured on this device, add up to less than
the shortest of them (with ``MULTIPLE_ITEM_BYTES`` per item for its header); a namespace not
measured yet is asked alone.
"""
MULTIPLE_ITEM_BYTES: Final = 300
"""Bytes a reply item's header adds to its payload in an ``Appliance.Control.Multiple`` reply."""

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


def map_error(err: MerossError) -> SwitchboardError:
    """Turn a client error into the model error the coordinator maps to Home Assistant's.

    Token expired -> ``DeviceAuthError``; rate limit -> ``DeviceRateLimitError`` (60 s);
    a device's error reply -> ``CommandRejectedError``; connection or timeout ->
    ``DeviceConnectionError``; anything else -> ``DeviceResponseError``.
    """
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
        self.push_watch = PushChannelWatch(hass, entry, "The Meross MQTT connection")
        """Raises the ``push_down`` repair issue while push is on but the broker unreachable."""
        self.push_events: bool = entry.options.get(CONF_PUSH_EVENTS, False)
        self.verify_ssl = bool(entry.data.get(CONF_VERIFY_SSL, True))
        """Whether the broker's certificate is verified (the default; see the config flow)."""
        context: ssl.SSLContext = (
            get_default_context() if self.verify_ssl else get_default_no_verify_context()
        )
        self.ssl_context = context
        """TLS context of every broker connection (and of traffic captures)."""
        self.default_broker: BrokerAddress = (
            self.credentials.mqtt_host,
            self.credentials.mqtt_port,
        )
        """The account's ``mqttDomain``: the broker of devices whose list item names none."""
        self.brokers = MerossBrokers(
            self._new_mqtt_client,
            lambda coro: entry.async_create_background_task(hass, coro, "meross mqtt"),
        )
        """One MQTT connection per broker of the account's devices (``brokers.py``)."""
        self.captures: dict[str, dict[str, Any]] = {}
        """The last traffic capture per device uuid (shown in the device's diagnostics)."""
        self._capturing: set[str] = set()
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

    def _new_mqtt_client(self, address: BrokerAddress) -> MerossMqttClient:
        """A connection to one broker: app credentials, the account's limiter and callbacks."""

        @callback
        def on_connection_change(connected: bool) -> None:
            self._on_connection_change(address, connected)

        return MerossMqttClient(
            host=address[0],
            port=address[1],
            user_id=self.credentials.user_id,
            key=self.credentials.key,
            ssl_context=self.ssl_context,
            limiter=self.limiter,
            on_push=self._on_push,
            on_connection_change=on_connection_change,
            on_trace=self._on_trace,
        )

    async def async_place(self, info: MerossDeviceInfo) -> bool:
        """Put a device on the broker its list item names; return whether it moved there."""
        address = device_broker(info, self.default_broker)
        return await self.brokers.async_assign(info.uuid, address) is not None

    @property
    def secrets(self) -> CaptureSecrets:
        """What a capture or a registry dump must never contain."""
        credentials = self.credentials
        return CaptureSecrets(
            user_id=credentials.user_id,
            key=credentials.key,
            token=credentials.token,
            email=credentials.email or str(self.entry.data.get(CONF_EMAIL, "")),
        )

    def capturing(self, uuid: str) -> bool:
        """Whether a traffic capture of device ``uuid`` is running."""
        return uuid in self._capturing

    def begin_capture(self, uuid: str) -> None:
        """Mark a capture of device ``uuid`` as running.

        Raises CommandRejectedError (``meross_capture_running``) when one already runs.
        """
        if uuid in self._capturing:
            raise CommandRejectedError(
                f"a capture of {uuid} is running",
                translation_key="meross_capture_running",
            )
        self._capturing.add(uuid)

    async def async_capture(
        self, uuid: str, name: str, duration: float, *, begun: bool = False
    ) -> dict[str, Any]:
        """Record device ``uuid``'s traffic on its broker for ``duration`` s (``capture.py``).

        Returns the redacted capture (also kept for the device's diagnostics) with
        ``device`` (``name``) and ``started`` (ISO time). Raises CommandRejectedError
        (``meross_capture_running``) while a capture of the device runs (unless ``begun``:
        the caller called ``begin_capture``), and DeviceConnectionError
        (``meross_capture_failed``) when the broker cannot be reached.
        """
        if not begun:
            self.begin_capture(uuid)
        host, port = self.brokers.address(uuid) or self.default_broker
        started = dt_util.utcnow().isoformat()
        try:
            capture = await async_capture(
                host=host,
                port=port,
                uuid=uuid,
                secrets=self.secrets,
                duration=duration,
                ssl_context=self.ssl_context,
            )
        except MerossError as err:
            raise DeviceConnectionError(str(err), translation_key="meross_capture_failed") from err
        finally:
            self._capturing.discard(uuid)
        result = {"device": name, "started": started, **capture}
        self.captures[uuid] = result
        return result

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
        """Read the device list (and hubs' sub-devices) from the cloud into the cache.

        A rate-limit refusal raises the ``meross_rate_limited`` repair issue (and is raised
        on); the next successful read clears it.
        """
        try:
            devices = await self.cloud.async_list_devices()
            subdevices: dict[str, list[MerossSubdeviceInfo]] = {}
            for info in devices:
                if model.kind_of(None, info.device_type) == "hub":
                    subdevices[info.uuid] = await self.cloud.async_list_subdevices(info.uuid)
        except MerossRateLimitError as err:
            async_raise_meross_rate_issue(self.hass, self.entry, err.code)
            raise
        async_delete_issue(self.hass, ISSUE_MEROSS_RATE_LIMITED, self.entry)
        self.apply_device_list(devices, subdevices)

    def apply_device_list(
        self, devices: list[MerossDeviceInfo], subdevices: dict[str, list[MerossSubdeviceInfo]]
    ) -> None:
        """Take a device list (from the cloud or a registry dump) and cache it."""
        self._apply_device_list(devices, subdevices)
        self.cache["devices"] = [info.raw for info in devices]
        self.cache["subdevices"] = {
            hub: [sub.raw for sub in subs] for hub, subs in subdevices.items()
        }
        self.async_save_cache()

    # -- requests ------------------------------------------------------------------------

    async def async_request(
        self,
        uuid: str,
        method: str,
        namespace: str,
        payload: dict[str, Any] | None = None,
        *,
        priority: RequestPriority | None = None,
    ) -> dict[str, Any]:
        """Send a request through the limiter; raise model errors.

        ``priority``: the limiter's, by default a command for SET and a poll for GET.
        """
        try:
            return await self.brokers.async_request(
                uuid, method, namespace, payload, timeout=REQUEST_TIMEOUT, priority=priority
            )
        except MerossError as err:
            raise map_error(err) from err

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
    def _on_connection_change(self, address: BrokerAddress, connected: bool) -> None:
        """One broker went up or down: only its devices change to or from polling."""
        if self.account_coordinator.data is not None:
            self.account_coordinator.async_set_updated_data(self.account_data())
        if not self.push_enabled:
            return
        self.push_watch.async_set_connected(self.brokers.all_connected)
        for uuid in self.brokers.devices_on(address):
            source = self.sources.get(uuid)
            if source is not None:
                source.async_broker_changed(connected)

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
            "push_connected": Attribute(self.brokers.all_connected),
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
        if self.energy_days:
            # The daily consumption is polled every CONSUMPTION_EVERY_SECONDS: the days kept
            # from the last run stand until then, so a start costs no ConsumptionX request.
            self._energy({})
            self._consumption_at = time.monotonic()
        self.reply_sizes: dict[str, int] = dict(cached.get("reply_sizes") or {})
        """Bytes of the last reply payload per namespace (to batch polls, ``_poll_batches``)."""

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
            "reply_sizes": self.reply_sizes,
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
        if not self.account.brokers.connected(self.info.uuid):
            raise DeviceConnectionError("not connected to the Meross broker")
        self._fetching = True
        try:
            for attempt in range(2):
                online_pushes = self._online_pushes
                try:
                    await self._async_poll()
                except DeviceConnectionError:
                    if not self.account.brokers.connected(self.info.uuid):
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
        """Poll System.All and the model's own namespaces (batched: ``_async_get_all``)."""
        uuid = self.info.uuid
        if self.abilities is None:
            reply = await self.account.async_request(uuid, "GET", Namespace.SYSTEM_ABILITY)
            self.abilities = dict(reply.get("ability") or {})
            self.kind = model.kind_of(self.abilities, self.info.device_type)
            self._remember()
        abilities = self.abilities
        requests: list[tuple[str, dict[str, Any]]] = [(Namespace.SYSTEM_ALL, {})]
        if Namespace.CONTROL_ELECTRICITY in abilities:
            requests.append((Namespace.CONTROL_ELECTRICITY, {"channel": 0}))
        if Namespace.CONTROL_CONSUMPTIONX in abilities and (
            time.monotonic() - self._consumption_at > CONSUMPTION_EVERY_SECONDS
            or "energy_total" not in self.values.get(uuid, {})
        ):
            requests.append((Namespace.CONTROL_CONSUMPTIONX, {"channel": 0}))
        if self.kind == "hub":
            requests.append((Namespace.HUB_MTS100_ALL, {"all": []}))
            if Namespace.HUB_BATTERY in abilities:
                requests.append((Namespace.HUB_BATTERY, {"battery": []}))
        replies = await self._async_get_all(requests)
        self._apply_system_all(replies[Namespace.SYSTEM_ALL])
        if (electricity := replies.get(Namespace.CONTROL_ELECTRICITY)) is not None:
            self.values[uuid].update(model.electricity_values(electricity))
        if (consumption := replies.get(Namespace.CONTROL_CONSUMPTIONX)) is not None:
            self._consumption_at = time.monotonic()
            self._energy(model.consumption_days(consumption))
            self._remember()
        if (valves := replies.get(Namespace.HUB_MTS100_ALL)) is not None:
            self._apply_valves(valves.get("all"))
        if (battery := replies.get(Namespace.HUB_BATTERY)) is not None:
            self._apply_valves(battery.get("battery"))

    async def _async_get_all(
        self, requests: list[tuple[str, dict[str, Any]]]
    ) -> dict[str, dict[str, Any]]:
        """GET each ``(namespace, payload)``; return the reply payloads by namespace.

        Requests go in batches of ``Appliance.Control.Multiple`` where the device has it and
        the replies fit (``_poll_batches``): one request through the account's limiter instead
        of one per namespace. An item the batch did not answer is asked again on its own, so
        the device's own error for it is raised as before.
        """
        replies: dict[str, dict[str, Any]] = {}
        for batch in self._poll_batches(requests):
            if len(batch) > 1:
                replies |= await self._async_get_multiple(batch)
            for namespace, payload in batch:
                if namespace not in replies:
                    replies[namespace] = await self._async_get(namespace, payload)
        return replies

    def _poll_batches(
        self, requests: list[tuple[str, dict[str, Any]]]
    ) -> list[list[tuple[str, dict[str, Any]]]]:
        """Split ``requests`` into consecutive batches for ``Appliance.Control.Multiple``.

        A batch holds at most the device's ``maxCmdNum`` requests whose last measured replies
        (plus ``MULTIPLE_ITEM_BYTES`` each) add up to at most ``MULTIPLE_REPLY_BUDGET``; a
        namespace not measured yet, or every namespace of a device without the ability, is
        a batch of its own.
        """
        ability = (self.abilities or {}).get(Namespace.CONTROL_MULTIPLE)
        limit = 0
        if isinstance(ability, dict):
            with contextlib.suppress(TypeError, ValueError):
                limit = int(ability.get("maxCmdNum", 0))
        batches: list[list[tuple[str, dict[str, Any]]]] = []
        size = MULTIPLE_REPLY_BUDGET + 1
        for request in requests:
            known = self.reply_sizes.get(request[0])
            cost = MULTIPLE_REPLY_BUDGET + 1 if known is None else known + MULTIPLE_ITEM_BYTES
            if batches and len(batches[-1]) < limit and size + cost <= MULTIPLE_REPLY_BUDGET:
                batches[-1].append(request)
                size += cost
            else:
                batches.append([request])
                size = cost
        return batches

    async def _async_get(self, namespace: str, payload: dict[str, Any]) -> dict[str, Any]:
        """One GET; the reply's size is remembered for ``_poll_batches``."""
        reply = await self.account.async_request(self.info.uuid, "GET", namespace, payload)
        self._measure(namespace, reply)
        return reply

    async def _async_get_multiple(
        self, batch: list[tuple[str, dict[str, Any]]]
    ) -> dict[str, dict[str, Any]]:
        """GET the namespaces of ``batch`` in one ``Appliance.Control.Multiple`` (a poll).

        Returns the payloads of the items answered with GETACK, by namespace.
        """
        uuid = self.info.uuid
        client = self.account.brokers.client(uuid)
        if client is None:
            raise DeviceConnectionError("not connected to the Meross broker")
        items = [client.envelope(uuid, "GET", namespace, payload) for namespace, payload in batch]
        reply = await self.account.async_request(
            uuid,
            "SET",
            Namespace.CONTROL_MULTIPLE,
            {"multiple": items},
            priority=RequestPriority.POLL,
        )
        wanted = {namespace for namespace, _ in batch}
        replies: dict[str, dict[str, Any]] = {}
        for item in reply.get("multiple") or []:
            header = item.get("header") if isinstance(item, dict) else None
            payload = item.get("payload") if isinstance(item, dict) else None
            if not isinstance(header, dict) or not isinstance(payload, dict):
                continue
            namespace = header.get("namespace")
            if header.get("method") == "GETACK" and namespace in wanted:
                replies[namespace] = payload
                self._measure(namespace, payload)
        return replies

    def _measure(self, namespace: str, reply: dict[str, Any]) -> None:
        """Remember the size of a reply payload (compact JSON, bytes)."""
        size = len(json.dumps(reply, separators=(",", ":")).encode())
        if self.reply_sizes.get(namespace) != size:
            first = namespace not in self.reply_sizes
            self.reply_sizes[namespace] = size
            if first:
                self._remember()

    def _apply_valves(self, items: Any) -> None:
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and "id" in item:
                device_id = model.subdevice_id(self.info.uuid, str(item["id"]))
                self.values.setdefault(device_id, {}).update(model.valve_values(item))

    @callback
    def async_start_capture(self, duration: float) -> None:
        """Start a traffic capture in the background (the button).

        The result is kept for the device's diagnostics. Raises CommandRejectedError
        (``meross_capture_running``) while one runs.
        """
        account = self.account
        account.begin_capture(self.info.uuid)

        async def _capture() -> None:
            try:
                await account.async_capture(self.info.uuid, self.info.name, duration, begun=True)
            except SwitchboardError as err:
                _LOGGER.warning("Traffic capture of %s failed: %s", self.info.name, err)

        account.entry.async_create_background_task(
            account.hass, _capture(), f"meross capture {self.info.uuid}"
        )

    @callback
    def async_broker_changed(self, connected: bool) -> None:
        """The device's broker connection went up or down (or the device moved to another).

        Down: the coordinator falls back to polling (which finds no connection and marks the
        device unavailable). Up: push is healthy again and one poll catches up on what happened
        meanwhile.
        """
        coordinator = self.coordinator
        if coordinator is None:
            return
        coordinator.async_set_push_healthy(connected)
        if connected and self.account.entry.state.recoverable:
            self.account.entry.async_create_background_task(
                self.account.hass,
                coordinator.async_request_refresh(),
                f"meross refresh {self.info.uuid}",
            )

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
        """Toggles per channel; temperature, HVAC mode and preset of thermostats and valves.

        ``capture_traffic`` (the button) on every device itself, not on a hub's valves.
        """
        if device_id == self.info.uuid and self.kind == "toggle":
            return {**toggle_actions(len(self.info.channel_names)), **CAPTURE_ACTIONS}
        if (device_id == self.info.uuid and self.kind == "thermostat") or (
            device_id != self.info.uuid and device_id in dict(self.valve_ids())
        ):
            values = self.values.get(device_id, {})
            modes = [HVACMode.OFF, HVACMode.HEAT, HVACMode.AUTO]
            presets = model.MTS100_PRESETS
            if device_id == self.info.uuid:
                modes.append(HVACMode.COOL)
                presets = model.MTS200_PRESETS
            actions = thermostat_actions(
                float(values.get("min_temperature", 5.0)),
                float(values.get("max_temperature", 35.0)),
                modes,
                list(presets.values()),
            )
            return {**actions, **CAPTURE_ACTIONS} if device_id == self.info.uuid else actions
        return dict(CAPTURE_ACTIONS) if device_id == self.info.uuid else {}

    @override
    async def async_execute(
        self, device_id: str, action: str, args: Mapping[str, Any]
    ) -> SwitchboardData | None:
        """Send the SET; apply what the device acknowledged.

        A SET that gets no SETACK within the request timeout raises ``DeviceConnectionError``
        and polls the device at once: it may have switched all the same (only the
        acknowledgement was lost), and while push is up the next poll is 10 minutes away, so
        the entity would show the old state until then.
        """
        try:
            return await self._async_execute(device_id, action, args)
        except DeviceConnectionError as err:
            coordinator = self.coordinator
            if isinstance(err.__cause__, MerossTimeoutError) and coordinator is not None:
                _LOGGER.debug("%s: no acknowledgement of %s; polling it", self.info.name, action)
                self.account.entry.async_create_background_task(
                    self.account.hass,
                    coordinator.async_request_refresh(),
                    f"meross {self.info.uuid} poll after a command timeout",
                )
            raise

    async def _async_execute(
        self, device_id: str, action: str, args: Mapping[str, Any]
    ) -> SwitchboardData | None:
        uuid = self.info.uuid
        if action == "capture_traffic":
            self.async_start_capture(BUTTON_CAPTURE_SECONDS)
            return self.states()
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
            elif action == "set_preset_mode":
                request = model.thermostat_preset_request(str(args["preset_mode"]))
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
        requests = (
            model.valve_preset_requests(sub_id, str(args["preset_mode"]))
            if action == "set_preset_mode"
            else model.valve_requests(sub_id, action, dict(args), values.get("mode"))
        )
        for request in requests:
            await self.account.async_request(
                uuid, request.method, request.namespace, request.payload
            )
        return None
