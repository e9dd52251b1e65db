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

from collections.abc import Iterable, Mapping
from datetime import timedelta
import logging
from typing import Any, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.selector import BooleanSelector, NumberSelector, NumberSelectorConfig
import probatio

from ...coordinator import (
    PollingSettings,
)
from ...descriptions import (
    SwitchboardEntityDescription,
)
from ...family import Family, FamilyRuntime
from ...model import (
    DeviceState,
)
from .const import (
    CONF_ENABLE_BLOBS,
    CONF_SNOOP_TIMEOUT,
    DEFAULT_SNOOP_TIMEOUT,
    FAMILY_KEY,
)
from .entities import describe_device
from .services import async_setup_services
from .source import IndiHub

_LOGGER = logging.getLogger(__name__)


class IndiRuntime(FamilyRuntime):
    """One INDI server: the hub, its coordinators, and the entity mapping."""

    def __init__(self, family: Family, hass: HomeAssistant, entry: ConfigEntry) -> None:
        """Create the server's hub (not connected yet)."""
        super().__init__(family)
        self.hub = IndiHub(hass, entry, family, self)

    @override
    def describe(self, state: DeviceState) -> Iterable[SwitchboardEntityDescription]:
        """The entities of ``entities.py`` for this device (server or INDI device)."""
        return describe_device(self.hub, state)

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


class IndiFamily(Family):
    """INDI servers: one TCP connection per entry, push only, devices under the server."""

    key = FAMILY_KEY
    polling = PollingSettings(
        normal=timedelta(seconds=30), burst=timedelta(seconds=30), burst_cycles=0, push=None
    )
    bursts = False  # the server pushes every change: no burst settings in the options

    @override
    async def async_setup(self, hass: HomeAssistant) -> None:
        """Register ``switchboard.indi_set_vector``."""
        async_setup_services(hass)

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
