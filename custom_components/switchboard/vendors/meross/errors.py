"""Exceptions of the Meross client, one per kind of failure a caller reacts to differently."""

from typing import Any


class MerossError(Exception):
    """Base class of every Meross client error."""


class MerossConnectionError(MerossError):
    """The cloud API or the MQTT broker cannot be reached (or answered garbage)."""


class MerossApiError(MerossError):
    """The cloud API answered with an ``apiStatus`` we do not map to a more precise error."""

    def __init__(self, code: int, info: str = "", data: Any = None) -> None:
        """Keep the apiStatus ``code``, the cloud's ``info`` text and its ``data``."""
        super().__init__(f"Meross API error {code}: {info}" if info else f"Meross API error {code}")
        self.code = code
        self.info = info
        self.data = data


class MerossAuthError(MerossApiError):
    """Unknown account or wrong password (apiStatus 1002, 1004)."""


class MerossMfaRequiredError(MerossAuthError):
    """The account needs a multi-factor code (apiStatus 1033)."""


class MerossMfaInvalidError(MerossAuthError):
    """The multi-factor code was wrong (apiStatus 1032)."""


class MerossTokenExpiredError(MerossAuthError):
    """The token expired, was revoked or is unknown (apiStatus 1019, 1022, 1200): log in again."""


class MerossRateLimitError(MerossApiError):
    """The cloud refuses requests for a while (apiStatus 1028 "requested too frequently", 1042)."""


class MerossDeviceError(MerossError):
    """A device answered a request with an ERROR message."""

    def __init__(self, uuid: str, namespace: str, code: int | None, detail: str) -> None:
        """Keep the device, namespace and the device's error code/detail."""
        super().__init__(f"{namespace} on {uuid}: error {code} {detail}".rstrip())
        self.uuid = uuid
        self.namespace = namespace
        self.code = code
        self.detail = detail


class MerossTimeoutError(MerossError):
    """A device did not answer a request in time (offline, or the broker lost the message)."""
