"""Binary sensors: tank full, window open, INDI alerts and the like."""

from homeassistant.components.binary_sensor import BinarySensorEntity
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .data import SwitchboardConfigEntry
from .descriptions import SwitchboardBinarySensorDescription
from .entity import SwitchboardEntity, async_setup_platform_entities

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SwitchboardConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add binary sensors for every device of the entry, now and later."""
    async_setup_platform_entities(
        hass,
        entry,
        async_add_entities,
        Platform.BINARY_SENSOR,
        SwitchboardBinarySensorDescription,
        SwitchboardBinarySensor,
    )


class SwitchboardBinarySensor(SwitchboardEntity, BinarySensorEntity):
    """A binary sensor: on when the attribute is truthy or equals ``on_value``."""

    entity_description: SwitchboardBinarySensorDescription

    @property
    def is_on(self) -> bool | None:
        """Whether the attribute reads as on."""
        return self.attribute_is_on(self.entity_description.on_value)
