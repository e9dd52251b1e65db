"""Constants of the SEPL platform connector entry."""

from collections.abc import Mapping
from typing import Any, Final

CONF_EXPORTER: Final = "exporter"
"""Entry data key of an exporter entry (instead of ``family``): its kind."""
EXPORTER_SEPL: Final = "sepl"
"""Menu key, ``entry.data["exporter"]`` and translation prefix of the connector."""

CONF_GATEWAY_ID: Final = "gateway_id"
"""The gateway id the platform assigned, reused on every connect."""

CONF_INCLUDE_DOMAINS: Final = "include_domains"
CONF_INCLUDE_ENTITIES: Final = "include_entities"
CONF_EXCLUDE_DOMAINS: Final = "exclude_domains"
CONF_EXCLUDE_ENTITIES: Final = "exclude_entities"
CONF_DEVICE_TYPES: Final = "device_types"
"""Options section: Home Assistant domain -> platform device-type id."""

AVAILABILITY_DEBOUNCE: Final = 5.0
"""Seconds an entity must stay (un)available before the platform is told (disconnect / put)."""
REGISTRY_DEBOUNCE: Final = 1.0
"""Seconds registry changes (renames, areas, new entities) are gathered before one refresh."""


def is_connector_entry(data: Mapping[str, Any]) -> bool:
    """Whether config entry ``data`` is a SEPL platform connector entry."""
    return data.get(CONF_EXPORTER) == EXPORTER_SEPL
