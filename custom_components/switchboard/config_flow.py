"""One config flow for every family: a menu first, then the chosen family's steps.

Each family contributes a mixin (``vendors/<family>/config_flow.py``) whose
``async_step_<family>`` is the menu entry and whose ``async_step_<family>_discovery``,
``_reauth`` and ``_reconfigure`` steps this base dispatches to. The options flow is shared:
polling settings every family has, plus the family's own fields.
"""

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from homeassistant.components.mqtt import DOMAIN as MQTT_DOMAIN
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.core import callback
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
)
import probatio

from .const import (
    CONF_BURST_CYCLES,
    CONF_BURST_INTERVAL,
    CONF_FAMILY,
    CONF_SCAN_INTERVAL,
    DOMAIN,
)
from .export.mqtt.bridge import (
    CONF_BRIDGE,
    CONF_BRIDGE_ENABLED,
    options_section as bridge_options_section,
    validate_options as validate_bridge,
)
from .export.sepl.config_flow import SeplFlow, SeplOptionsFlow
from .export.sepl.const import EXPORTER_SEPL, is_connector_entry
from .families import FAMILIES
from .vendors.indi.config_flow import IndiFlow
from .vendors.maxsmart.config_flow import MaxSmartFlow
from .vendors.meross.config_flow import MerossFlow
from .vendors.midea.config_flow import MideaFlow


class SwitchboardFlowBase(ConfigFlow):
    """The menu and the dispatch of discovery, reauth and reconfigure to the family."""

    VERSION = 1

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Let the user pick a device family."""
        return self.async_show_menu(step_id="user", menu_options=[*FAMILIES, EXPORTER_SEPL])

    async def async_step_integration_discovery(
        self, discovery_info: dict[str, Any]
    ) -> ConfigFlowResult:
        """Hand a family's background discovery to its ``<family>_discovery`` step."""
        return await self._family_step(str(discovery_info.get(CONF_FAMILY)), "discovery")(
            discovery_info
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Hand reauthentication to the entry's family (or connector)."""
        return await self._family_step(_kind(entry_data), "reauth")(entry_data)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Hand reconfiguration to the entry's family."""
        kind = _kind(self._get_reconfigure_entry().data)
        return await self._family_step(kind, "reconfigure")(user_input)

    def _family_step(self, family: str, step: str) -> Callable[[Any], Awaitable[ConfigFlowResult]]:
        handler: Callable[[Any], Awaitable[ConfigFlowResult]] | None = getattr(
            self, f"async_step_{family}_{step}", None
        )
        if (family not in FAMILIES and family != EXPORTER_SEPL) or handler is None:
            return self._not_supported
        return handler

    async def _not_supported(self, _: Any = None) -> ConfigFlowResult:
        return self.async_abort(reason="not_supported")

    @staticmethod
    @callback
    def async_get_options_flow(
        config_entry: ConfigEntry,
    ) -> SwitchboardOptionsFlow | SeplOptionsFlow:
        """Return the shared options flow (a connector entry: the connector's)."""
        if is_connector_entry(config_entry.data):
            return SeplOptionsFlow()
        return SwitchboardOptionsFlow()


def _kind(data: Mapping[str, Any]) -> str:
    """The family key of an entry, or ``sepl`` for a connector entry."""
    return EXPORTER_SEPL if is_connector_entry(data) else str(data.get(CONF_FAMILY))


class SwitchboardConfigFlow(
    MaxSmartFlow, IndiFlow, MerossFlow, MideaFlow, SeplFlow, SwitchboardFlowBase, domain=DOMAIN
):
    """Switchboard's config flow: the base plus every family's mixin."""


def _seconds(minimum: float, maximum: float, step: float) -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(
            min=minimum,
            max=maximum,
            step=step,
            unit_of_measurement="s",
            mode=NumberSelectorMode.BOX,
        )
    )


class SwitchboardOptionsFlow(OptionsFlowWithReload):
    """Polling (normal interval, burst interval and cycles) plus the family's own options."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show and validate the options; the entry reloads with them."""
        family = FAMILIES[self.config_entry.data[CONF_FAMILY]]
        errors: dict[str, str] = {}
        if user_input is not None:
            errors |= validate_bridge(user_input, self.config_entry.options)
            if (user_input.get(CONF_BRIDGE) or {}).get(
                CONF_BRIDGE_ENABLED
            ) and not self.hass.config_entries.async_loaded_entries(MQTT_DOMAIN):
                # The bridge publishes through Home Assistant's MQTT integration: refuse
                # rather than save a bridge that does nothing (a repair covers MQTT removed
                # later).
                errors[CONF_BRIDGE] = "mqtt_not_set_up"
            if user_input.get(CONF_BURST_INTERVAL, 0) > user_input[CONF_SCAN_INTERVAL]:
                errors[CONF_BURST_INTERVAL] = "burst_slower_than_normal"
            elif not errors:
                return self.async_create_entry(data=user_input)
        current = family.polling.with_options(self.config_entry.options)
        schema = probatio.Schema(
            {
                probatio.Required(
                    CONF_SCAN_INTERVAL, default=current.normal.total_seconds()
                ): _seconds(1, 3600, 1),
                **(
                    {
                        probatio.Required(
                            CONF_BURST_INTERVAL, default=current.burst.total_seconds()
                        ): _seconds(0.5, 600, 0.5),
                        probatio.Required(
                            CONF_BURST_CYCLES, default=current.burst_cycles
                        ): NumberSelector(
                            NumberSelectorConfig(min=0, max=30, step=1, mode=NumberSelectorMode.BOX)
                        ),
                    }
                    if family.bursts
                    else {}
                ),
                **family.options_schema(self.config_entry),
                **bridge_options_section(self.config_entry),
            }
        )
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                schema, user_input or self.config_entry.options
            ),
            errors=errors,
        )
