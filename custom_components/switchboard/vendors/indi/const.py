"""Constants of the INDI family."""

from typing import Final

FAMILY_KEY: Final = "indi"
MANUFACTURER: Final = "INDI"
DEFAULT_PORT: Final = 7624

CONF_DEVICES: Final = "devices"
"""Entry data: INDI device names to follow (empty: every device of the server)."""
CONF_ENABLE_BLOBS: Final = "enable_blobs"
"""Option: ask the server for BLOBs (enableBLOB Also) and show their format and size."""
CONF_SNOOP_TIMEOUT: Final = "snoop_timeout"
"""Option: seconds of silence after which getProperties is sent again."""
DEFAULT_SNOOP_TIMEOUT: Final = 30.0

COMMAND_TIMEOUT: Final = 10.0
"""Seconds a command waits for the device to confirm (Ok/Alert); longer moves stay Busy."""

EVENT_INDI_MESSAGE: Final = "switchboard_indi_message"
SERVICE_SET_VECTOR: Final = "indi_set_vector"
