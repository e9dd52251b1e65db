"""Plain sensors that never change: the baseline's entities (see ``__init__``)."""

from typing import Any

from homeassistant.components.sensor import SensorEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback


class PlainSensor(SensorEntity):
    """One idle sensor."""

    _attr_should_poll = False

    def __init__(self, index: int) -> None:
        self._attr_name = f"Plain {index}"
        self._attr_unique_id = f"scale_probe_{index}"
        self._attr_native_value = index


async def async_setup_platform(
    hass: HomeAssistant,
    config: dict[str, Any],
    async_add_entities: AddEntitiesCallback,
    discovery_info: Any = None,
) -> None:
    """Add ``entities`` plain sensors."""
    async_add_entities(PlainSensor(i) for i in range(int(config.get("entities", 0))))
