"""Config flow steps of the INDI family (mixed into Switchboard's one config flow).

* ``indi``: host (``host`` or ``host:port``) and port (7624 by default); the server is tested
  with ``getProperties`` version 1.7 and its devices are listed;
* ``indi_devices``: optionally pick the INDI devices to follow (none picked: all of them);
* ``indi_reconfigure``: a new address and device selection for the entry.

The unique id is ``host:port``.
"""

import logging
from typing import Any

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.helpers.selector import (
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
import probatio

from ...const import CONF_FAMILY
from ...net import parse_host
from .client import IndiConnectionError, async_probe
from .const import CONF_DEVICES, DEFAULT_PORT, FAMILY_KEY

PROBE_TIMEOUT = 5.0
PROBE_COLLECT = 2.0

_LOGGER = logging.getLogger(__name__)


def parse_address(host: str, port: int) -> tuple[str, int]:
    """Split ``host[:port]`` typed into the host field; raise ValueError when invalid.

    ``port`` (the port field) applies when the host has none; parsed by ``net.parse_host``.
    """
    return parse_host(host, port)


class IndiFlow(ConfigFlow):
    """INDI steps; see the module docstring."""

    _indi_address: tuple[str, int]
    _indi_found: list[str]

    def _indi_address_schema(self, host: str = "", port: int = DEFAULT_PORT) -> probatio.Schema:
        return probatio.Schema(
            {
                probatio.Required(CONF_HOST, default=host): str,
                probatio.Required(CONF_PORT, default=port): probatio.All(
                    probatio.Coerce(int), probatio.Range(min=1, max=65535)
                ),
            }
        )

    async def _async_indi_check(self, user_input: dict[str, Any], errors: dict[str, str]) -> bool:
        try:
            self._indi_address = parse_address(user_input[CONF_HOST], user_input[CONF_PORT])
        except ValueError:
            errors[CONF_HOST] = "invalid_host"
            return False
        try:
            self._indi_found = await async_probe(
                *self._indi_address, timeout=PROBE_TIMEOUT, collect=PROBE_COLLECT
            )
        except IndiConnectionError:
            errors["base"] = "cannot_connect"
            return False
        except Exception:
            _LOGGER.exception("Unexpected error probing the INDI server")
            errors["base"] = "unknown"
            return False
        return True

    def _indi_devices_schema(self, default: list[str]) -> probatio.Schema:
        options = sorted({*self._indi_found, *default})
        return probatio.Schema(
            {
                probatio.Optional(CONF_DEVICES, default=default): SelectSelector(
                    SelectSelectorConfig(
                        options=options,
                        multiple=True,
                        custom_value=True,
                        mode=SelectSelectorMode.LIST,
                    )
                )
            }
        )

    async def async_step_indi(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the server address and test it."""
        errors: dict[str, str] = {}
        if user_input is not None and await self._async_indi_check(user_input, errors):
            host, port = self._indi_address
            await self.async_set_unique_id(f"{host}:{port}")
            self._abort_if_unique_id_configured()
            return await self.async_step_indi_devices()
        return self.async_show_form(
            step_id="indi",
            data_schema=self.add_suggested_values_to_schema(
                self._indi_address_schema(), user_input or {}
            ),
            errors=errors,
        )

    async def async_step_indi_devices(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Optionally restrict the entry to some INDI devices."""
        host, port = self._indi_address
        if user_input is not None:
            return self.async_create_entry(
                title=f"INDI {host}:{port}",
                data={
                    CONF_FAMILY: FAMILY_KEY,
                    CONF_HOST: host,
                    CONF_PORT: port,
                    CONF_DEVICES: list(user_input.get(CONF_DEVICES) or []),
                },
            )
        return self.async_show_form(
            step_id="indi_devices",
            data_schema=self._indi_devices_schema([]),
            description_placeholders={
                "server": f"{host}:{port}",
                "found": ", ".join(self._indi_found) or "-",
            },
        )

    async def async_step_indi_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the server address (and the device selection) of the entry."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None and await self._async_indi_check(user_input, errors):
            host, port = self._indi_address
            unique_id = f"{host}:{port}"
            if unique_id != entry.unique_id:
                await self.async_set_unique_id(unique_id)
                self._abort_if_unique_id_configured()
            return self.async_update_reload_and_abort(
                entry,
                unique_id=unique_id,
                title=f"INDI {host}:{port}",
                data_updates={
                    CONF_HOST: host,
                    CONF_PORT: port,
                    CONF_DEVICES: list(user_input.get(CONF_DEVICES) or []),
                },
            )
        self._indi_found = list(entry.data.get(CONF_DEVICES) or [])
        schema = probatio.Schema(
            {
                **self._indi_address_schema(
                    entry.data[CONF_HOST], entry.data.get(CONF_PORT, DEFAULT_PORT)
                ).schema,
                **self._indi_devices_schema(list(entry.data.get(CONF_DEVICES) or [])).schema,
            }
        )
        return self.async_show_form(
            step_id="indi_reconfigure",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or {}),
            errors=errors,
        )
