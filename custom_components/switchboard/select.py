"""Selects: one-of-many choices such as INDI OneOfMany switch vectors."""

from homeassistant.components.select import SelectEntity
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .data import SwitchboardConfigEntry
from .descriptions import SwitchboardSelectDescription
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
    """Add selects for every device of the entry, now and later."""
    async_setup_platform_entities(
        hass,
        entry,
        async_add_entities,
        Platform.SELECT,
        SwitchboardSelectDescription,
        SwitchboardSelect,
    )


class SwitchboardSelect(SwitchboardEntity, SelectEntity):
    """A select whose current option is a device attribute; choosing runs ``select_option``."""

    entity_description: SwitchboardSelectDescription

    @property
    def current_option(self) -> str | None:
        """The attribute's value when it is one of the options."""
        value = self.attribute_value
        return value if isinstance(value, str) and value in self.options else None

    async def async_select_option(self, option: str) -> None:
        """Run ``select_option`` with argument ``option``."""
        await self.async_run(self.entity_description.select_option, option=option)
