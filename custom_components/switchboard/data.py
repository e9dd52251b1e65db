"""What one config entry runs: ``entry.runtime_data``.

:class:`SwitchboardRuntimeData` is built in one go by ``async_setup_entry`` once the family's
runtime is complete (its coordinators refreshed) and the entry's exporters are created around
it. It is never mutated afterwards; a vendor runtime knows nothing about the exporters that read
it.
"""

from dataclasses import dataclass
from typing import Any, Protocol

from homeassistant.config_entries import ConfigEntry

from .family import FamilyRuntime


class Exporter(Protocol):
    """Something that carries the entry's devices to another system (the MQTT bridge).

    An exporter reads the family runtime it is built with and runs only the actions the
    devices allow-list (``SwitchboardCoordinator.async_execute``).
    """

    key: str
    """Its options section and diagnostics key (e.g. ``"mqtt_bridge"``)."""

    @property
    def enabled(self) -> bool:
        """Whether the options ask for it to run."""

    async def async_start(self) -> None:
        """Start exporting; raise a translated ``HomeAssistantError`` when it cannot."""

    async def async_stop(self) -> None:
        """Stop exporting and release what it holds (called on unload)."""

    def diagnostics(self) -> dict[str, Any]:
        """Return its settings, connection and counters (no payloads, no secrets)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SwitchboardRuntimeData:
    """The runtime data of one Switchboard config entry.

    ``runtime``: the family's runtime (coordinators, entity descriptions); ``exporters``: the
    entry's exporters, in start order.
    """

    runtime: FamilyRuntime
    exporters: tuple[Exporter, ...] = ()

    def exporter[ExporterT: Exporter](self, kind: type[ExporterT]) -> ExporterT | None:
        """Return the entry's exporter of type ``kind``, or ``None``."""
        return next((item for item in self.exporters if isinstance(item, kind)), None)


type SwitchboardConfigEntry = ConfigEntry[SwitchboardRuntimeData]
"""A Switchboard config entry; ``runtime_data`` is its :class:`SwitchboardRuntimeData`."""
