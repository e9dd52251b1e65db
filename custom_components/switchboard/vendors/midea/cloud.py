"""The Midea account: sign-in, appliance list, keys, and the check for added appliances.

``docs/protocols/midea.md`` §6. midea-local's cloud client is asynchronous and takes Home
Assistant's aiohttp session. Every 30 minutes an account entry asks the cloud for appliances
added to or removed from the account (:func:`async_refresh_account`). The cloud is only used to
list appliances and to get V3 tokens and keys; appliances are then controlled on the LAN.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
import logging
from typing import TYPE_CHECKING, Any

import aiohttp
from homeassistant.config_entries import SOURCE_INTEGRATION_DISCOVERY, ConfigEntry
from homeassistant.const import CONF_PASSWORD
from homeassistant.core import HomeAssistant
from homeassistant.helpers import discovery_flow
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from midealocal.cloud import MideaCloud, get_midea_cloud
from midealocal.exceptions import CloudLoginError, MideaCloudError

from ...const import DOMAIN
from ...entity import async_remove_stale_devices
from .client import ApplianceConfig, async_check_appliance
from .const import (
    CONF_ACCOUNT,
    CONF_API_URL,
    CONF_APPLIANCES,
    CONF_CLOUD,
    CONF_DISCOVERY_PORT,
    CONF_FOLLOW,
    DEFAULT_DISCOVERY_PORT,
)
from .discovery import async_discover_appliances, discovery_data
from .lan import SUPPORTED_TYPES, DiscoveredAppliance, MideaLanError

if TYPE_CHECKING:
    from .source import MideaSource

_LOGGER = logging.getLogger(__name__)


class CloudFailed(Exception):
    """The cloud refused or could not be reached; ``error`` is the config-flow error key."""

    def __init__(self, error: str, code: str = "") -> None:
        """Store the form error and the cloud's numeric code (if any)."""
        super().__init__(error)
        self.error = error
        self.code = code


@dataclass(slots=True)
class Resolved:
    """The account's appliances sorted: working (``ready``), needing keys by hand (``pending``)."""

    ready: dict[str, ApplianceConfig] = field(default_factory=dict)
    pending: list[ApplianceConfig] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    """Names of listed appliances that did not answer on the LAN."""
    refusals: dict[str, int] = field(default_factory=dict)
    """Appliance id (str) -> the error code the cloud answered for its key (9999), for the
    pending appliances whose key the cloud refused (absent: the cloud's keys did not work)."""


def account_title(account: str) -> str:
    """An entry title that does not give the account's e-mail address away.

    ``comfee@example.com`` -> ``Midea c***@example.com`` (Home Assistant logs entry titles).
    """
    local, at, domain = account.strip().partition("@")
    return f"Midea {local[:1]}***{at}{domain}" if at else "Midea account"


def make_cloud(hass: HomeAssistant, data: Mapping[str, Any]) -> MideaCloud:
    """midea-local's client of the entry's cloud, on Home Assistant's aiohttp session.

    ``data`` holds account, password, cloud and optionally api_url (another server: the
    emulator in tests and in the development stack).
    """
    cloud = get_midea_cloud(
        data[CONF_CLOUD], async_get_clientsession(hass), data[CONF_ACCOUNT], data[CONF_PASSWORD]
    )
    if api_url := data.get(CONF_API_URL):
        # midea-local copies the cloud's URL at construction; this attribute is where it keeps
        # it (no public setter exists).
        cloud._api_url = str(api_url).rstrip("/")
    return cloud


async def async_login(cloud: MideaCloud) -> None:
    """Sign in; raises :class:`CloudFailed` (invalid_auth, cloud_error, cannot_connect_cloud)."""
    try:
        if await cloud.login():
            return
    except CloudLoginError as err:
        raise CloudFailed("invalid_auth", str(getattr(err, "code", ""))) from err
    except MideaCloudError as err:
        raise CloudFailed("cloud_error", str(getattr(err, "code", ""))) from err
    except (aiohttp.ClientError, TimeoutError) as err:
        raise CloudFailed("cannot_connect_cloud") from err
    raise CloudFailed("cannot_connect_cloud")


async def async_list(cloud: MideaCloud) -> dict[int, dict[str, Any]]:
    """The account's dehumidifiers and air conditioners by appliance id; raises CloudFailed."""
    try:
        listed = await cloud.list_appliances(None)
    except MideaCloudError as err:
        raise CloudFailed("cloud_error", str(getattr(err, "code", ""))) from err
    except (aiohttp.ClientError, TimeoutError) as err:
        raise CloudFailed("cannot_connect_cloud") from err
    if listed is None:
        raise CloudFailed("cloud_error")
    return {key: value for key, value in listed.items() if value.get("type") in SUPPORTED_TYPES}


def appliance_config(found: DiscoveredAppliance, name: str) -> ApplianceConfig:
    """An appliance's configuration from its discovery reply (no token or key yet)."""
    return ApplianceConfig(
        appliance_id=found.appliance_id,
        device_type=found.device_type,
        name=name,
        host=found.host,
        port=found.port,
        protocol=found.protocol,
        serial=found.serial,
        model=found.model,
        subtype=found.subtype,
        mac=found.mac,
        firmware=found.firmware,
    )


async def async_get_keys(
    cloud: MideaCloud, appliance_id: int
) -> tuple[dict[int, dict[str, Any]], int | None]:
    """An appliance's token/key pairs from the cloud, and the error code the cloud answered.

    Returns ``({method: {"token": hex, "key": hex}}, code)``; ``code`` is the cloud's last
    non-zero error code for the request (9999 when it refuses the key, §6), ``None`` when it
    answered without an error. midea-local retries a 9999, then logs it and returns no keys
    without raising, so the code never reaches its caller; every non-zero code of a request
    goes through its ``_handle_error_code`` hook, which is wrapped on this cloud object for the
    call (and restored after). Raises ``MideaCloudError`` for the codes midea-local raises.
    """
    codes: list[int] = []
    handle = cloud._handle_error_code

    def record(url: str, code: int, message: str, raise_for_error: bool) -> None:
        if code != -1:  # midea-local's "no reply" sentinel, not a cloud code
            codes.append(code)
        handle(url, code, message, raise_for_error)

    cloud._handle_error_code = record  # type: ignore[method-assign]
    try:
        keys = await cloud.get_cloud_keys(appliance_id)
    finally:
        del cloud._handle_error_code
    return keys, (codes[-1] if codes else None)


async def _async_works(config: ApplianceConfig) -> bool:
    try:
        await async_check_appliance(config)
    except MideaLanError:
        return False
    return True


async def async_resolve(
    hass: HomeAssistant,
    cloud: MideaCloud,
    listed: Mapping[int, Mapping[str, Any]],
    discovery_port: int,
) -> Resolved:
    """Find listed appliances on the LAN and get each V3 appliance's key from the cloud.

    An appliance whose key the cloud refuses (or whose keys do not work) goes to ``pending``.
    """
    resolved = Resolved()
    if not listed:
        return resolved
    found = await async_discover_appliances(hass, discovery_port, wanted=listed)
    for appliance_id, info in listed.items():
        name = str(info.get("name") or appliance_id)
        if (seen := found.get(appliance_id)) is None:
            resolved.missing.append(name)
            continue
        config = appliance_config(seen, name)
        if config.protocol != 3:
            if await _async_works(config):
                resolved.ready[str(appliance_id)] = config
            continue
        try:
            keys, code = await async_get_keys(cloud, appliance_id)
        except MideaCloudError as err:
            _LOGGER.debug("Midea cloud refused the key of %s: %s", name, err)
            keys, code = {}, getattr(err, "code", None)
        for pair in keys.values():
            candidate = config.with_changes(token=pair["token"], key=pair["key"])
            if await _async_works(candidate):
                resolved.ready[str(appliance_id)] = candidate
                break
        else:
            resolved.pending.append(config)
            if not keys and isinstance(code, int):
                resolved.refusals[str(appliance_id)] = code
    return resolved


async def async_refresh_account(
    hass: HomeAssistant, entry: ConfigEntry, source: MideaSource
) -> None:
    """Follow the account: appliances added to it are set up, removed ones are dropped.

    A removed appliance leaves the coordinator, then the device registry with its entities
    (``entity.async_remove_stale_devices``); one that is only offline is still listed and
    stays. A refused password starts reauthentication; other cloud failures are logged and
    retried at the next refresh. Appliances whose key the cloud refuses are offered under
    Discovered with the cloud's error code, to be added with their token and key.
    """
    cloud = make_cloud(hass, entry.data)
    try:
        await async_login(cloud)
        listed = await async_list(cloud)
    except CloudFailed as err:
        if err.error == "invalid_auth":
            entry.async_start_reauth(hass)
        else:
            _LOGGER.info("Midea account %s: cloud check failed (%s)", entry.title, err.error)
        return
    appliances: dict[str, dict[str, Any]] = dict(entry.data.get(CONF_APPLIANCES, {}))
    wanted = {str(key) for key in listed}
    removed = [key for key in appliances if key not in wanted]
    added = {key: value for key, value in listed.items() if str(key) not in appliances}
    resolved = await async_resolve(
        hass, cloud, added, int(entry.data.get(CONF_DISCOVERY_PORT, DEFAULT_DISCOVERY_PORT))
    )
    discovery_port = int(entry.data.get(CONF_DISCOVERY_PORT, DEFAULT_DISCOVERY_PORT))
    for config in resolved.pending:
        _LOGGER.warning(
            "Midea account %s: the cloud gave no working key for new appliance %s (cloud error "
            "%s); it is offered under Discovered, to be added with its token and key",
            entry.title,
            config.name,
            resolved.refusals.get(str(config.appliance_id), "-"),
        )
        found = DiscoveredAppliance(
            appliance_id=config.appliance_id,
            device_type=config.device_type,
            host=config.host,
            port=config.port,
            serial=config.serial,
            model=config.model,
            mac=config.mac,
            protocol=config.protocol,
            subtype=config.subtype,
            firmware=config.firmware,
        )
        discovery_flow.async_create_flow(
            hass,
            DOMAIN,
            context={"source": SOURCE_INTEGRATION_DISCOVERY},
            data=discovery_data(
                found, discovery_port, resolved.refusals.get(str(config.appliance_id))
            ),
        )
    if removed or resolved.ready:
        for key in removed:
            appliances.pop(key)
        appliances.update({key: config.as_dict() for key, config in resolved.ready.items()})
        hass.config_entries.async_update_entry(
            entry, data={**entry.data, CONF_APPLIANCES: appliances}
        )
        follow = entry.options.get(CONF_FOLLOW)
        for key in removed:
            await source.async_remove_appliance(key)
        for key, config in resolved.ready.items():
            if follow is None or key in follow:
                await source.async_add_appliance(config)
    # The account's list was just read: an appliance it lacks left the account.
    async_remove_stale_devices(hass, entry, wanted)
