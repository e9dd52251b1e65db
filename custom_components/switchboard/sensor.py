"""Sensors: power, energy, voltage, current, INDI read-only numbers, texts and lights."""

from homeassistant.components.sensor import SensorEntity
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .data import SwitchboardConfigEntry
from .descriptions import SwitchboardSensorDescription
from .entity import SwitchboardEntity, async_setup_platform_entities
from .export.sepl.const import is_connector_entry
from .export.sepl.entry import async_setup_connector_sensors

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SwitchboardConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add sensors for every device of the entry, now and later (a connector: its state)."""
    if is_connector_entry(entry.data):
        await async_setup_connector_sensors(entry, async_add_entities)  # type: ignore[arg-type]
        return
    async_setup_platform_entities(
        hass,
        entry,
        async_add_entities,
        Platform.SENSOR,
        SwitchboardSensorDescription,
        SwitchboardSensor,
    )


class SwitchboardSensor(SwitchboardEntity, SensorEntity):
    """A sensor showing one device attribute."""

    entity_description: SwitchboardSensorDescription

    @property
    def native_value(self) -> StateType:
        """The attribute's value, translated through ``value_map`` when the description has one."""
        value = self.attribute_value
        if self.entity_description.value_map is not None:
            value = self.entity_description.value_map.get(value, value)
        if isinstance(value, (list, dict)):
            return str(value)
        return value
