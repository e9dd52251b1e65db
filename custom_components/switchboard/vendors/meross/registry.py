"""Dump and reload of an account's device registry, in the shape of our device-list cache.

What meross-iot offers as ``dump_device_registry`` / ``load_devices_from_dump``.

A dump is JSON::

    {"format": "switchboard.meross_registry", "version": 1,
     "devices": [<devList items, camelCase, as the cloud sent them>],
     "subdevices": {"<hub uuid>": [<getSubDevices items>]},
     "abilities": {"<uuid>": {<Appliance.System.Ability "ability">}}}

``devices`` items are those of ``/v1/Device/devList`` and ``subdevices`` items those of
``/v1/Hub/getSubDevices`` (docs/protocols/meross.md §2). ``abilities`` is optional. A dump
carries no account secret (it goes through ``capture.redact``); what a reload needs is there:
each device's uuid, type, name, channels and broker (``domain``).

No Home Assistant imports.
"""

from collections.abc import Mapping
import re
from typing import Any

from .capture import CaptureSecrets, redact
from .cloud import MerossDeviceInfo, MerossSubdeviceInfo

DUMP_FORMAT = "switchboard.meross_registry"
DUMP_VERSION = 1
MAX_DEVICES = 500

_UUID = re.compile(r"^[0-9A-Za-z]{8,64}$")
_SUBDEVICE_ID = re.compile(r"^[0-9A-Za-z]{1,32}$")


class RegistryDumpError(ValueError):
    """A dump that cannot be loaded.

    ``reason`` is one of ``not_a_dump``, ``version``, ``too_many``, ``missing``, ``invalid``,
    ``duplicate``, ``unknown_hub``; ``where`` the place (``devices[2].uuid``).
    """

    def __init__(self, reason: str, where: str) -> None:
        """Name the problem and where it is."""
        super().__init__(f"{where}: {reason}")
        self.reason = reason
        self.where = where


def dump_registry(
    devices: list[dict[str, Any]],
    subdevices: Mapping[str, list[dict[str, Any]]],
    abilities: Mapping[str, Any],
    secrets: CaptureSecrets,
) -> dict[str, Any]:
    """Return the dump of a device-list cache (raw devList/getSubDevices items), redacted."""
    dump = {
        "format": DUMP_FORMAT,
        "version": DUMP_VERSION,
        "devices": devices,
        "subdevices": {hub: items for hub, items in subdevices.items() if items},
        "abilities": {uuid: value for uuid, value in abilities.items() if value},
    }
    result: dict[str, Any] = redact(dump, secrets)
    return result


def _text(item: Mapping[str, Any], key: str, where: str, pattern: re.Pattern[str]) -> str:
    value = item.get(key)
    if value is None or value == "":
        raise RegistryDumpError("missing", f"{where}.{key}")
    if not isinstance(value, str) or not pattern.match(value):
        raise RegistryDumpError("invalid", f"{where}.{key}")
    return value


def parse_registry(
    dump: Any,
) -> tuple[list[MerossDeviceInfo], dict[str, list[MerossSubdeviceInfo]], dict[str, Any]]:
    """Validate a dump; return (devices, sub-devices per hub, abilities per uuid).

    Raises RegistryDumpError naming the first problem.
    """
    if not isinstance(dump, Mapping) or dump.get("format") != DUMP_FORMAT:
        raise RegistryDumpError("not_a_dump", "format")
    if dump.get("version") != DUMP_VERSION:
        raise RegistryDumpError("version", "version")
    items = dump.get("devices")
    if not isinstance(items, list) or not items:
        raise RegistryDumpError("missing", "devices")
    if len(items) > MAX_DEVICES:
        raise RegistryDumpError("too_many", "devices")
    devices: list[MerossDeviceInfo] = []
    for index, item in enumerate(items):
        where = f"devices[{index}]"
        if not isinstance(item, Mapping):
            raise RegistryDumpError("invalid", where)
        uuid = _text(item, "uuid", where, _UUID)
        if any(info.uuid == uuid for info in devices):
            raise RegistryDumpError("duplicate", f"{where}.uuid")
        for key in ("deviceType", "devName"):
            if not isinstance(item.get(key), str) or not item[key]:
                raise RegistryDumpError("missing", f"{where}.{key}")
        for key in ("domain", "reservedDomain"):
            if key in item and not isinstance(item[key], str):
                raise RegistryDumpError("invalid", f"{where}.{key}")
        if "channels" in item and not isinstance(item["channels"], list):
            raise RegistryDumpError("invalid", f"{where}.channels")
        try:
            devices.append(MerossDeviceInfo.from_api(dict(item)))
        except (KeyError, TypeError, ValueError) as err:
            raise RegistryDumpError("invalid", where) from err
    uuids = {info.uuid for info in devices}
    raw_subs = dump.get("subdevices", {})
    if not isinstance(raw_subs, Mapping):
        raise RegistryDumpError("invalid", "subdevices")
    subdevices: dict[str, list[MerossSubdeviceInfo]] = {}
    for hub, subs in raw_subs.items():
        where = f"subdevices[{hub}]"
        if hub not in uuids:
            raise RegistryDumpError("unknown_hub", where)
        if not isinstance(subs, list):
            raise RegistryDumpError("invalid", where)
        parsed = []
        for index, sub in enumerate(subs):
            if not isinstance(sub, Mapping):
                raise RegistryDumpError("invalid", f"{where}[{index}]")
            _text(sub, "subDeviceId", f"{where}[{index}]", _SUBDEVICE_ID)
            parsed.append(MerossSubdeviceInfo.from_api(str(hub), dict(sub)))
        subdevices[str(hub)] = parsed
    abilities = dump.get("abilities", {})
    if not isinstance(abilities, Mapping) or not all(
        isinstance(value, Mapping) for value in abilities.values()
    ):
        raise RegistryDumpError("invalid", "abilities")
    return devices, subdevices, {k: dict(v) for k, v in abilities.items() if k in uuids}
