"""Numbers: writable settings such as INDI number vectors."""

from homeassistant.components.number import NumberEntity
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .data import SwitchboardConfigEntry
from .descriptions import SwitchboardNumberDescription
from .entity import SwitchboardEntity, async_setup_platform_entities

# Commands to one device are serialised in SwitchboardCoordinator.async_execute, the one
# place every caller (entities, services, exporters) goes through; different devices run
# in parallel.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SwitchboardConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add numbers for every device of the entry, now and later."""
    async_setup_platform_entities(
        hass,
        entry,
        async_add_entities,
        Platform.NUMBER,
        SwitchboardNumberDescription,
        SwitchboardNumber,
    )


class SwitchboardNumber(SwitchboardEntity, NumberEntity):
    """A number whose value is a device attribute; setting it runs ``set_value``."""

    entity_description: SwitchboardNumberDescription

    @property
    def native_value(self) -> float | None:
        """The attribute's value as a float (``None`` when absent or not numeric)."""
        value = self.attribute_value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return float(value)

    async def async_set_native_value(self, value: float) -> None:
        """Run ``set_value`` with argument ``value``; shows the device-confirmed value."""
        await self.async_run(self.entity_description.set_value, value=value)
