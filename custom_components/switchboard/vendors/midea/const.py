"""Constants of the Midea / Comfee family."""

from typing import Final

FAMILY_KEY: Final = "midea"
MANUFACTURER: Final = "Midea"

CONF_ACCOUNT: Final = "account"
CONF_CLOUD: Final = "cloud"
CONF_API_URL: Final = "api_url"
CONF_APPLIANCES: Final = "appliances"
"""Entry data: ``{appliance id (str): appliance record}``, see ``ApplianceConfig``."""
CONF_FOLLOW: Final = "follow"
"""Option: the appliance ids (str) the entry runs; absent = every appliance."""
CONF_DISCOVERY_PORT: Final = "discovery_port"
"""The appliances' UDP discovery port (6445 on real appliances; the emulator uses others)."""
CONF_CLOUD_CODE: Final = "cloud_code"
"""Discovery-flow data: the error code the cloud answered for the appliance's key (9999)."""

DEFAULT_CLOUD: Final = "NetHome Plus"
DEFAULT_DISCOVERY_PORT: Final = 6445
DISCOVERY_INTERVAL_MINUTES: Final = 15
CLOUD_REFRESH_MINUTES: Final = 30
"""How often an account entry asks the cloud for appliances added or removed."""
