"""Constants for the Switchboard integration."""

from typing import Final

DOMAIN: Final = "switchboard"

CONF_FAMILY: Final = "family"
"""Config entry data key naming the device family (vendor package key, e.g. ``maxsmart``)."""

# Options shared by every family: the coordinator's normal and burst polling.
CONF_SCAN_INTERVAL: Final = "scan_interval"
CONF_BURST_INTERVAL: Final = "burst_interval"
CONF_BURST_CYCLES: Final = "burst_cycles"
