"""Constants of the Meross family."""

from typing import Final

FAMILY_KEY: Final = "meross"
MANUFACTURER: Final = "Meross"

CONF_EMAIL: Final = "email"
CONF_API_BASE_URL: Final = "api_base_url"
CONF_CREDENTIALS: Final = "credentials"
CONF_MFA_CODE: Final = "mfa_code"
CONF_ADVANCED: Final = "advanced"
CONF_VERIFY_SSL: Final = "verify_ssl"
CONF_PUSH: Final = "push"
CONF_PUSH_EVENTS: Final = "push_events"
CONF_MAX_REQUESTS: Final = "max_requests_per_minute"

EVENT_PUSH: Final = "switchboard_push"
SERVICE_MEROSS_REQUEST: Final = "meross_request"
SERVICE_MEROSS_CAPTURE: Final = "meross_capture"
SERVICE_MEROSS_DUMP_REGISTRY: Final = "meross_dump_registry"
SERVICE_MEROSS_LOAD_REGISTRY: Final = "meross_load_registry"

DEFAULT_MAX_REQUESTS: Final = 60
"""Requests per minute the limiter allows on average (the cloud disconnects heavier users)."""
LIMITER_BURST: Final = 20
TRACE_LENGTH: Final = 30
"""Messages kept per device for diagnostics."""
DEVICE_LIST_REFRESH_SECONDS: Final = 3600
CONSUMPTION_EVERY_SECONDS: Final = 300
BUTTON_CAPTURE_SECONDS: Final = 60
"""Length of the capture the device's "Capture traffic" button records."""
