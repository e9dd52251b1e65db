"""Public entry point of our Meross client (no meross-iot at runtime, no Home Assistant imports).

* ``MerossCloud``: cloud HTTP API (sign-in with MFA, device list, hub sub-devices, logout) on the
  caller's aiohttp session.
* ``MerossMqttClient``: the account's MQTT broker over TLS (aiomqtt; never a blocking connect in
  the event loop): signed GET/SET requests matched by messageId, verified pushes, reconnect with
  backoff, an optional ``RequestLimiter``.
* Exceptions mirror the cloud's apiStatus codes and the device's ERROR replies.
"""

from .cloud import (
    DEFAULT_API_BASE_URL,
    MerossCloud,
    MerossCredentials,
    MerossDeviceInfo,
    MerossSubdeviceInfo,
    account_title,
    split_host_port,
)
from .errors import (
    MerossApiError,
    MerossAuthError,
    MerossConnectionError,
    MerossDeviceError,
    MerossError,
    MerossMfaInvalidError,
    MerossMfaRequiredError,
    MerossRateLimitError,
    MerossTimeoutError,
    MerossTokenExpiredError,
)
from .limiter import RequestLimiter, RequestPriority
from .mqtt import MerossMqttClient, MessageTrace
from .protocol import Method, Namespace

__all__ = [
    "DEFAULT_API_BASE_URL",
    "MerossApiError",
    "MerossAuthError",
    "MerossCloud",
    "MerossConnectionError",
    "MerossCredentials",
    "MerossDeviceError",
    "MerossDeviceInfo",
    "MerossError",
    "MerossMfaInvalidError",
    "MerossMfaRequiredError",
    "MerossMqttClient",
    "MerossRateLimitError",
    "MerossSubdeviceInfo",
    "MerossTimeoutError",
    "MerossTokenExpiredError",
    "MessageTrace",
    "Method",
    "Namespace",
    "RequestLimiter",
    "RequestPriority",
    "account_title",
    "split_host_port",
]
