"""Constants of the MaxSmart family."""

from typing import Final

FAMILY_KEY: Final = "maxsmart"
MANUFACTURER: Final = "Max Hauri / Revogi"

CONF_SERIAL: Final = "serial"
CONF_MAC: Final = "mac"
CONF_DISCOVERY_PORT: Final = "discovery_port"
"""The strip's UDP port for discovery datagrams (8888 on real devices)."""

DISCOVERY_INTERVAL_MINUTES: Final = 15
DISCOVERY_TIMEOUT: Final = 2.0
"""Seconds to collect discovery replies."""
