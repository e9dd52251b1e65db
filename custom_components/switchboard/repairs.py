"""Repair issues: what a user must know about and can act on, each clearing itself.

* ``mqtt_bridge_without_mqtt``: the MQTT bridge is enabled in an entry's options, but Home
  Assistant's MQTT integration is not set up. The bridge starts (and the issue goes) as soon as
  MQTT is loaded, or when the bridge is switched off or the entry unloaded.
* ``push_down``: a push channel (the Meross account's MQTT connection, an INDI server) has been
  down for more than :data:`PUSH_DOWN_AFTER` (model: core ``shelly``'s ``push_update_failure``).
  Goes when the channel is back or the entry unloads.
* ``midea_key_refused``: a Midea appliance refuses its token or key (it was reset, or paired
  again); one issue per appliance, pointing to Reconfigure. Goes when the appliance accepts a
  connection again, or when the entry unloads.
* ``meross_rate_limited``: the Meross cloud refused requests because too many were sent. Goes
  at the next successful cloud request, or when the entry unloads.
* ``maxsmart_other_device``, ``midea_other_device``, ``indi_other_server``: another device (an
  INDI server with none of the entry's devices) answers at a device's address; the entry is not
  attached to it and stays unavailable. Goes when the right device answers there again, or when
  the entry unloads.

Issue ids end with the config entry id, so each entry has its own.
"""

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EVENT_COMPONENT_LOADED
from homeassistant.core import CALLBACK_TYPE, Event, HassJob, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_call_later

from .const import DOMAIN

PUSH_DOWN_AFTER: Final = timedelta(minutes=15)
"""How long a push channel may be down before a repair issue says so."""

ISSUE_MQTT_BRIDGE: Final = "mqtt_bridge_without_mqtt"
ISSUE_PUSH_DOWN: Final = "push_down"
ISSUE_MEROSS_RATE_LIMITED: Final = "meross_rate_limited"
ISSUE_MIDEA_KEY_REFUSED: Final = "midea_key_refused"
ISSUE_MAXSMART_OTHER_DEVICE: Final = "maxsmart_other_device"
ISSUE_MIDEA_OTHER_DEVICE: Final = "midea_other_device"
ISSUE_INDI_OTHER_SERVER: Final = "indi_other_server"
ISSUE_SEPL_CERTIFICATE: Final = "sepl_certificate"
ISSUE_SEPL_GATEWAY_REPLACED: Final = "sepl_gateway_replaced"
ISSUE_SEPL_DEVICE_REJECTED: Final = "sepl_device_rejected"


def issue_id(kind: str, entry: ConfigEntry) -> str:
    """The id of issue ``kind`` for ``entry``."""
    return f"{kind}_{entry.entry_id}"


@callback
def _async_raise(
    hass: HomeAssistant,
    entry: ConfigEntry,
    kind: str,
    translation_key: str,
    placeholders: dict[str, str],
    severity: ir.IssueSeverity = ir.IssueSeverity.WARNING,
) -> None:
    """Raise issue ``kind`` of ``entry`` (id :func:`issue_id`): not fixable, not persistent.

    ``placeholders`` fill ``translation_key``'s text in translations/en.json beside ``entry``
    (the entry's title), which every issue text may name.
    """
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id(kind, entry),
        is_fixable=False,
        is_persistent=False,
        severity=severity,
        translation_key=translation_key,
        translation_placeholders={"entry": entry.title, **placeholders},
    )


@callback
def async_raise_mqtt_bridge_issue(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Raise ``mqtt_bridge_without_mqtt`` for ``entry``."""
    _async_raise(hass, entry, ISSUE_MQTT_BRIDGE, "mqtt_bridge_without_mqtt", {})


@callback
def async_raise_push_down_issue(hass: HomeAssistant, entry: ConfigEntry, channel: str) -> None:
    """Raise ``push_down`` for ``entry``'s push channel ``channel``."""
    minutes = f"{PUSH_DOWN_AFTER.total_seconds() / 60:g}"
    _async_raise(
        hass, entry, ISSUE_PUSH_DOWN, "push_down", {"channel": channel, "minutes": minutes}
    )


@callback
def async_raise_meross_rate_issue(hass: HomeAssistant, entry: ConfigEntry, code: int) -> None:
    """Raise ``meross_rate_limited`` for ``entry`` (``code``: the cloud's apiStatus)."""
    _async_raise(hass, entry, ISSUE_MEROSS_RATE_LIMITED, "meross_rate_limited", {"code": str(code)})


def midea_key_issue_kind(appliance_id: str) -> str:
    """The issue kind of one appliance's refused token or key (see :func:`issue_id`)."""
    return f"{ISSUE_MIDEA_KEY_REFUSED}_{appliance_id}"


@callback
def async_raise_midea_key_issue(
    hass: HomeAssistant, entry: ConfigEntry, appliance_id: str, appliance: str, what: str
) -> None:
    """Raise ``midea_key_refused`` for one appliance of ``entry`` (``what``: token or key)."""
    _async_raise(
        hass,
        entry,
        midea_key_issue_kind(appliance_id),
        "midea_key_refused",
        {"appliance": appliance, "what": what},
    )


@callback
def async_raise_maxsmart_other_device_issue(
    hass: HomeAssistant, entry: ConfigEntry, host: str, serial: str
) -> None:
    """Raise ``maxsmart_other_device``: the strip ``serial`` (not the entry's) is at ``host``."""
    _async_raise(
        hass,
        entry,
        ISSUE_MAXSMART_OTHER_DEVICE,
        "maxsmart_other_device",
        {"host": host, "serial": serial},
    )


@callback
def async_raise_midea_other_device_issue(
    hass: HomeAssistant, entry: ConfigEntry, appliance_id: str, placeholders: dict[str, str]
) -> None:
    """Raise ``midea_other_device`` for one appliance of ``entry``.

    ``placeholders``: ``appliance`` (its name), ``address`` (``host:port``), ``other`` (the id
    of the appliance found there).
    """
    _async_raise(
        hass, entry, midea_other_device_kind(appliance_id), "midea_other_device", placeholders
    )


@callback
def async_raise_indi_other_server_issue(
    hass: HomeAssistant, entry: ConfigEntry, server: str, devices: str
) -> None:
    """Raise ``indi_other_server``: the server at ``server`` serves only ``devices`` (new ones)."""
    _async_raise(
        hass,
        entry,
        ISSUE_INDI_OTHER_SERVER,
        "indi_other_server",
        {"server": server, "devices": devices},
    )


@callback
def async_raise_sepl_gateway_replaced_issue(
    hass: HomeAssistant, entry: ConfigEntry, url: str, old: str, new: str
) -> None:
    """Raise ``sepl_gateway_replaced``: the platform at ``url`` gave gateway ``new`` for ``old``."""
    _async_raise(
        hass,
        entry,
        ISSUE_SEPL_GATEWAY_REPLACED,
        "sepl_gateway_replaced",
        {"url": url, "old": old, "new": new},
    )


@callback
def async_raise_sepl_certificate_issue(
    hass: HomeAssistant, entry: ConfigEntry, url: str, error: str
) -> None:
    """Raise ``sepl_certificate`` (an error): the ``wss://`` certificate of ``url`` was refused.

    ``error`` is the TLS library's reason; the issue does not clear itself until the connector
    connects (a refused certificate does not fix itself).
    """
    _async_raise(
        hass,
        entry,
        ISSUE_SEPL_CERTIFICATE,
        "sepl_certificate",
        {"url": url, "error": error},
        ir.IssueSeverity.ERROR,
    )


def sepl_device_rejected_kind(registry_id: str) -> str:
    """The issue kind of one exposed entity the SEPL platform refuses (see :func:`issue_id`).

    ``registry_id`` is the entity's entity-registry id (stable across renames).
    """
    return f"{ISSUE_SEPL_DEVICE_REJECTED}_{registry_id}"


@callback
def async_raise_sepl_device_rejected_issue(
    hass: HomeAssistant, entry: ConfigEntry, registry_id: str, entity: str, uri: str, error: str
) -> None:
    """Raise ``sepl_device_rejected``: the platform refused ``entity``'s device ``uri``.

    ``error`` is the platform's own text (docs/sepl.md); the connector clears the issue once
    the platform accepts the device.
    """
    _async_raise(
        hass,
        entry,
        sepl_device_rejected_kind(registry_id),
        "sepl_device_rejected",
        {"entity": entity, "uri": uri, "error": error},
    )


def midea_other_device_kind(appliance_id: str) -> str:
    """The issue kind of another appliance at one appliance's address (see :func:`issue_id`)."""
    return f"{ISSUE_MIDEA_OTHER_DEVICE}_{appliance_id}"


@callback
def async_delete_issue(hass: HomeAssistant, kind: str, entry: ConfigEntry) -> None:
    """Clear issue ``kind`` of ``entry`` (nothing happens when it is not raised)."""
    ir.async_delete_issue(hass, DOMAIN, issue_id(kind, entry))


@callback
def async_wait_for_mqtt(
    hass: HomeAssistant, entry: ConfigEntry, start: Callable[[], Awaitable[None]]
) -> None:
    """Raise ``mqtt_bridge_without_mqtt`` and run ``start`` once MQTT is loaded.

    The issue is cleared when ``start`` succeeds and when the entry unloads.
    """
    async_raise_mqtt_bridge_issue(hass, entry)
    unsubscribe: CALLBACK_TYPE | None = None

    @callback
    def _stop_listening() -> None:
        nonlocal unsubscribe
        if unsubscribe is not None:
            unsubscribe()
            unsubscribe = None

    async def _async_component_loaded(event: Event) -> None:
        if event.data.get("component") != "mqtt":
            return
        try:
            await start()
        except HomeAssistantError:
            return  # still not usable: keep waiting, keep the issue
        async_delete_issue(hass, ISSUE_MQTT_BRIDGE, entry)
        _stop_listening()

    unsubscribe = hass.bus.async_listen(EVENT_COMPONENT_LOADED, _async_component_loaded)

    @callback
    def _unload() -> None:
        async_delete_issue(hass, ISSUE_MQTT_BRIDGE, entry)
        _stop_listening()

    entry.async_on_unload(_unload)


class PushChannelWatch:
    """Raises ``push_down`` while a push channel has been down for :data:`PUSH_DOWN_AFTER`.

    Call :meth:`async_set_connected` on every connection change (``channel`` names it in the
    issue, e.g. ``INDI server 127.0.0.1:7624``), also with ``False`` when the channel did not
    come up at start, and :meth:`async_stop` when the entry unloads.
    """

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, channel: str) -> None:
        """Prepare the watch; the clock runs from the first ``async_set_connected(False)``."""
        self._hass = hass
        self._entry = entry
        self._channel = channel
        self._cancel: CALLBACK_TYPE | None = None
        self._job = HassJob(self._async_down_too_long, cancel_on_shutdown=True)

    @callback
    def async_set_connected(self, connected: bool) -> None:
        """Note the channel's state: connected clears the issue, down starts the clock."""
        if connected:
            self._cancel_timer()
            async_delete_issue(self._hass, ISSUE_PUSH_DOWN, self._entry)
        elif self._cancel is None:
            self._cancel = async_call_later(self._hass, PUSH_DOWN_AFTER.total_seconds(), self._job)

    @callback
    def async_stop(self) -> None:
        """Stop watching and clear the issue."""
        self._cancel_timer()
        async_delete_issue(self._hass, ISSUE_PUSH_DOWN, self._entry)

    @callback
    def _cancel_timer(self) -> None:
        if self._cancel is not None:
            self._cancel()
            self._cancel = None

    @callback
    def _async_down_too_long(self, _now: datetime) -> None:
        self._cancel = None
        async_raise_push_down_issue(self._hass, self._entry, self._channel)
