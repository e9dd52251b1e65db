"""The MaxSmart device source: one strip polled over HTTP, identity over UDP.

Facts: ``docs/protocols/maxsmart.md``. :class:`MaxSmartSource` polls one strip (cmd 511) and sends
its allow-listed actions; energy is integrated from the polled power and stored.
"""

from collections.abc import Mapping
import logging
import time
from typing import Any, Final, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import (
    CONF_HOST,
    CONF_PORT,
    UnitOfElectricCurrent,
    UnitOfEnergy,
    UnitOfPower,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from ...const import DOMAIN
from ...coordinator import (
    DeviceSource,
    SwitchboardData,
)
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
    ISSUE_MAXSMART_OTHER_DEVICE,
    async_delete_issue,
    async_raise_maxsmart_other_device_issue,
)
from .actions import strip_actions
from .client import (
    DEFAULT_UDP_PORT,
    MaxSmartClient,
    MaxSmartCommandRejectedError,
    MaxSmartConnectionError,
    MaxSmartDeviceInfo,
    MaxSmartError,
    async_discover,
)
from .const import CONF_DISCOVERY_PORT, CONF_MAC, CONF_SERIAL, MANUFACTURER

_LOGGER = logging.getLogger(__name__)

NAMES_EVERY_POLLS: Final = 60
"""Re-read port names over UDP every this many polls (5 min at 5 s), in case the app renamed."""
STORE_VERSION: Final = 1
STORE_SAVE_DELAY: Final = 60


def port_key(port: int, what: str) -> str:
    """Attribute key of one port's value, e.g. ``port_3_power``."""
    return f"port_{port}_{what}"


class MaxSmartSource(DeviceSource):
    """Polls one strip over HTTP and sends its commands (§3)."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        client: MaxSmartClient,
    ) -> None:
        """Create the source; identity is read in :meth:`async_setup`."""
        self.hass = hass
        self.entry = entry
        self.client = client
        self.serial: str = entry.data[CONF_SERIAL]
        self.info: MaxSmartDeviceInfo | None = None
        self.port_names: list[str] = []
        self.energy: list[float] = []
        """Integrated energy per port in kWh, persisted in a Store."""
        self._last_sample: tuple[float, tuple[float, ...]] | None = None
        self._save_pending = False
        self._polls = 0
        self._identity_known = False
        """Whether the strip answering at the address was identified since it last went away."""
        self._store: Store[dict[str, Any]] = Store(
            hass, STORE_VERSION, f"{DOMAIN}.maxsmart_energy_{self.serial}"
        )

    @property
    def descriptor(self) -> DeviceDescriptor:
        """The strip for the device registry."""
        info = self.info
        host = self.entry.data[CONF_HOST]
        port = self.entry.data.get(CONF_PORT, 80)
        return DeviceDescriptor(
            id=self.serial,
            name=(info.name if info and info.name else None) or self.entry.title,
            manufacturer=MANUFACTURER,
            model=_model(len(self.port_names) or 6),
            sw_version=info.firmware if info else None,
            serial_number=self.serial,
            mac=(info.mac if info else None) or self.entry.data.get(CONF_MAC),
            configuration_url=f"http://{host}" + ("" if port == 80 else f":{port}"),
        )

    @override
    async def async_setup(self) -> None:
        """Read identity over UDP and restore the integrated energy.

        Raises DeviceConnectionError when another strip answers at the address.
        """
        await self._async_check_identity()
        stored = await self._store.async_load() or {}
        self.energy = [float(value) for value in stored.get("energy", [])]

    async def _async_check_identity(self) -> None:
        """Read identity; raise DeviceConnectionError when another strip is at the address.

        The HTTP reading (cmd 511) carries no serial, so a strip that comes back (a restart, a
        new DHCP lease) is identified over UDP before its reading is taken: another strip at
        the same address must not be attached to this entry. That raises the
        ``maxsmart_other_device`` repair issue; the right strip answering again clears it.
        """
        other = await self._async_read_identity()
        host = self.entry.data[CONF_HOST]
        if other is not None:
            self._identity_known = False
            _LOGGER.debug("MaxSmart %s: strip %s answers at %s", self.serial, other, host)
            async_raise_maxsmart_other_device_issue(self.hass, self.entry, host, other)
            raise DeviceConnectionError(f"another strip ({other}) answers at {host}")
        self._identity_known = True
        async_delete_issue(self.hass, ISSUE_MAXSMART_OTHER_DEVICE, self.entry)

    async def _async_read_identity(self) -> str | None:
        """Unicast discovery: strip name, port names, MAC, firmware. Failures keep the old.

        Returns the serial of another strip answering at the address, else None (this strip
        answered, or nothing did: a strip whose UDP is silent is not held against it).
        """
        try:
            found = await async_discover(
                self.entry.data[CONF_HOST],
                self.entry.data.get(CONF_DISCOVERY_PORT, DEFAULT_UDP_PORT),
                timeout=1.0,
                max_devices=1,
            )
        except MaxSmartConnectionError as err:
            _LOGGER.debug("MaxSmart %s: identity query failed: %s", self.serial, err)
            return None
        for info in found:
            if info.serial == self.serial:
                self.info = info
                if info.port_names:
                    self.port_names = list(info.port_names)
                return None
        return found[0].serial if found else None

    @override
    async def async_fetch(self) -> SwitchboardData:
        """Poll cmd 511, integrate energy, and build the strip's state."""
        try:
            reading = await self.client.async_get_reading()
        except MaxSmartConnectionError as err:
            self._last_sample = None
            self._identity_known = False
            raise DeviceConnectionError(str(err)) from err
        except MaxSmartError as err:
            raise DeviceResponseError(str(err)) from err
        count = len(reading.switch)
        self._polls += 1
        if not self._identity_known or self._polls % NAMES_EVERY_POLLS == 0:
            await self._async_check_identity()
        if len(self.port_names) != count:
            self.port_names = [
                self.port_names[i] if i < len(self.port_names) else f"Port {i + 1}"
                for i in range(count)
            ]
        self._integrate(reading.power)
        attributes: dict[str, Attribute] = {
            "name": Attribute(self.descriptor.name),
            "firmware": Attribute(self.info.firmware if self.info else None),
            "power": Attribute(round(sum(reading.power), 2), UnitOfPower.WATT),
            "energy": Attribute(round(sum(self.energy), 4), UnitOfEnergy.KILO_WATT_HOUR),
            "all_on": Attribute(any(reading.switch)),
        }
        for index in range(count):
            port = index + 1
            attributes[port_key(port, "on")] = Attribute(reading.switch[index])
            attributes[port_key(port, "name")] = Attribute(self.port_names[index])
            attributes[port_key(port, "power")] = Attribute(
                round(reading.power[index], 2), UnitOfPower.WATT
            )
            attributes[port_key(port, "current")] = Attribute(
                round(reading.current[index], 3), UnitOfElectricCurrent.AMPERE
            )
            attributes[port_key(port, "energy")] = Attribute(
                round(self.energy[index], 4), UnitOfEnergy.KILO_WATT_HOUR
            )
        return {self.serial: DeviceState(descriptor=self.descriptor, attributes=attributes)}

    def _integrate(self, power: tuple[float, ...]) -> None:
        """Add the trapezoid energy since the last sample (kWh) and schedule a save."""
        now = time.monotonic()
        if len(self.energy) < len(power):
            self.energy.extend([0.0] * (len(power) - len(self.energy)))
        if self._last_sample is not None and len(self._last_sample[1]) == len(power):
            hours = (now - self._last_sample[0]) / 3600
            for index, watts in enumerate(power):
                self.energy[index] += (watts + self._last_sample[1][index]) / 2 * hours / 1000
            # Store.async_delay_save postpones a pending write on every call: schedule only
            # when none is pending, or polling every few seconds would never let it write.
            if not self._save_pending:
                self._save_pending = True
                self._store.async_delay_save(self._energy_data, STORE_SAVE_DELAY)
        self._last_sample = (now, power)

    def _energy_data(self) -> dict[str, Any]:
        """The data the store writes (called when it writes); the next growth schedules again."""
        self._save_pending = False
        return {"energy": self.energy}

    @override
    def actions(self, device_id: str) -> Mapping[str, ActionSpec]:
        """turn_on / turn_off (port 0 = all ports) and rename_port (port 0 = strip name)."""
        return strip_actions(len(self.port_names) or 6)

    @override
    async def async_execute(
        self, device_id: str, action: str, args: Mapping[str, Any]
    ) -> SwitchboardData | None:
        """Send the command; the coordinator then reads the new state at once."""
        port: int = args["port"]
        try:
            if action == "rename_port":
                await self.client.async_rename_port(port, args["name"])
                if port == 0 and self.info is not None:
                    self.info = _renamed(self.info, args["name"])
                elif port > 0:
                    self.port_names[port - 1] = args["name"]
            else:
                await self.client.async_set_port(port, action == "turn_on")
        except MaxSmartCommandRejectedError as err:
            if action == "rename_port":
                raise CommandRejectedError(
                    str(err),
                    translation_key="rename_rejected",
                    placeholders={
                        "firmware": self.info.firmware if self.info else "unknown",
                    },
                ) from err
            raise CommandRejectedError(str(err)) from err
        except MaxSmartConnectionError as err:
            self._identity_known = False  # identified again before the next reading
            raise DeviceConnectionError(str(err)) from err
        except MaxSmartError as err:
            raise DeviceResponseError(str(err)) from err
        return None

    @override
    async def async_shutdown(self) -> None:
        """Save the integrated energy now."""
        if self.energy:
            await self._store.async_save({"energy": self.energy})


def _renamed(info: MaxSmartDeviceInfo, name: str) -> MaxSmartDeviceInfo:
    return MaxSmartDeviceInfo(
        serial=info.serial,
        name=name,
        port_names=info.port_names,
        mac=info.mac,
        firmware=info.firmware,
        host=info.host,
        udp_port=info.udp_port,
    )


def _model(port_count: int) -> str:
    return "Power Station" if port_count > 1 else "Smart Plug"
