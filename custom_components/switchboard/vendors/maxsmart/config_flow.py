"""Config flow steps of the MaxSmart family (mixed into Switchboard's one config flow).

* ``maxsmart``: broadcast discovery lists strips not configured yet, plus "enter an address";
* ``maxsmart_manual``: ``host[:port]`` (HTTP, port 80 by default) and, in a collapsed
  "advanced" section, the UDP discovery port;
* ``maxsmart_discovery`` / ``_confirm``: background discovery;
* ``maxsmart_reconfigure``: a new address for the same strip.

Every path checks the strip over HTTP (cmd 511) and identifies it over UDP before creating or
changing an entry.
"""

import logging
from typing import Any

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.data_entry_flow import section
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
)
import probatio

from ...const import CONF_FAMILY
from .client import (
    DEFAULT_HTTP_PORT,
    DEFAULT_UDP_PORT,
    MaxSmartClient,
    MaxSmartDeviceInfo,
    MaxSmartError,
    async_discover,
    parse_host,
)
from .const import CONF_DISCOVERY_PORT, CONF_MAC, CONF_SERIAL, FAMILY_KEY
from .discovery import async_discover_devices

CONF_DEVICE = "device"
CONF_ADVANCED = "advanced"
MANUAL = "manual"

_LOGGER = logging.getLogger(__name__)


class CannotConnect(Exception):
    """The strip did not answer cmd 511 over HTTP."""


class NoDiscoveryReply(Exception):
    """The strip answered HTTP but not the UDP discovery datagram."""


class MaxSmartFlow(ConfigFlow):
    """MaxSmart steps; see the module docstring."""

    _maxsmart_found: dict[str, MaxSmartDeviceInfo]
    _maxsmart_discovered: dict[str, Any]

    async def _async_maxsmart_probe(
        self, host: str, port: int, udp_port: int
    ) -> MaxSmartDeviceInfo:
        """Read the strip over HTTP, then identify it by unicast UDP discovery."""
        client = MaxSmartClient(async_get_clientsession(self.hass), host, port)
        try:
            await client.async_get_reading()
        except MaxSmartError as err:
            raise CannotConnect from err
        try:
            found = await async_discover(host, udp_port, timeout=2.0, max_devices=1)
        except MaxSmartError as err:
            raise NoDiscoveryReply from err
        if not found:
            raise NoDiscoveryReply
        return found[0]

    def _maxsmart_entry_data(
        self, info: MaxSmartDeviceInfo, host: str, port: int, udp_port: int
    ) -> dict[str, Any]:
        return {
            CONF_FAMILY: FAMILY_KEY,
            CONF_HOST: host,
            CONF_PORT: port,
            CONF_DISCOVERY_PORT: udp_port,
            CONF_SERIAL: info.serial,
            CONF_MAC: info.mac,
        }

    async def _async_maxsmart_create(
        self, info: MaxSmartDeviceInfo, host: str, port: int, udp_port: int
    ) -> ConfigFlowResult:
        await self.async_set_unique_id(info.serial, raise_on_progress=False)
        self._abort_if_unique_id_configured(
            updates={CONF_HOST: host, CONF_PORT: port, CONF_DISCOVERY_PORT: udp_port}
        )
        return self.async_create_entry(
            title=info.name or info.serial,
            data=self._maxsmart_entry_data(info, host, port, udp_port),
        )

    async def async_step_maxsmart(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """List strips found by broadcast that are not configured yet."""
        if user_input is not None:
            if (serial := user_input[CONF_DEVICE]) == MANUAL or serial not in self._maxsmart_found:
                return await self.async_step_maxsmart_manual()
            info = self._maxsmart_found[serial]
            try:
                answered = await self._async_maxsmart_probe(
                    info.host, DEFAULT_HTTP_PORT, info.udp_port
                )
                if answered.serial != serial:
                    # Another strip took that address since the broadcast.
                    raise NoDiscoveryReply
            except CannotConnect, NoDiscoveryReply:
                # Not on port 80 (or gone): let the user correct the address.
                return await self.async_step_maxsmart_manual(
                    suggested={
                        CONF_HOST: info.host,
                        CONF_ADVANCED: {CONF_DISCOVERY_PORT: info.udp_port},
                    },
                    errors={"base": "cannot_connect"},
                )
            return await self._async_maxsmart_create(
                answered, info.host, DEFAULT_HTTP_PORT, info.udp_port
            )

        configured = self._async_current_ids(include_ignore=True)
        self._maxsmart_found = {
            info.serial: info
            for info in await async_discover_devices(self.hass)
            if info.serial not in configured
        }
        if not self._maxsmart_found:
            # Say that discovery ran and found nothing new, then ask for the address.
            return await self.async_step_maxsmart_none_found()
        options = [
            SelectOptionDict(value=info.serial, label=f"{info.name} ({info.host}, {info.serial})")
            for info in self._maxsmart_found.values()
        ]
        options.append(SelectOptionDict(value=MANUAL, label=MANUAL))
        return self.async_show_form(
            step_id="maxsmart",
            data_schema=probatio.Schema(
                {
                    probatio.Required(CONF_DEVICE): SelectSelector(
                        SelectSelectorConfig(options=options, translation_key="maxsmart_device")
                    )
                }
            ),
        )

    def _maxsmart_address_schema(self) -> probatio.Schema:
        return probatio.Schema(
            {
                probatio.Required(CONF_HOST): str,
                probatio.Required(CONF_ADVANCED): section(
                    probatio.Schema(
                        {
                            probatio.Required(
                                CONF_DISCOVERY_PORT, default=DEFAULT_UDP_PORT
                            ): probatio.All(probatio.Coerce(int), probatio.Range(min=1, max=65535)),
                        }
                    ),
                    {"collapsed": True},
                ),
            }
        )

    async def _async_maxsmart_validate(
        self, user_input: dict[str, Any], errors: dict[str, str]
    ) -> tuple[MaxSmartDeviceInfo, str, int, int] | None:
        try:
            host, port = parse_host(user_input[CONF_HOST].strip())
        except ValueError:
            errors[CONF_HOST] = "invalid_host"
            return None
        advanced = user_input.get(CONF_ADVANCED) or {}
        udp_port = int(advanced.get(CONF_DISCOVERY_PORT, DEFAULT_UDP_PORT))
        try:
            info = await self._async_maxsmart_probe(host, port, udp_port)
        except CannotConnect:
            errors["base"] = "cannot_connect"
        except NoDiscoveryReply:
            errors["base"] = "no_discovery_reply"
        except Exception:
            _LOGGER.exception("Unexpected error probing the MaxSmart strip")
            errors["base"] = "unknown"
        else:
            return info, host, port, udp_port
        return None

    async def async_step_maxsmart_none_found(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The address form, saying that discovery found no strip that is not set up yet."""
        return await self.async_step_maxsmart_manual(user_input, step_id="maxsmart_none_found")

    async def async_step_maxsmart_manual(
        self,
        user_input: dict[str, Any] | None = None,
        *,
        suggested: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        step_id: str = "maxsmart_manual",
    ) -> ConfigFlowResult:
        """Add a strip by address: ``host`` or ``host:port``."""
        errors = dict(errors or {})
        if user_input is not None and (
            result := await self._async_maxsmart_validate(user_input, errors)
        ):
            return await self._async_maxsmart_create(*result)
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(
                self._maxsmart_address_schema(), user_input or suggested or {}
            ),
            errors=errors,
        )

    async def async_step_maxsmart_discovery(
        self, discovery_info: dict[str, Any]
    ) -> ConfigFlowResult:
        """A strip seen by background discovery: update a known one, or offer to add it."""
        serial = str(discovery_info[CONF_SERIAL])
        host = str(discovery_info[CONF_HOST])
        udp_port = int(discovery_info.get(CONF_DISCOVERY_PORT) or DEFAULT_UDP_PORT)
        mac = discovery_info.get(CONF_MAC)
        if mac:
            for entry in self._async_current_entries(include_ignore=False):
                if (
                    entry.data.get(CONF_FAMILY) == FAMILY_KEY
                    and entry.data.get(CONF_MAC) == mac
                    and entry.unique_id != serial
                ):
                    self.hass.config_entries.async_update_entry(
                        entry, data={**entry.data, CONF_HOST: host}
                    )
                    self.hass.config_entries.async_schedule_reload(entry.entry_id)
                    return self.async_abort(reason="already_configured")
        await self.async_set_unique_id(serial)
        self._abort_if_unique_id_configured(
            updates={CONF_HOST: host, CONF_DISCOVERY_PORT: udp_port}
        )
        self._maxsmart_discovered = dict(discovery_info)
        self.context["title_placeholders"] = {"name": str(discovery_info.get("name") or serial)}
        return await self.async_step_maxsmart_discovery_confirm()

    async def async_step_maxsmart_discovery_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Confirm adding a discovered strip (HTTP on port 80, as real strips serve it)."""
        errors: dict[str, str] = {}
        found = self._maxsmart_discovered
        host = str(found[CONF_HOST])
        udp_port = int(found.get(CONF_DISCOVERY_PORT) or DEFAULT_UDP_PORT)
        if user_input is not None:
            try:
                info = await self._async_maxsmart_probe(host, DEFAULT_HTTP_PORT, udp_port)
            except CannotConnect:
                errors["base"] = "cannot_connect"
            except NoDiscoveryReply:
                errors["base"] = "no_discovery_reply"
            except Exception:
                _LOGGER.exception("Unexpected error probing the MaxSmart strip")
                errors["base"] = "unknown"
            else:
                return await self._async_maxsmart_create(info, host, DEFAULT_HTTP_PORT, udp_port)
        return self.async_show_form(
            step_id="maxsmart_discovery_confirm",
            description_placeholders={
                "name": str(found.get("name") or found[CONF_SERIAL]),
                "host": host,
            },
            errors=errors,
        )

    async def async_step_maxsmart_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Give a configured strip a new address; it must be the same strip (serial)."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None and (
            result := await self._async_maxsmart_validate(user_input, errors)
        ):
            info, host, port, udp_port = result
            await self.async_set_unique_id(info.serial)
            self._abort_if_unique_id_mismatch(reason="wrong_device")
            return self.async_update_reload_and_abort(
                entry, data_updates=self._maxsmart_entry_data(info, host, port, udp_port)
            )
        port = entry.data.get(CONF_PORT, DEFAULT_HTTP_PORT)
        current = {
            CONF_HOST: entry.data[CONF_HOST] + ("" if port == DEFAULT_HTTP_PORT else f":{port}"),
            CONF_ADVANCED: {
                CONF_DISCOVERY_PORT: entry.data.get(CONF_DISCOVERY_PORT, DEFAULT_UDP_PORT)
            },
        }
        return self.async_show_form(
            step_id="maxsmart_reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                self._maxsmart_address_schema(), user_input or current
            ),
            errors=errors,
        )
