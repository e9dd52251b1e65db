"""Config flow steps of the Meross family: account sign-in, MFA, reauth, reconfigure."""

from collections.abc import Mapping
import logging
from typing import Any

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_PASSWORD
from homeassistant.data_entry_flow import section
from homeassistant.helpers.aiohttp_client import async_get_clientsession
import probatio

from ...const import CONF_FAMILY
from .cloud import DEFAULT_API_BASE_URL, MerossCloud, MerossCredentials, account_title
from .const import (
    CONF_ADVANCED,
    CONF_API_BASE_URL,
    CONF_CREDENTIALS,
    CONF_EMAIL,
    CONF_MFA_CODE,
    CONF_VERIFY_SSL,
    FAMILY_KEY,
)
from .errors import (
    MerossAuthError,
    MerossConnectionError,
    MerossMfaInvalidError,
    MerossMfaRequiredError,
    MerossRateLimitError,
)

_LOGGER = logging.getLogger(__name__)


class MerossFlow(ConfigFlow):
    """Mixin: ``meross`` menu entry and its follow-up steps."""

    _meross_pending: dict[str, Any]

    def _meross_schema(self, advanced: Mapping[str, Any] | None = None) -> probatio.Schema:
        """Email, password and the Advanced section.

        The section opens by itself when ``advanced`` (the values about to be shown) differs
        from the defaults, so a user who changed it sees it again after an error.
        """
        advanced = advanced or {}
        changed = (
            advanced.get(CONF_API_BASE_URL, DEFAULT_API_BASE_URL) != DEFAULT_API_BASE_URL
            or advanced.get(CONF_VERIFY_SSL, True) is not True
        )
        fields: dict[Any, Any] = {
            probatio.Required(CONF_EMAIL): str,
            probatio.Required(CONF_PASSWORD): str,
        }
        fields[probatio.Required(CONF_ADVANCED)] = section(
            probatio.Schema(
                {
                    probatio.Required(CONF_API_BASE_URL, default=DEFAULT_API_BASE_URL): str,
                    probatio.Required(CONF_VERIFY_SSL, default=True): bool,
                }
            ),
            {"collapsed": not changed},
        )
        return probatio.Schema(fields)

    async def _async_meross_login(
        self, pending: dict[str, Any], errors: dict[str, str]
    ) -> MerossCredentials | None:
        """Sign in with ``pending``; fill ``errors`` and return None on failure."""
        cloud = MerossCloud(async_get_clientsession(self.hass), pending[CONF_API_BASE_URL])
        try:
            return await cloud.async_login(
                pending[CONF_EMAIL], pending[CONF_PASSWORD], pending.get(CONF_MFA_CODE)
            )
        except MerossMfaRequiredError:
            errors["base"] = "mfa_required"
        except MerossMfaInvalidError:
            errors["base"] = "invalid_mfa"
        except MerossAuthError:
            errors["base"] = "invalid_auth"
        except MerossRateLimitError:
            errors["base"] = "rate_limited"
        except MerossConnectionError:
            errors["base"] = "cannot_connect"
        except Exception:
            _LOGGER.exception("Unexpected Meross sign-in error")
            errors["base"] = "unknown"
        return None

    def _meross_pending_from(self, user_input: dict[str, Any], email: str) -> dict[str, Any]:
        advanced = user_input.get(CONF_ADVANCED) or {}
        return {
            CONF_EMAIL: email.strip(),
            CONF_PASSWORD: user_input[CONF_PASSWORD],
            CONF_API_BASE_URL: str(advanced.get(CONF_API_BASE_URL) or DEFAULT_API_BASE_URL).rstrip(
                "/"
            ),
            CONF_VERIFY_SSL: bool(advanced.get(CONF_VERIFY_SSL, True)),
        }

    async def _async_meross_finish(self, credentials: MerossCredentials) -> ConfigFlowResult:
        pending = self._meross_pending
        data = {
            CONF_FAMILY: FAMILY_KEY,
            CONF_EMAIL: credentials.email,
            CONF_API_BASE_URL: pending[CONF_API_BASE_URL],
            CONF_VERIFY_SSL: pending[CONF_VERIFY_SSL],
            CONF_CREDENTIALS: credentials.as_dict(),
        }
        await self.async_set_unique_id(credentials.user_id)
        if self.source == "reauth":
            self._abort_if_unique_id_mismatch(reason="wrong_account")
            return self.async_update_reload_and_abort(self._get_reauth_entry(), data=data)
        if self.source == "reconfigure":
            self._abort_if_unique_id_mismatch(reason="wrong_account")
            return self.async_update_reload_and_abort(self._get_reconfigure_entry(), data=data)
        self._abort_if_unique_id_configured()
        return self.async_create_entry(title=account_title(credentials.email), data=data)

    async def _async_meross_try(
        self,
        step_id: str,
        user_input: dict[str, Any] | None,
        email: str | None,
        schema: probatio.Schema | None = None,
    ) -> ConfigFlowResult | None:
        errors: dict[str, str] = {}
        if user_input is None:
            return None
        self._meross_pending = self._meross_pending_from(
            user_input, email if email is not None else user_input[CONF_EMAIL]
        )
        credentials = await self._async_meross_login(self._meross_pending, errors)
        if credentials is not None:
            return await self._async_meross_finish(credentials)
        if errors.get("base") == "mfa_required":
            return await self.async_step_meross_mfa()
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(
                schema or self._meross_schema(user_input.get(CONF_ADVANCED)), user_input
            ),
            errors=errors,
            description_placeholders={"email": email or ""},
        )

    async def async_step_meross(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Sign in to a Meross account (email, password; API URL under Advanced)."""
        if (result := await self._async_meross_try("meross", user_input, None)) is not None:
            return result
        return self.async_show_form(step_id="meross", data_schema=self._meross_schema())

    async def async_step_meross_mfa(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the code of the account's authenticator app."""
        errors: dict[str, str] = {}
        if user_input is not None:
            pending = {**self._meross_pending, CONF_MFA_CODE: user_input[CONF_MFA_CODE].strip()}
            credentials = await self._async_meross_login(pending, errors)
            if credentials is not None:
                return await self._async_meross_finish(credentials)
        return self.async_show_form(
            step_id="meross_mfa",
            data_schema=probatio.Schema({probatio.Required(CONF_MFA_CODE): str}),
            errors=errors,
        )

    async def async_step_meross_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The token expired or was revoked: ask for the password again."""
        return await self.async_step_meross_reauth_confirm()

    async def async_step_meross_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Password (and MFA when asked) for the same account."""
        entry = self._get_reauth_entry()
        email = str(entry.data[CONF_EMAIL])
        schema = probatio.Schema({probatio.Required(CONF_PASSWORD): str})
        if user_input is not None:
            user_input = {
                CONF_PASSWORD: user_input[CONF_PASSWORD],
                CONF_ADVANCED: {
                    CONF_API_BASE_URL: entry.data[CONF_API_BASE_URL],
                    CONF_VERIFY_SSL: entry.data.get(CONF_VERIFY_SSL, True),
                },
            }
        result = await self._async_meross_try("meross_reauth_confirm", user_input, email, schema)
        if result is not None:
            return result
        return self.async_show_form(
            step_id="meross_reauth_confirm",
            data_schema=schema,
            description_placeholders={"email": email},
        )

    async def async_step_meross_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the password, API URL or certificate check of the same account."""
        entry = self._get_reconfigure_entry()
        if (
            result := await self._async_meross_try("meross_reconfigure", user_input, None)
        ) is not None:
            return result
        current = {
            CONF_EMAIL: entry.data[CONF_EMAIL],
            CONF_ADVANCED: {
                CONF_API_BASE_URL: entry.data[CONF_API_BASE_URL],
                CONF_VERIFY_SSL: entry.data.get(CONF_VERIFY_SSL, True),
            },
        }
        return self.async_show_form(
            step_id="meross_reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                self._meross_schema(current[CONF_ADVANCED]), current
            ),
        )
