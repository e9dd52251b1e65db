"""The device source of a Midea entry: every appliance it follows, pushed into one coordinator.

Each appliance runs in a :class:`MideaApplianceClient` (midea-local's thread, wrapped). Its own
frames (the reply to a command, and the status it sends unprompted) reach the coordinator at
once through :meth:`SwitchboardCoordinator.async_push_devices`, without a poll. The coordinator's
poll is a safety net: it asks each appliance for its status and marks one that stays silent
unavailable (the client then reconnects by itself every few seconds).
"""

import asyncio
from collections.abc import Mapping
import logging
from typing import Any, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import PERCENTAGE, UnitOfEnergy, UnitOfPower, UnitOfTemperature
from homeassistant.core import HomeAssistant

from ...coordinator import DeviceSource, SwitchboardData
from ...model import (
    ActionSpec,
    Attribute,
    CommandRejectedError,
    DeviceConnectionError,
    DeviceDescriptor,
    DeviceState,
)
from ...repairs import (
    async_delete_issue,
    async_raise_midea_key_issue,
    async_raise_midea_other_device_issue,
    midea_key_issue_kind,
    midea_other_device_kind,
)
from .actions import (
    AIR_CONDITIONER_READINGS,
    DEHUMIDIFIER,
    FAN_MODES,
    PRESETS,
    SWING_MODES,
    air_conditioner_selects,
    air_conditioner_switches,
    appliance_actions,
    async_run_action,
    dehumidifier_switches,
)
from .client import ApplianceConfig, CommandFailed, MideaApplianceClient
from .const import CONF_DISCOVERY_PORT, DEFAULT_DISCOVERY_PORT, MANUFACTURER
from .discovery import discovery_ports

_LOGGER = logging.getLogger(__name__)

MODELS = {0xA1: "Dehumidifier", 0xAC: "Air conditioner"}


def tank_full(tank: Any, water_level_set: Any) -> bool | None:
    """Whether the tank is full (``docs/protocols/midea.md`` §4).

    Full when the tank level (%) reaches the water-level setpoint the appliance reports; an
    appliance that reports a setpoint of 0 is full at 100 %. (midea-local says "full" for any
    water at all when the setpoint is 0.)
    """
    if not isinstance(tank, int) or isinstance(tank, bool):
        return None
    try:
        threshold = int(water_level_set or 0)
    except TypeError, ValueError:
        threshold = 0
    if threshold <= 0:
        threshold = 100
    return tank >= threshold


def _fan_mode(speed: Any) -> str | None:
    if not isinstance(speed, int):
        return None
    for name, value in sorted(FAN_MODES.items(), key=lambda item: -item[1]):
        if speed >= value:
            return name
    return "silent"


def _swing_mode(attributes: Mapping[str, Any]) -> str:
    state = (bool(attributes.get("swing_vertical")), bool(attributes.get("swing_horizontal")))
    return next(name for name, value in SWING_MODES.items() if value == state)


def _preset_mode(attributes: Mapping[str, Any]) -> str:
    for name, attribute in PRESETS.items():
        if attributes.get(attribute):
            return name
    return "none"


def _hvac_mode(attributes: Mapping[str, Any], modes: list[str]) -> str | None:
    if attributes.get("power") is False:
        return "off"
    mode = attributes.get("mode")
    names = {1: "auto", 2: "cool", 3: "dry", 4: "heat", 5: "fan_only"}
    return names.get(mode) if isinstance(mode, int) else None


def _number(value: Any) -> float | int | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def appliance_state(client: MideaApplianceClient) -> DeviceState:
    """The common-model state of one appliance (attributes named as midea-local names them)."""
    config = client.config
    values = client.attributes
    attributes: dict[str, Attribute] = {}

    def put(key: str, value: Any, unit: str | None = None) -> None:
        attributes[key] = Attribute(value, unit)

    if config.device_type == DEHUMIDIFIER:
        put("power", bool(values.get("power")))
        put("mode", values.get("mode"))
        put("modes", list(client.modes))
        put("fan_speed", values.get("fan_speed"))
        put("fan_speeds", list(client.fan_speeds))
        put("target_humidity", _number(values.get("target_humidity")), PERCENTAGE)
        put("current_humidity", _number(values.get("current_humidity")), PERCENTAGE)
        put(
            "current_temperature",
            _number(values.get("current_temperature")),
            UnitOfTemperature.CELSIUS,
        )
        put("tank", _number(values.get("tank")), PERCENTAGE)
        put("water_level_set", str(values.get("water_level_set", "")) or None)
        put("tank_full", tank_full(values.get("tank"), values.get("water_level_set")))
        put("filter_cleaning_reminder", bool(values.get("filter_cleaning_reminder")))
        for switch in dehumidifier_switches(client):
            put(switch, bool(values.get(switch)))
    else:
        hvac_modes = list(client.hvac_modes)
        put("power", bool(values.get("power")))
        put("hvac_mode", _hvac_mode(values, hvac_modes))
        put("hvac_modes", hvac_modes)
        put(
            "target_temperature",
            _number(values.get("target_temperature")),
            UnitOfTemperature.CELSIUS,
        )
        put("min_temperature", _number(values.get("min_temperature")) or 16.0)
        put("max_temperature", _number(values.get("max_temperature")) or 30.0)
        put("temperature_step", client.temperature_step or 0.5)
        for key in ("indoor_temperature", "outdoor_temperature"):
            put(key, _number(values.get(key)), UnitOfTemperature.CELSIUS)
        if "indoor_humidity" in values:
            put("indoor_humidity", _number(values.get("indoor_humidity")), PERCENTAGE)
        put("fan_mode", _fan_mode(values.get("fan_speed")))
        put("swing_mode", _swing_mode(values))
        put("preset_mode", _preset_mode(values))
        if "full_dust" in values:
            put("full_dust", bool(values.get("full_dust")))
        for switch in air_conditioner_switches(client):
            put(switch, bool(values.get(switch)))
        for select, options in air_conditioner_selects(client).items():
            value = values.get(select)
            put(select, value if value in options else None)
            put(f"{select}_options", options)
        for key, unit in AIR_CONDITIONER_READINGS.items():
            if (reading := _number(values.get(key))) is not None:
                put(key, reading, unit)
        if isinstance(pump := values.get("water_pump_running"), bool):
            put("water_pump_running", pump)
        if client.capabilities.get("energy_stats"):
            for key in ("total_energy_consumption", "current_energy_consumption"):
                put(key, _number(values.get(key)), UnitOfEnergy.KILO_WATT_HOUR)
            put("realtime_power", _number(values.get("realtime_power")), UnitOfPower.WATT)
    return DeviceState(
        descriptor=appliance_descriptor(config),
        available=client.available,
        attributes=attributes,
    )


def appliance_descriptor(config: ApplianceConfig) -> DeviceDescriptor:
    """The appliance for the device registry: model, model code, firmware, serial, MAC."""
    return DeviceDescriptor(
        id=str(config.appliance_id),
        name=config.name,
        manufacturer=MANUFACTURER,
        model=MODELS.get(config.device_type, f"0x{config.device_type:02X}"),
        hw_version=config.model or None,
        sw_version=config.firmware,
        serial_number=config.serial or None,
        mac=config.mac,
    )


class MideaSource(DeviceSource):
    """Every appliance of one entry, by appliance id (str)."""

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry, configs: Mapping[str, ApplianceConfig]
    ) -> None:
        """Create a client per appliance; nothing connects before :meth:`async_setup`."""
        self.hass = hass
        self.entry = entry
        self._key_issues: set[str] = set()
        self._other_issues: set[str] = set()
        self._discovery_ports = discovery_ports(
            int(entry.data.get(CONF_DISCOVERY_PORT, DEFAULT_DISCOVERY_PORT))
        )
        self.clients: dict[str, MideaApplianceClient] = {
            appliance_id: MideaApplianceClient(config, self._on_update, self._discovery_ports)
            for appliance_id, config in configs.items()
        }

    def _on_update(self, client: MideaApplianceClient) -> None:
        """A frame or an availability change of one appliance: push it to the entities."""
        appliance_id = str(client.appliance_id)
        if self.clients.get(appliance_id) is not client:
            return
        self._update_key_issue(appliance_id, client)
        self._update_other_issue(appliance_id, client)
        if self.coordinator is not None:
            self.coordinator.async_push_devices({appliance_id: appliance_state(client)})

    def _update_key_issue(self, appliance_id: str, client: MideaApplianceClient) -> None:
        """Raise a repair issue while the appliance refuses its token or key; clear it after."""
        refused = not client.available and client.last_error in ("wrong_token", "wrong_key")
        if refused and appliance_id not in self._key_issues:
            self._key_issues.add(appliance_id)
            what = "token" if client.last_error == "wrong_token" else "key"
            async_raise_midea_key_issue(
                self.hass, self.entry, appliance_id, client.config.name, what
            )
        elif not refused and appliance_id in self._key_issues:
            self._key_issues.discard(appliance_id)
            async_delete_issue(self.hass, midea_key_issue_kind(appliance_id), self.entry)

    def _update_other_issue(self, appliance_id: str, client: MideaApplianceClient) -> None:
        """Raise a repair issue while another appliance answers at the address; clear it after."""
        other = client.other if client.last_error == "other_device" else None
        kind = midea_other_device_kind(appliance_id)
        if other is not None:
            self._other_issues.add(appliance_id)
            async_raise_midea_other_device_issue(
                self.hass,
                self.entry,
                appliance_id,
                {
                    "appliance": client.config.name,
                    "address": f"{other.host}:{other.port}",
                    "other": str(other.appliance_id),
                },
            )
        elif appliance_id in self._other_issues:
            self._other_issues.discard(appliance_id)
            async_delete_issue(self.hass, kind, self.entry)

    @override
    async def async_setup(self) -> None:
        """Connect every appliance (those that do not answer keep trying in the background)."""
        await asyncio.gather(*(client.async_start() for client in self.clients.values()))

    async def async_add_appliance(self, config: ApplianceConfig) -> None:
        """Start following an appliance (new in the account); its entities appear at once."""
        appliance_id = str(config.appliance_id)
        if appliance_id in self.clients:
            return
        client = MideaApplianceClient(config, self._on_update, self._discovery_ports)
        self.clients[appliance_id] = client
        await client.async_start()
        if self.coordinator is not None:
            self.coordinator.async_push_devices({appliance_id: appliance_state(client)})

    async def async_remove_appliance(self, appliance_id: str) -> None:
        """Stop following an appliance (gone from the account); its entities are removed."""
        client = self.clients.pop(appliance_id, None)
        if client is not None:
            await client.async_stop()
        if self.coordinator is not None:
            self.coordinator.async_remove_device(appliance_id)

    async def async_set_address(self, appliance_id: str, host: str, port: int) -> None:
        """An appliance answered discovery from a new address: reconnect there."""
        if (client := self.clients.get(appliance_id)) is not None:
            await client.async_set_address(host, port)

    @override
    async def async_fetch(self) -> SwitchboardData:
        """Ask every available appliance for its status; an unavailable one stays so."""
        await asyncio.gather(*(client.async_refresh() for client in list(self.clients.values())))
        return {
            appliance_id: appliance_state(client) for appliance_id, client in self.clients.items()
        }

    @override
    def actions(self, device_id: str) -> Mapping[str, ActionSpec]:
        """The appliance's allow-list (``actions.py``)."""
        client = self.clients.get(device_id)
        return appliance_actions(client) if client is not None else {}

    @override
    async def async_execute(
        self, device_id: str, action: str, args: Mapping[str, Any]
    ) -> SwitchboardData | None:
        """Send the command and return the state from the appliance's reply."""
        client = self.clients.get(device_id)
        if client is None:
            raise CommandRejectedError(f"unknown appliance {device_id}")
        try:
            await async_run_action(client, action, args)
        except CommandFailed as err:
            raise DeviceConnectionError(str(err)) from err
        return {device_id: appliance_state(client)}

    @override
    async def async_shutdown(self) -> None:
        """Stop every appliance's thread and socket."""
        await asyncio.gather(*(client.async_stop() for client in self.clients.values()))
        for appliance_id in self._key_issues:
            async_delete_issue(self.hass, midea_key_issue_kind(appliance_id), self.entry)
        self._key_issues.clear()
        for appliance_id in self._other_issues:
            async_delete_issue(self.hass, midea_other_device_kind(appliance_id), self.entry)
        self._other_issues.clear()

    def diagnostics(self) -> dict[str, Any]:
        """Per appliance: configuration, availability, last error, raw attributes.

        ``reported`` names the attributes the appliance has sent (those missing from it, such as
        ``breezeless``, are midea-local's defaults: why an entity is absent).
        """
        return {
            appliance_id: {
                "config": client.config.as_dict(),
                "available": client.available,
                "last_error": client.last_error,
                "capabilities": client.capabilities,
                "attributes": client.attributes,
                "reported": sorted(client.reported),
            }
            for appliance_id, client in self.clients.items()
        }
