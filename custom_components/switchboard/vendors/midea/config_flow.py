"""Config flow steps of the Midea / Comfee family.

* ``midea`` (menu entry): ``midea_account`` or ``midea_appliance``.
* ``midea_account``: account, password, cloud (NetHome Plus by default); under *Advanced* the
  API address and the appliances' discovery port. Signs in, lists the account's dehumidifiers and
  air conditioners, finds them on the LAN (broadcast on Home Assistant's enabled networks),
  fetches each V3 appliance's token and key from the cloud and checks them against the
  appliance. Appliances whose key the cloud refuses (error 9999, usual since August 2026) go to
  ``midea_account_keys``, one at a time, where the user types the token and key or skips the
  appliance; the entry is created for every appliance that works.
* ``midea_appliance``: an IP address; discovery at that address identifies the appliance (and
  ``midea_appliance_pick`` chooses when several answer there); V3 appliances then need
  ``midea_appliance_keys`` (token and key, hex). Errors: ``no_answer``, ``wrong_token``,
  ``wrong_key``, ``unsupported``, ``invalid_token``, ``invalid_key``; already configured aborts.
* ``midea_reauth``: the account's password again. ``midea_reconfigure``: an appliance's address,
  token and key. ``midea_discovery`` (background discovery) and ``dhcp``: an appliance seen at a
  new address gets it, found by appliance id or MAC, without a reload; a new one is offered
  (``midea_discovery_confirm``). An account's new appliance whose key the cloud refused is
  offered with the cloud's error code and asks for its token and key
  (``midea_discovery_keys``, as ``midea_account_keys`` does in the account's own set-up).
"""

from collections.abc import Mapping
import logging
import re
from typing import Any

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_HOST, CONF_PASSWORD
from homeassistant.data_entry_flow import AbortFlow, section
from homeassistant.helpers.selector import (
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.helpers.service_info.dhcp import DhcpServiceInfo
from midealocal.cloud import SUPPORTED_CLOUDS
import probatio

from ...const import CONF_FAMILY
from .client import ApplianceConfig, UnsupportedAppliance, async_check_appliance
from .cloud import (
    CloudFailed,
    account_title,
    appliance_config,
    async_list,
    async_login,
    async_resolve,
    make_cloud,
)
from .const import (
    CONF_ACCOUNT,
    CONF_API_URL,
    CONF_APPLIANCES,
    CONF_CLOUD,
    CONF_CLOUD_CODE,
    CONF_DISCOVERY_PORT,
    DEFAULT_CLOUD,
    DEFAULT_DISCOVERY_PORT,
    FAMILY_KEY,
)
from .discovery import discovery_ports
from .lan import (
    DiscoveredAppliance,
    MideaLanError,
    WrongKey,
    WrongToken,
    async_discover,
)

_LOGGER = logging.getLogger(__name__)

CONF_ADVANCED = "advanced"
CONF_TOKEN = "token"  # noqa: S105 - a field name
CONF_KEY = "key"
CONF_APPLIANCE = "appliance"
_HEX = re.compile(r"^[0-9a-fA-F]+$")


def _hex_field(value: str | None, length: int) -> str | None:
    """A token (128 hex digits) or key (64) as lowercase hex, or ``None`` if malformed."""
    text = (value or "").strip().replace(" ", "")
    if len(text) != length or not _HEX.match(text):
        return None
    return text.lower()


async def _async_check(config: ApplianceConfig) -> str | None:
    """The form error of a connection check, or ``None`` when the appliance answers."""
    try:
        await async_check_appliance(config)
    except WrongToken:
        return "wrong_token"
    except WrongKey:
        return "wrong_key"
    except UnsupportedAppliance:
        return "unsupported"
    except MideaLanError:
        return "no_answer"
    return None


class MideaFlow(ConfigFlow):
    """Mixin: ``midea`` menu entry and its follow-up steps."""

    _midea_account: dict[str, Any]
    _midea_ready: dict[str, ApplianceConfig]
    _midea_pending: list[ApplianceConfig]
    _midea_refusals: dict[str, int]
    _midea_found: dict[int, DiscoveredAppliance]
    _midea_discovery_port: int
    _midea_cloud_code: int | None = None

    async def async_step_midea(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose between the whole account and one appliance by address."""
        return self.async_show_menu(
            step_id="midea", menu_options=["midea_account", "midea_appliance"]
        )

    # Account path -------------------------------------------------------------------------

    def _midea_account_schema(self) -> probatio.Schema:
        return probatio.Schema(
            {
                probatio.Required(CONF_ACCOUNT): TextSelector(
                    TextSelectorConfig(type=TextSelectorType.EMAIL, autocomplete="username")
                ),
                probatio.Required(CONF_PASSWORD): TextSelector(
                    TextSelectorConfig(
                        type=TextSelectorType.PASSWORD, autocomplete="current-password"
                    )
                ),
                probatio.Required(CONF_CLOUD, default=DEFAULT_CLOUD): SelectSelector(
                    SelectSelectorConfig(
                        options=list(SUPPORTED_CLOUDS), mode=SelectSelectorMode.DROPDOWN
                    )
                ),
                probatio.Required(CONF_ADVANCED): section(
                    probatio.Schema(
                        {
                            probatio.Optional(CONF_API_URL): TextSelector(
                                TextSelectorConfig(type=TextSelectorType.URL)
                            ),
                            probatio.Required(
                                CONF_DISCOVERY_PORT, default=DEFAULT_DISCOVERY_PORT
                            ): probatio.All(probatio.Coerce(int), probatio.Range(min=1, max=65535)),
                        }
                    ),
                    {"collapsed": True},
                ),
            }
        )

    async def async_step_midea_account(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Sign in, list the account's appliances, find them and get their keys."""
        errors: dict[str, str] = {}
        placeholders = {"code": ""}
        if user_input is not None:
            advanced = user_input.get(CONF_ADVANCED, {})
            data = {
                CONF_ACCOUNT: str(user_input[CONF_ACCOUNT]).strip(),
                CONF_PASSWORD: user_input[CONF_PASSWORD],
                CONF_CLOUD: user_input[CONF_CLOUD],
                CONF_API_URL: advanced.get(CONF_API_URL) or None,
                CONF_DISCOVERY_PORT: int(advanced.get(CONF_DISCOVERY_PORT, DEFAULT_DISCOVERY_PORT)),
            }
            cloud = make_cloud(self.hass, data)
            try:
                await async_login(cloud)
                await self.async_set_unique_id(f"{data[CONF_CLOUD]}:{data[CONF_ACCOUNT].lower()}")
                self._abort_if_unique_id_configured()
                listed = await async_list(cloud)
                resolved = await async_resolve(self.hass, cloud, listed, data[CONF_DISCOVERY_PORT])
            except CloudFailed as err:
                errors["base"] = err.error
                placeholders["code"] = err.code or "-"
            except AbortFlow:
                raise
            except Exception:
                _LOGGER.exception("Unexpected error adding the Midea account")
                errors["base"] = "unknown"
            else:
                self._midea_account = data
                self._midea_ready = resolved.ready
                self._midea_pending = resolved.pending
                self._midea_refusals = resolved.refusals
                if self._midea_ready or self._midea_pending:
                    return await self.async_step_midea_account_keys()
                errors["base"] = "no_appliances_found"
        return self.async_show_form(
            step_id="midea_account",
            data_schema=self.add_suggested_values_to_schema(
                self._midea_account_schema(), user_input or {}
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    def _midea_keys_schema(self, required: bool) -> probatio.Schema:
        marker = probatio.Required if required else probatio.Optional
        return probatio.Schema(
            {
                marker(CONF_TOKEN): TextSelector(
                    TextSelectorConfig(type=TextSelectorType.PASSWORD)
                ),
                marker(CONF_KEY): TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD)),
            }
        )

    async def _async_midea_keys(
        self, config: ApplianceConfig, user_input: dict[str, Any], errors: dict[str, str]
    ) -> ApplianceConfig | None:
        """Validate typed token and key, then check them against the appliance."""
        token = _hex_field(user_input.get(CONF_TOKEN), 128)
        key = _hex_field(user_input.get(CONF_KEY), 64)
        if token is None:
            errors[CONF_TOKEN] = "invalid_token"
        if key is None:
            errors[CONF_KEY] = "invalid_key"
        if token is None or key is None:
            return None
        candidate = config.with_changes(token=token, key=key)
        if error := await _async_check(candidate):
            errors["base"] = error
            return None
        return candidate

    async def async_step_midea_account_keys(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the token and key of each appliance the cloud would not give; then create."""
        errors: dict[str, str] = {}
        if self._midea_pending and user_input is not None:
            config = self._midea_pending[0]
            if not user_input.get(CONF_TOKEN) and not user_input.get(CONF_KEY):
                self._midea_pending.pop(0)
            elif checked := await self._async_midea_keys(config, user_input, errors):
                self._midea_ready[str(config.appliance_id)] = checked
                self._midea_pending.pop(0)
        if not self._midea_pending:
            if not self._midea_ready:
                return self.async_abort(reason="no_appliances_configured")
            data = self._midea_account
            return self.async_create_entry(
                title=account_title(data[CONF_ACCOUNT]),
                data={
                    CONF_FAMILY: FAMILY_KEY,
                    **data,
                    CONF_APPLIANCES: {
                        appliance_id: config.as_dict()
                        for appliance_id, config in self._midea_ready.items()
                    },
                },
            )
        config = self._midea_pending[0]
        return self.async_show_form(
            step_id="midea_account_keys",
            data_schema=self._midea_keys_schema(required=False),
            errors=errors,
            description_placeholders={
                "name": config.name,
                "host": config.host,
                "code": str(self._midea_refusals.get(str(config.appliance_id), "-")),
                "ready": ", ".join(c.name for c in self._midea_ready.values()) or "-",
            },
        )

    # Single appliance path ----------------------------------------------------------------

    async def async_step_midea_appliance(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Identify the appliance at an address by discovery."""
        errors: dict[str, str] = {}
        if user_input is not None:
            host = str(user_input[CONF_HOST]).strip()
            port = int(
                user_input.get(CONF_ADVANCED, {}).get(CONF_DISCOVERY_PORT, DEFAULT_DISCOVERY_PORT)
            )
            # A unicast reply comes at once; the second lets several appliances behind one
            # address (a bridge, the emulator) answer too.
            self._midea_discovery_port = port
            try:
                found = await async_discover([host], discovery_ports(port), wait=1.0)
            except Exception:
                _LOGGER.exception("Unexpected error discovering the Midea appliance")
                found = None
            supported = {key: value for key, value in (found or {}).items() if value.supported}
            if found is None:
                errors["base"] = "unknown"
            elif not found:
                errors["base"] = "no_answer"
            elif not supported:
                errors["base"] = "unsupported"
            else:
                self._midea_found = supported
                if len(supported) == 1:
                    return await self._async_midea_single(next(iter(supported.values())))
                return await self.async_step_midea_appliance_pick()
        schema = probatio.Schema(
            {
                probatio.Required(CONF_HOST): str,
                probatio.Required(CONF_ADVANCED): section(
                    probatio.Schema(
                        {
                            probatio.Required(
                                CONF_DISCOVERY_PORT, default=DEFAULT_DISCOVERY_PORT
                            ): probatio.All(probatio.Coerce(int), probatio.Range(min=1, max=65535))
                        }
                    ),
                    {"collapsed": True},
                ),
            }
        )
        return self.async_show_form(
            step_id="midea_appliance",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or {}),
            errors=errors,
        )

    async def async_step_midea_appliance_pick(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Several appliances answered at that address: choose one."""
        if user_input is not None:
            return await self._async_midea_single(
                self._midea_found[int(user_input[CONF_APPLIANCE])]
            )
        options = [
            SelectOptionDict(
                value=str(appliance_id), label=f"{_default_name(found)} ({found.model})"
            )
            for appliance_id, found in self._midea_found.items()
        ]
        return self.async_show_form(
            step_id="midea_appliance_pick",
            data_schema=probatio.Schema(
                {
                    probatio.Required(CONF_APPLIANCE): SelectSelector(
                        SelectSelectorConfig(options=options)
                    )
                }
            ),
        )

    def _midea_configured_ids(self) -> set[str]:
        return {
            appliance_id
            for entry in self._async_current_entries(include_ignore=False)
            if entry.data.get(CONF_FAMILY) == FAMILY_KEY
            for appliance_id in entry.data.get(CONF_APPLIANCES, {})
        }

    async def _async_midea_single(self, found: DiscoveredAppliance) -> ConfigFlowResult:
        if str(found.appliance_id) in self._midea_configured_ids():
            return self.async_abort(reason="already_configured")
        await self.async_set_unique_id(str(found.appliance_id), raise_on_progress=False)
        self._abort_if_unique_id_configured()
        self._midea_found = {found.appliance_id: found}
        if found.protocol == 3:
            return await self.async_step_midea_appliance_keys()
        config = appliance_config(found, _default_name(found))
        if error := await _async_check(config):
            return self.async_abort(reason=error)
        return self._async_midea_create_single(config)

    def _async_midea_create_single(self, config: ApplianceConfig) -> ConfigFlowResult:
        return self.async_create_entry(
            title=config.name,
            data={
                CONF_FAMILY: FAMILY_KEY,
                CONF_DISCOVERY_PORT: getattr(self, "_midea_discovery_port", DEFAULT_DISCOVERY_PORT),
                CONF_APPLIANCES: {str(config.appliance_id): config.as_dict()},
            },
        )

    async def async_step_midea_appliance_keys(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Token and key of a V3 appliance (hex), checked against it."""
        return await self._async_midea_single_keys("midea_appliance_keys", user_input)

    async def async_step_midea_discovery_keys(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """An account's new appliance whose key the cloud refused: its code, token and key."""
        return await self._async_midea_single_keys("midea_discovery_keys", user_input)

    async def _async_midea_single_keys(
        self, step_id: str, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        """The keys form of the one appliance found; creates its entry once they work."""
        found = next(iter(self._midea_found.values()))
        if str(found.appliance_id) in self._midea_configured_ids():
            return self.async_abort(reason="already_configured")
        config = appliance_config(found, _default_name(found))
        errors: dict[str, str] = {}
        if user_input is not None and (
            checked := await self._async_midea_keys(config, user_input, errors)
        ):
            return self._async_midea_create_single(checked)
        placeholders = {"name": config.name, "host": config.host}
        if self._midea_cloud_code is not None:
            placeholders["code"] = str(self._midea_cloud_code)
        return self.async_show_form(
            step_id=step_id,
            data_schema=self._midea_keys_schema(required=True),
            errors=errors,
            description_placeholders=placeholders,
        )

    # Reauth, reconfigure, discovery -------------------------------------------------------

    async def async_step_midea_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The cloud refused the account: ask for the password again."""
        return await self.async_step_midea_reauth_confirm()

    async def async_step_midea_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Sign in with the new password and reload."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        placeholders = {"account": str(entry.data.get(CONF_ACCOUNT, "")), "code": ""}
        if user_input is not None:
            data = {**entry.data, CONF_PASSWORD: user_input[CONF_PASSWORD]}
            try:
                await async_login(make_cloud(self.hass, data))
            except CloudFailed as err:
                errors["base"] = err.error
                placeholders["code"] = err.code or "-"
            else:
                return self.async_update_reload_and_abort(
                    entry, data_updates={CONF_PASSWORD: user_input[CONF_PASSWORD]}
                )
        return self.async_show_form(
            step_id="midea_reauth_confirm",
            data_schema=probatio.Schema(
                {
                    probatio.Required(CONF_PASSWORD): TextSelector(
                        TextSelectorConfig(type=TextSelectorType.PASSWORD)
                    )
                }
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_midea_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change one appliance's address, token and key (empty token/key: keep them)."""
        entry = self._get_reconfigure_entry()
        appliances: dict[str, dict[str, Any]] = entry.data.get(CONF_APPLIANCES, {})
        errors: dict[str, str] = {}
        if user_input is not None:
            appliance_id = str(user_input.get(CONF_APPLIANCE) or next(iter(appliances)))
            current = ApplianceConfig.from_dict(appliances[appliance_id])
            host = str(user_input[CONF_HOST]).strip()
            candidate = current.with_changes(host=host)
            found = await async_discover(
                [host],
                discovery_ports(int(entry.data.get(CONF_DISCOVERY_PORT, DEFAULT_DISCOVERY_PORT))),
                wait=2.0,
                wanted=[current.appliance_id],
            )
            if (seen := found.get(current.appliance_id)) is not None:
                candidate = candidate.with_changes(port=seen.port, protocol=seen.protocol)
            if seen is None and found:
                errors["base"] = "wrong_appliance"
            elif candidate.protocol == 3 and (
                user_input.get(CONF_TOKEN) or user_input.get(CONF_KEY)
            ):
                checked = await self._async_midea_keys(candidate, user_input, errors)
                candidate = checked or candidate
            elif error := await _async_check(candidate):
                errors["base"] = error
            if not errors:
                return self.async_update_reload_and_abort(
                    entry,
                    data_updates={
                        CONF_APPLIANCES: {**appliances, appliance_id: candidate.as_dict()}
                    },
                )
        fields: dict[Any, Any] = {}
        if len(appliances) > 1:
            fields[probatio.Required(CONF_APPLIANCE)] = SelectSelector(
                SelectSelectorConfig(
                    options=[
                        SelectOptionDict(value=key, label=str(value.get("name") or key))
                        for key, value in appliances.items()
                    ]
                )
            )
        fields[probatio.Required(CONF_HOST)] = str
        fields.update(self._midea_keys_schema(required=False).schema)
        first = next(iter(appliances.values()), {})
        return self.async_show_form(
            step_id="midea_reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                probatio.Schema(fields),
                {CONF_HOST: first.get("host", "")}
                if user_input is None
                else {CONF_HOST: user_input.get(CONF_HOST, "")},
            ),
            errors=errors,
        )

    async def async_step_midea_discovery(self, discovery_info: dict[str, Any]) -> ConfigFlowResult:
        """An appliance answered background discovery: update a known one, or offer it."""
        appliance_id = str(discovery_info["appliance_id"])
        host = str(discovery_info[CONF_HOST])
        port = int(discovery_info["port"])
        if self._midea_update_address(appliance_id, discovery_info.get("mac"), host, port):
            return self.async_abort(reason="already_configured")
        code = discovery_info.get(CONF_CLOUD_CODE)
        self._midea_cloud_code = int(code) if code is not None else None
        # The account's offer (with the cloud's refusal code) replaces one from plain LAN
        # discovery for the same appliance; a plain offer never replaces it.
        await self.async_set_unique_id(appliance_id, raise_on_progress=code is None)
        self._abort_if_unique_id_configured()
        if code is not None:
            for flow in self._async_in_progress(include_uninitialized=True):
                if flow["context"].get("unique_id") == appliance_id:
                    self.hass.config_entries.flow.async_abort(flow["flow_id"])
        found = DiscoveredAppliance(
            appliance_id=int(appliance_id),
            device_type=int(discovery_info["device_type"]),
            host=host,
            port=port,
            serial=str(discovery_info.get("serial") or ""),
            model=str(discovery_info.get("model") or ""),
            mac=discovery_info.get("mac"),
            protocol=int(discovery_info["protocol"]),
            subtype=int(discovery_info.get("subtype") or 0),
            firmware=discovery_info.get("firmware"),
        )
        self._midea_found = {found.appliance_id: found}
        self._midea_discovery_port = int(
            discovery_info.get(CONF_DISCOVERY_PORT) or DEFAULT_DISCOVERY_PORT
        )
        self.context["title_placeholders"] = {"name": _default_name(found)}
        return await self.async_step_midea_discovery_confirm()

    async def async_step_midea_discovery_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Confirm adding a discovered appliance (V3 appliances then need token and key).

        An appliance whose key the cloud refused goes straight to ``midea_discovery_keys``.
        """
        found = next(iter(self._midea_found.values()))
        if self._midea_cloud_code is not None and found.protocol == 3:
            return await self.async_step_midea_discovery_keys()
        if user_input is not None:
            return await self._async_midea_single(found)
        return self.async_show_form(
            step_id="midea_discovery_confirm",
            description_placeholders={"name": _default_name(found), "host": found.host},
        )

    def _midea_update_address(
        self, appliance_id: str, mac: str | None, host: str, port: int
    ) -> bool:
        """Give a configured appliance (by id, else by MAC) its new address; True if known."""
        for entry in self._async_current_entries(include_ignore=False):
            if entry.data.get(CONF_FAMILY) != FAMILY_KEY:
                continue
            appliances: dict[str, dict[str, Any]] = entry.data.get(CONF_APPLIANCES, {})
            match = appliance_id if appliance_id in appliances else None
            if match is None and mac:
                match = next(
                    (key for key, value in appliances.items() if value.get("mac") == mac), None
                )
            if match is None:
                continue
            record = appliances[match]
            if (record.get("host"), record.get("port")) != (host, port):
                self.hass.config_entries.async_update_entry(
                    entry,
                    data={
                        **entry.data,
                        CONF_APPLIANCES: {
                            **appliances,
                            match: {**record, "host": host, "port": port},
                        },
                    },
                )
                data = getattr(entry, "runtime_data", None)
                source = getattr(getattr(data, "runtime", None), "source", None)
                if source is not None:
                    self.hass.async_create_task(source.async_set_address(match, host, port))
            return True
        return False

    async def async_step_dhcp(self, discovery_info: DhcpServiceInfo) -> ConfigFlowResult:
        """A registered appliance got an address by DHCP: find its port there and update it."""
        mac = ":".join(
            discovery_info.macaddress.lower().replace(":", "")[i : i + 2] for i in range(0, 12, 2)
        )
        for entry in self._async_current_entries(include_ignore=False):
            if entry.data.get(CONF_FAMILY) != FAMILY_KEY:
                continue
            for appliance_id, record in entry.data.get(CONF_APPLIANCES, {}).items():
                if record.get("mac") != mac:
                    continue
                port = int(record.get("port") or 6444)
                found = await async_discover(
                    [discovery_info.ip],
                    discovery_ports(
                        int(entry.data.get(CONF_DISCOVERY_PORT, DEFAULT_DISCOVERY_PORT))
                    ),
                    wait=2.0,
                    wanted=[int(appliance_id)],
                )
                if (seen := found.get(int(appliance_id))) is not None:
                    port = seen.port
                self._midea_update_address(appliance_id, mac, discovery_info.ip, port)
                return self.async_abort(reason="already_configured")
        return self.async_abort(reason="not_supported")


def _default_name(found: DiscoveredAppliance) -> str:
    kind = "Dehumidifier" if found.device_type == 0xA1 else "Air conditioner"
    return f"{kind} {str(found.appliance_id)[-4:]}"
