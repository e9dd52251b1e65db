"""Config flow steps of the SEPL platform connector: account, reauth, reconfigure, options."""

from collections.abc import Mapping
import logging
from typing import Any
from urllib.parse import urlsplit

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult, OptionsFlowWithReload
from homeassistant.const import CONF_PASSWORD, CONF_URL, CONF_USERNAME, CONF_VERIFY_SSL
from homeassistant.data_entry_flow import section
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    SelectSelector,
    SelectSelectorConfig,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import probatio

from .catalogue import DEVICE_TYPES
from .client import SeplAuthError, SeplCertificateError, SeplClient, SeplError
from .const import (
    CONF_DEVICE_TYPES,
    CONF_EXCLUDE_DOMAINS,
    CONF_EXCLUDE_ENTITIES,
    CONF_EXPORTER,
    CONF_GATEWAY_ID,
    CONF_INCLUDE_DOMAINS,
    CONF_INCLUDE_ENTITIES,
    EXPORTER_SEPL,
)

_LOGGER = logging.getLogger(__name__)


def valid_url(url: str) -> str | None:
    """``url`` trimmed when it is a ``ws://`` / ``wss://`` URL with a host, else ``None``."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        return None
    if parts.scheme not in {"ws", "wss"} or not parts.hostname or not port_ok:
        return None
    return url


def _account_schema(defaults: Mapping[str, Any]) -> probatio.Schema:
    return probatio.Schema(
        {
            probatio.Required(CONF_URL, default=defaults.get(CONF_URL, "")): TextSelector(
                TextSelectorConfig(type=TextSelectorType.URL)
            ),
            probatio.Required(CONF_USERNAME, default=defaults.get(CONF_USERNAME, "")): str,
            probatio.Required(CONF_PASSWORD): TextSelector(
                TextSelectorConfig(type=TextSelectorType.PASSWORD)
            ),
            probatio.Required(CONF_VERIFY_SSL, default=defaults.get(CONF_VERIFY_SSL, True)): bool,
        }
    )


class SeplFlow(ConfigFlow):
    """Mixin: ``sepl`` menu entry and its reauth / reconfigure steps."""

    async def _async_sepl_probe(
        self, data: Mapping[str, Any], errors: dict[str, str]
    ) -> str | None:
        """Hand the credentials to the platform; the gateway id, or ``None`` with ``errors``."""
        verify = bool(data.get(CONF_VERIFY_SSL, True))
        client = SeplClient(
            async_get_clientsession(self.hass, verify_ssl=verify),
            data[CONF_URL],
            data[CONF_USERNAME],
            data[CONF_PASSWORD],
            gateway_id=data.get(CONF_GATEWAY_ID, ""),
            ssl_context=verify,
        )
        try:
            return await client.async_probe()
        except SeplAuthError:
            errors["base"] = "sepl_invalid_auth"
        except SeplCertificateError as err:
            _LOGGER.debug("SEPL platform %s: %s", data[CONF_URL], err)
            errors["base"] = "sepl_certificate"
        except SeplError as err:
            _LOGGER.debug("SEPL platform %s not reached: %s", data[CONF_URL], err)
            errors["base"] = "sepl_cannot_connect"
        except Exception:
            _LOGGER.exception("Unexpected error while connecting to the SEPL platform")
            errors["base"] = "unknown"
        return None

    async def _async_sepl_account(
        self, step_id: str, user_input: dict[str, Any] | None, current: Mapping[str, Any]
    ) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            url = valid_url(str(user_input[CONF_URL]))
            username = str(user_input[CONF_USERNAME]).strip()
            if url is None:
                errors[CONF_URL] = "invalid_url"
            else:
                same_account = (url, username) == (
                    current.get(CONF_URL),
                    current.get(CONF_USERNAME),
                )
                data = {
                    CONF_EXPORTER: EXPORTER_SEPL,
                    CONF_URL: url,
                    CONF_USERNAME: username,
                    CONF_PASSWORD: user_input[CONF_PASSWORD],
                    CONF_VERIFY_SSL: bool(user_input[CONF_VERIFY_SSL]),
                    # a different account or platform gets its own gateway
                    CONF_GATEWAY_ID: current.get(CONF_GATEWAY_ID, "") if same_account else "",
                }
                if (gateway_id := await self._async_sepl_probe(data, errors)) is not None:
                    data[CONF_GATEWAY_ID] = gateway_id
                    unique_id = f"{username}@{urlsplit(url).netloc}".lower()
                    if self.source == "reconfigure":
                        return self.async_update_reload_and_abort(
                            self._get_reconfigure_entry(), unique_id=unique_id, data=data
                        )
                    await self.async_set_unique_id(unique_id)
                    self._abort_if_unique_id_configured()
                    return self.async_create_entry(title=f"SEPL {unique_id}", data=data)
        return self.async_show_form(
            step_id=step_id,
            data_schema=_account_schema({**current, **(user_input or {})}),
            errors=errors,
        )

    async def async_step_sepl(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Connect a SEPL platform account: websocket URL, user, password, verify TLS."""
        return await self._async_sepl_account("sepl", user_input, {})

    async def async_step_sepl_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the URL, account, password or TLS verification of the entry."""
        return await self._async_sepl_account(
            "sepl_reconfigure", user_input, self._get_reconfigure_entry().data
        )

    async def async_step_sepl_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The platform keeps refusing the credentials: ask for the password again."""
        return await self.async_step_sepl_reauth_confirm()

    async def async_step_sepl_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the password of the entry's account and check it."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, CONF_PASSWORD: user_input[CONF_PASSWORD]}
            if (gateway_id := await self._async_sepl_probe(data, errors)) is not None:
                return self.async_update_reload_and_abort(
                    entry, data={**data, CONF_GATEWAY_ID: gateway_id}
                )
        return self.async_show_form(
            step_id="sepl_reauth_confirm",
            data_schema=probatio.Schema(
                {
                    probatio.Required(CONF_PASSWORD): TextSelector(
                        TextSelectorConfig(type=TextSelectorType.PASSWORD)
                    )
                }
            ),
            errors=errors,
            description_placeholders={
                CONF_USERNAME: entry.data[CONF_USERNAME],
                CONF_URL: entry.data[CONF_URL],
            },
        )


def _domains() -> SelectSelector:
    return SelectSelector(
        SelectSelectorConfig(options=sorted(DEVICE_TYPES), multiple=True, sort=True)
    )


class SeplOptionsFlow(OptionsFlowWithReload):
    """What is exposed (entity filter) and the device type of each domain."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show the connector's options."""
        return await self.async_step_sepl(user_input)

    async def async_step_sepl(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Entity filter (default: every Switchboard entity) and domain -> device-type table."""
        errors: dict[str, str] = {}
        if user_input is not None:
            types = {
                domain: str(value).strip()
                for domain, value in (user_input.get(CONF_DEVICE_TYPES) or {}).items()
            }
            if any(not value for value in types.values()):
                errors["base"] = "empty_device_type"
            else:
                return self.async_create_entry(data={**user_input, CONF_DEVICE_TYPES: types})
        options = self.config_entry.options
        current_types = options.get(CONF_DEVICE_TYPES) or {}
        schema = probatio.Schema(
            {
                probatio.Optional(CONF_INCLUDE_DOMAINS, default=[]): _domains(),
                probatio.Optional(CONF_INCLUDE_ENTITIES, default=[]): EntitySelector(
                    EntitySelectorConfig(multiple=True)
                ),
                probatio.Optional(CONF_EXCLUDE_DOMAINS, default=[]): _domains(),
                probatio.Optional(CONF_EXCLUDE_ENTITIES, default=[]): EntitySelector(
                    EntitySelectorConfig(multiple=True)
                ),
                probatio.Required(CONF_DEVICE_TYPES): section(
                    probatio.Schema(
                        {
                            probatio.Required(
                                domain, default=current_types.get(domain, type_def.id)
                            ): str
                            for domain, type_def in DEVICE_TYPES.items()
                        }
                    ),
                    {"collapsed": True},
                ),
            }
        )
        return self.async_show_form(
            step_id="sepl",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or options),
            errors=errors,
        )
