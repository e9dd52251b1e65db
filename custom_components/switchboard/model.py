"""The common device model every family describes its devices in.

A family (vendor package) turns what its protocol reports into :class:`DeviceState` objects:
a :class:`DeviceDescriptor` for the device registry, an ``available`` flag, and a flat mapping of
:class:`Attribute` values (``"port_1_power": Attribute(12.5, "W")``). It also declares, per
device, an allow-list of :class:`ActionSpec` (``"turn_on"`` with a voluptuous schema for its
arguments). The platforms, the MQTT bridge and the platform connector only ever see this model,
so they never need to know which vendor a device comes from.

Families raise the errors below from their sources; the coordinator maps them to Home
Assistant's errors (``UpdateFailed``, ``ConfigEntryAuthFailed``, ``HomeAssistantError``) with
translation keys, so every family reports problems the same way.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import probatio

type AttributeValue = str | int | float | bool | list[Any] | dict[str, Any] | None
"""A JSON-serialisable attribute value."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceDescriptor:
    """What the device registry and the MQTT bridge know about one device.

    ``id`` is stable and unique within the whole integration (a serial number, a cloud uuid, or
    ``host:port/device`` for INDI); entity unique ids and device identifiers derive from it.
    ``mac`` is lowercase ``aa:bb:cc:dd:ee:ff`` or ``None``. ``via_device`` is the ``id`` of the
    parent device (a hub, an INDI server) or ``None``.
    """

    id: str
    name: str
    manufacturer: str
    model: str | None = None
    sw_version: str | None = None
    hw_version: str | None = None
    serial_number: str | None = None
    mac: str | None = None
    via_device: str | None = None
    configuration_url: str | None = None


@dataclass(frozen=True, slots=True)
class Attribute:
    """One readable attribute of a device: a JSON-serialisable value and its unit (or None)."""

    value: AttributeValue
    unit: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceState:
    """One device as a coordinator holds it: descriptor, availability and attributes.

    Instances are immutable and compare by value, so a coordinator created with
    ``always_update=False`` notifies its listeners only when something really changed.
    """

    descriptor: DeviceDescriptor
    available: bool = True
    attributes: Mapping[str, Attribute] = field(default_factory=dict)

    def value(self, key: str) -> AttributeValue:
        """Return the value of attribute ``key``, or ``None`` when the device lacks it."""
        attribute = self.attributes.get(key)
        return None if attribute is None else attribute.value


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionSpec:
    """An allow-listed action a device accepts, with the schema its arguments must pass.

    ``schema`` validates the ``args`` mapping (voluptuous); ``description`` is plain English for
    the MQTT bridge's documentation and error messages.
    """

    name: str
    schema: probatio.Schema
    description: str


# Errors a family's source raises. The coordinator turns them into Home Assistant errors.


class SwitchboardError(Exception):
    """Base class of the errors families raise towards the coordinator.

    ``translation_key`` (optional) names a more precise message in en.json ``exceptions`` for
    a failed command, ``placeholders`` fill it (see ``coordinator.command_error``).
    """

    translation_key: str | None = None
    placeholders: dict[str, str]

    def __init__(
        self,
        message: str = "",
        *,
        translation_key: str | None = None,
        placeholders: Mapping[str, str] | None = None,
    ) -> None:
        """Store the message and, optionally, the translation of a failed command."""
        super().__init__(message)
        if translation_key is not None:
            self.translation_key = translation_key
        self.placeholders = dict(placeholders or {})


class DeviceConnectionError(SwitchboardError):
    """The device or service could not be reached (timeout, refused, dropped, HTTP 5xx)."""


class DeviceResponseError(SwitchboardError):
    """The device answered, but the reply was malformed or reported a failure."""


class DeviceAuthError(SwitchboardError):
    """Credentials were rejected or expired; the user must re-authenticate."""


class DeviceRateLimitError(SwitchboardError):
    """The service asks us to slow down; ``retry_after`` is in seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        """Store the number of seconds to wait before the next request."""
        super().__init__(message)
        self.retry_after = retry_after


class CommandRejectedError(SwitchboardError):
    """The device refused a command.

    ``translation_key`` names the reason in en.json ``exceptions`` (default
    ``command_rejected``); ``placeholders`` fill it.
    """

    translation_key: str | None = "command_rejected"
