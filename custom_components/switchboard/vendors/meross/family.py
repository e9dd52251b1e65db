"""The Meross family: one config entry per Meross account, push over the devices' MQTT brokers.

Facts: ``docs/protocols/meross.md``. The device list comes from the cloud HTTP API and is
cached in a Store, so a restart sets up from the cache and refreshes the list in the background.
Every device (a hub with its valves) has its own coordinator. Each device-list item names the
broker its device is on (``domain``); one MQTT connection per distinct broker (TLS, app
credentials, ``brokers.py``) carries requests and pushes for the devices on it, with its own
health: a broker that drops sends only its devices back to polling, and a device whose
``domain`` changes moves to the right connection at the next device-list refresh. While its
connection is up a device's coordinator only polls as a slow safety net; pushes reach it
through ``async_push``. All requests of the account go through one limiter that keeps it under
the cloud's limits and lets commands jump ahead of polls; an account device shows the rate.
"""

import asyncio
from collections.abc import Iterable, Mapping
from datetime import timedelta
import logging
from typing import Any, cast, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
)
import probatio

from ...coordinator import (
    PollingSettings,
    SwitchboardCoordinator,
    setup_error,
)
from ...descriptions import (
    SwitchboardEntityDescription,
)
from ...entity import async_remove_stale_devices
from ...family import Family, FamilyRuntime
from ...model import (
    DeviceState,
)
from .brokers import broker_name
from .client import (
    MerossDeviceInfo,
    MerossError,
    MerossSubdeviceInfo,
    MerossTokenExpiredError,
    account_title,
)
from .const import (
    CONF_CREDENTIALS,
    CONF_EMAIL,
    CONF_MAX_REQUESTS,
    CONF_PUSH,
    CONF_PUSH_EVENTS,
    DEFAULT_MAX_REQUESTS,
    DEVICE_LIST_REFRESH_SECONDS,
    FAMILY_KEY,
)
from .entities import describe_device
from .registry import dump_registry
from .services import async_setup_services
from .source import MQTT_CONNECT_WAIT, MerossAccount, MerossDeviceSource, map_error

_LOGGER = logging.getLogger(__name__)


class MerossRuntime(FamilyRuntime):
    """One Meross account: its coordinators and how its devices look as entities."""

    def __init__(self, family: MerossFamily, hass: HomeAssistant, entry: ConfigEntry) -> None:
        """Build the account's clients (nothing connects yet)."""
        super().__init__(family)
        self.account = MerossAccount(hass, entry)
        self._sync_lock = asyncio.Lock()

    @override
    def describe(self, state: DeviceState) -> Iterable[SwitchboardEntityDescription]:
        """The entities of ``entities.py`` this device has."""
        return describe_device(state)

    @override
    def diagnostics(self) -> dict[str, Any]:
        """MQTT state, request rate, cached device list and the last messages per device."""
        account = self.account
        return {
            "mqtt": {
                "default_broker": broker_name(account.default_broker),
                "connections": account.brokers.diagnostics(),
                "device_moves": account.brokers.moves,
                "pushes": account.pushes,
                # Off only when the user turned it off (Advanced: a test broker).
                "tls_certificate_verified": account.verify_ssl,
            },
            "push_enabled": account.push_enabled,
            "request_rate": account.limiter.requests_per_minute,
            "devices": [info.raw for info in account.devices.values()],
            "trace": {uuid: list(trace) for uuid, trace in account.traces.items()},
        }

    @override
    def device_diagnostics(self, device_id: str) -> dict[str, Any]:
        """The device's last traffic capture (button or service), ``None`` before the first."""
        return {"traffic_capture": self.account.captures.get(device_id)}

    @override
    async def async_shutdown(self) -> None:
        """Stop polling, close the MQTT connection and the limiter, save the cache."""
        await super().async_shutdown()
        self.account.push_watch.async_stop()
        await self.account.brokers.async_stop()
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
            name=f"{info.name} (Meross)",
        )
        account.sources[info.uuid] = source
        await account.async_place(info)
        if account.push_enabled and account.brokers.connected(info.uuid):
            coordinator.async_set_push_healthy(True)
        await coordinator.async_refresh()
        self.async_add_coordinator(info.uuid, coordinator)

    async def async_remove_device(self, uuid: str) -> None:
        """Stop following a device that left the account: its coordinator and entities go.

        Its device registry entry goes in :meth:`_async_apply_device_list`.
        """
        coordinator = self.coordinators.pop(uuid, None)
        self.account.sources.pop(uuid, None)
        await self.account.brokers.async_remove(uuid)
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
        await self._async_apply_device_list(family)

    async def _async_apply_device_list(self, family: MerossFamily) -> dict[str, list[str]]:
        """Make the coordinators follow ``account.devices``: add, remove, move, rename.

        Returns the names of the devices ``added``, ``removed`` and ``moved`` (to another
        broker).
        """
        account = self.account
        removed = [
            source.info.name
            for uuid, source in account.sources.items()
            if uuid not in account.devices
        ]
        for uuid in [uuid for uuid in account.sources if uuid not in account.devices]:
            await self.async_remove_device(uuid)
        added = [info for uuid, info in account.devices.items() if uuid not in account.sources]
        # Together: a new device that does not answer yet must not hold up the others.
        await asyncio.gather(*(self.async_add_device(info, family) for info in added))
        moved: list[str] = []
        for uuid, info in account.devices.items():
            source = account.sources[uuid]
            if source.info is not info:
                source.info = info
                if await account.async_place(info):
                    moved.append(info.name)
                    if account.push_enabled:
                        # Its ``domain`` changed: it talks over another broker's connection.
                        source.async_broker_changed(account.brokers.connected(uuid))
                coordinator = source.coordinator
                if coordinator is not None and coordinator.data is not None:
                    states = source.states()
                    # A valve taken off its hub leaves the hub's coordinator.
                    for device_id in coordinator.data.keys() - states.keys():
                        coordinator.async_remove_device(device_id)
                    coordinator.async_push_devices(states)
        # Only now, from the list just read: what it lacks left the account (or its hub).
        async_remove_stale_devices(account.hass, account.entry, self.listed_device_ids())
        return {"added": [info.name for info in added], "removed": removed, "moved": moved}

    def listed_device_ids(self) -> set[str]:
        """Every device id the account's device list has: the account, devices, hub valves."""
        account = self.account
        listed = {account.account_id, *account.devices}
        for uuid in account.devices:
            if (source := account.sources.get(uuid)) is not None:
                listed.update(device_id for device_id, _ in source.valve_ids())
        return listed

    async def async_load_registry(
        self,
        devices: list[MerossDeviceInfo],
        subdevices: dict[str, list[MerossSubdeviceInfo]],
        abilities: dict[str, Any],
    ) -> dict[str, Any]:
        """Set the account's devices up from a registry dump (``registry.py``), no cloud call.

        The dump replaces the cached device list (a later cloud refresh replaces it in turn).
        Returns ``{"loaded": n, "devices": [names], "subdevices": n, "added", "removed",
        "moved": [names]}``.
        """
        async with self._sync_lock:
            account = self.account
            account.apply_device_list(devices, subdevices)
            extra = account.cache.setdefault("device_extra", {})
            for uuid, ability in abilities.items():
                if not (extra.get(uuid) or {}).get("abilities"):
                    extra[uuid] = {**(extra.get(uuid) or {}), "abilities": ability}
            changes = await self._async_apply_device_list(cast(MerossFamily, self.family))
        return {
            "loaded": len(devices),
            "devices": [info.name for info in devices],
            "subdevices": sum(len(items) for items in subdevices.values()),
            **changes,
        }

    def dump_registry(self) -> dict[str, Any]:
        """The cached device list as a registry dump (``registry.py``), redacted."""
        account = self.account
        extra = account.cache.get("device_extra", {})
        return dump_registry(
            [info.raw for info in account.devices.values()],
            {hub: [sub.raw for sub in subs] for hub, subs in account.subdevices.items()},
            {uuid: (extra.get(uuid) or {}).get("abilities") for uuid in account.devices},
            account.secrets,
        )


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
            except MerossError as err:
                raise setup_error(map_error(err)) from err
        for info in account.devices.values():
            await account.async_place(info)
        if not await account.brokers.async_wait_connected(MQTT_CONNECT_WAIT):
            if account.push_enabled:
                account.push_watch.async_set_connected(False)
            for item in account.brokers.diagnostics():
                if not item["connected"]:
                    _LOGGER.warning(
                        "Meross broker %s not reachable yet (%s); retrying in the background",
                        item["broker"],
                        item["last_error"],
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
        else:
            # Read from the cloud just now: devices it lacks left the account meanwhile.
            async_remove_stale_devices(hass, entry, runtime.listed_device_ids())

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
            # Toggles and a number with its unit, like every family's options (issue 12).
            probatio.Required(
                CONF_PUSH, default=entry.options.get(CONF_PUSH, True)
            ): BooleanSelector(),
            probatio.Required(
                CONF_PUSH_EVENTS, default=entry.options.get(CONF_PUSH_EVENTS, False)
            ): BooleanSelector(),
            probatio.Required(
                CONF_MAX_REQUESTS,
                default=entry.options.get(CONF_MAX_REQUESTS, DEFAULT_MAX_REQUESTS),
            ): probatio.All(
                NumberSelector(
                    NumberSelectorConfig(
                        min=5,
                        max=600,
                        step=1,
                        mode=NumberSelectorMode.BOX,
                        unit_of_measurement="requests/min",
                    )
                ),
                probatio.Coerce(int),
            ),
        }
