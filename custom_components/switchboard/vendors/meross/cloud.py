"""Meross cloud HTTP API: sign-in, device list, hub sub-devices, logout.

Uses the caller's aiohttp session (Home Assistant's shared one). Every request body is signed
(see protocol.cloud_request_body); after sign-in all calls go to the ``domain`` the cloud returned.
Passwords, keys and tokens are never logged.
"""

from dataclasses import asdict, dataclass, field
import logging
import platform
from typing import Any, Self
import uuid as uuid_lib

import aiohttp

from ...net import parse_host
from .errors import (
    MerossApiError,
    MerossAuthError,
    MerossConnectionError,
    MerossMfaInvalidError,
    MerossMfaRequiredError,
    MerossRateLimitError,
    MerossTokenExpiredError,
)
from .protocol import cloud_request_body, md5_hex

_LOGGER = logging.getLogger(__name__)

DEFAULT_API_BASE_URL = "https://iotx-eu.meross.com"
DEFAULT_MQTT_PORT = 443
REQUEST_TIMEOUT = 15.0

# Identify like meross-iot (the cloud serves that client; see docs/protocols/meross.md §1).
_HEADERS = {
    "AppVersion": "0.4.10.4",
    "vender": "meross",
    "AppType": "MerossIOT",
    "AppLanguage": "EN",
    "User-Agent": "MerossIOT/0.4.10.4",
}

API_OK = 0
API_ACCOUNT_MISSING = 1002
API_WRONG_PASSWORD = 1004
API_TOKEN_INVALID = 1019
API_TOKEN_ERROR = 1022
API_TOO_FREQUENT = 1028
API_WRONG_REGION = 1030
API_MFA_WRONG = 1032
API_MFA_REQUIRED = 1033
API_TOP_LIMIT = 1042
API_TOKEN_EXPIRED = 1200

_ERRORS: dict[int, type[MerossApiError]] = {
    API_ACCOUNT_MISSING: MerossAuthError,
    API_WRONG_PASSWORD: MerossAuthError,
    API_TOKEN_INVALID: MerossTokenExpiredError,
    API_TOKEN_ERROR: MerossTokenExpiredError,
    API_TOKEN_EXPIRED: MerossTokenExpiredError,
    API_MFA_WRONG: MerossMfaInvalidError,
    API_MFA_REQUIRED: MerossMfaRequiredError,
    API_TOO_FREQUENT: MerossRateLimitError,
    API_TOP_LIMIT: MerossRateLimitError,
}


def split_host_port(address: str, default_port: int = DEFAULT_MQTT_PORT) -> tuple[str, int]:
    """Split ``host[:port]`` (the form of ``mqttDomain`` and device ``domain``).

    Parsed by ``net.parse_host``; an address it refuses is kept whole with ``default_port``
    (the cloud's value is passed on to the TLS connection, which then reports the error).
    """
    try:
        return parse_host(address, default_port)
    except ValueError:
        return address, default_port


def account_title(email: str) -> str:
    """A config entry title for an account that does not give its e-mail address away.

    ``meross@example.com`` -> ``Meross m***@example.com``. Home Assistant logs entry titles
    (setup retries, reloads), so the full address must not be the title.
    """
    local, at, domain = email.strip().partition("@")
    return f"Meross {local[:1]}***{at}{domain}" if at else "Meross account"


@dataclass(frozen=True, slots=True, kw_only=True)
class MerossCredentials:
    """What sign-in returns; enough to call the API and to connect to the MQTT broker."""

    user_id: str
    email: str
    key: str
    token: str
    domain: str
    mqtt_domain: str

    @property
    def mqtt_host(self) -> str:
        """Host of the account's MQTT broker."""
        return split_host_port(self.mqtt_domain)[0]

    @property
    def mqtt_port(self) -> int:
        """Port of the account's MQTT broker (443 unless ``mqttDomain`` names one)."""
        return split_host_port(self.mqtt_domain)[1]

    def as_dict(self) -> dict[str, str]:
        """Return a JSON-able dict (for the config entry)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Rebuild credentials stored with ``as_dict``."""
        return cls(**{name: str(data[name]) for name in cls.__dataclass_fields__})

    def __repr__(self) -> str:
        """Show who, never the key or token."""
        return f"MerossCredentials(user_id={self.user_id!r}, domain={self.domain!r})"


@dataclass(frozen=True, slots=True, kw_only=True)
class MerossDeviceInfo:
    """One item of ``/v1/Device/devList``."""

    uuid: str
    name: str
    device_type: str
    sub_type: str
    firmware_version: str
    hardware_version: str
    online_status: int
    channel_names: tuple[str | None, ...]
    domain: str
    reserved_domain: str
    region: str
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def online(self) -> bool:
        """Whether the cloud reports the device online (onlineStatus 1)."""
        return self.online_status == 1

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> Self:
        """Parse a devList item (camelCase keys)."""
        channels = item.get("channels") or [{}]
        return cls(
            uuid=str(item["uuid"]),
            name=str(item.get("devName") or item["uuid"]),
            device_type=str(item.get("deviceType", "")),
            sub_type=str(item.get("subType", "")),
            firmware_version=str(item.get("fmwareVersion", "")),
            hardware_version=str(item.get("hdwareVersion", "")),
            online_status=int(item.get("onlineStatus", -1)),
            channel_names=tuple(
                (str(ch["devName"]) if isinstance(ch, dict) and ch.get("devName") else None)
                for ch in channels
            ),
            domain=str(item.get("domain") or ""),
            reserved_domain=str(item.get("reservedDomain") or ""),
            region=str(item.get("region") or ""),
            raw=dict(item),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class MerossSubdeviceInfo:
    """One item of ``/v1/Hub/getSubDevices``."""

    hub_uuid: str
    subdevice_id: str
    subdevice_type: str
    name: str
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, hub_uuid: str, item: dict[str, Any]) -> Self:
        """Parse a getSubDevices item."""
        return cls(
            hub_uuid=hub_uuid,
            subdevice_id=str(item["subDeviceId"]),
            subdevice_type=str(item.get("subDeviceType", "")),
            name=str(item.get("subDeviceName") or item["subDeviceId"]),
            raw=dict(item),
        )


class MerossCloud:
    """Client of the Meross cloud HTTP API."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str = DEFAULT_API_BASE_URL,
        credentials: MerossCredentials | None = None,
    ) -> None:
        """Use ``session``; ``credentials`` from an earlier sign-in skip ``async_login``."""
        self._session = session
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials

    async def _post(
        self, base_url: str, path: str, params: dict[str, Any], token: str | None
    ) -> Any:
        headers = {**_HEADERS, "Authorization": f"Basic {token}" if token else "Basic"}
        url = f"{base_url.rstrip('/')}{path}"
        try:
            async with self._session.post(
                url,
                json=cloud_request_body(params),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT),
            ) as response:
                if response.status != 200:
                    raise MerossConnectionError(f"{path}: HTTP {response.status}")
                reply = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            raise MerossConnectionError(f"{path}: {err!r}") from err
        if not isinstance(reply, dict) or "apiStatus" not in reply:
            raise MerossConnectionError(f"{path}: unexpected reply")
        status = int(reply["apiStatus"])
        if status == API_OK:
            return reply.get("data")
        info = str(reply.get("info") or "")
        _LOGGER.debug("Meross API %s answered apiStatus %s (%s)", path, status, info)
        raise _ERRORS.get(status, MerossApiError)(status, info, reply.get("data"))

    async def _call(self, path: str, params: dict[str, Any]) -> Any:
        if self.credentials is None:
            raise MerossTokenExpiredError(API_TOKEN_INVALID, "not logged in")
        return await self._post(
            self.credentials.domain or self.base_url, path, params, self.credentials.token
        )

    async def async_login(
        self, email: str, password: str, mfa_code: str | None = None
    ) -> MerossCredentials:
        """Sign in; return (and keep) the credentials. Follows one wrong-region redirect."""
        params: dict[str, Any] = {
            "email": email,
            "password": md5_hex(password),
            "accountCountryCode": "us",
            "encryption": 1,
            "agree": 0,
            "mobileInfo": {
                "deviceModel": platform.machine(),
                "mobileOsVersion": platform.release(),
                "mobileOs": platform.system(),
                "uuid": str(uuid_lib.uuid4()),
                "carrier": "",
            },
        }
        if mfa_code:
            params["mfaCode"] = mfa_code
        base_url = self.base_url
        try:
            data = await self._post(base_url, "/v1/Auth/signIn", params, None)
        except MerossApiError as err:
            redirect = err.data if isinstance(err.data, dict) else {}
            if err.code != API_WRONG_REGION or not redirect.get("domain"):
                raise
            base_url = str(redirect["domain"])
            _LOGGER.debug("Meross account lives on %s, signing in there", base_url)
            data = await self._post(base_url, "/v1/Auth/signIn", params, None)
        try:
            credentials = MerossCredentials(
                user_id=str(data["userid"]),
                email=str(data.get("email") or email),
                key=str(data["key"]),
                token=str(data["token"]),
                domain=str(data.get("domain") or base_url),
                mqtt_domain=str(data["mqttDomain"]),
            )
        except (KeyError, TypeError) as err:
            raise MerossConnectionError(f"sign-in reply lacks {err}") from err
        self.credentials = credentials
        self.base_url = base_url
        try:
            await self._call(
                "/v1/log/user",
                {
                    "system": platform.system(),
                    "vendor": "meross",
                    "uuid": str(uuid_lib.uuid4()),
                    "extra": "",
                    "model": platform.machine(),
                    "version": platform.release(),
                },
            )
        except MerossApiError as err:
            # Informational endpoint; a refusal must not fail the sign-in.
            _LOGGER.debug("Meross /v1/log/user refused: %s", err.code)
        return credentials

    async def async_list_devices(self) -> list[MerossDeviceInfo]:
        """Return the account's devices."""
        data = await self._call("/v1/Device/devList", {})
        if not isinstance(data, list):
            raise MerossConnectionError("devList: not a list")
        return [MerossDeviceInfo.from_api(item) for item in data if isinstance(item, dict)]

    async def async_list_subdevices(self, hub_uuid: str) -> list[MerossSubdeviceInfo]:
        """Return the sub-devices (valves, sensors) paired with hub ``hub_uuid``."""
        data = await self._call("/v1/Hub/getSubDevices", {"uuid": hub_uuid})
        if not isinstance(data, list):
            raise MerossConnectionError("getSubDevices: not a list")
        return [
            MerossSubdeviceInfo.from_api(hub_uuid, item)
            for item in data
            if isinstance(item, dict) and "subDeviceId" in item
        ]

    async def async_logout(self) -> None:
        """Invalidate the token (best effort: an expired token is already logged out)."""
        if self.credentials is None:
            return
        try:
            await self._call("/v1/Profile/logout", {})
        except MerossTokenExpiredError:
            pass
        finally:
            self.credentials = None


__all__ = [
    "DEFAULT_API_BASE_URL",
    "MerossCloud",
    "MerossCredentials",
    "MerossDeviceInfo",
    "MerossSubdeviceInfo",
    "split_host_port",
]
