"""Buttons: one-shot device actions."""

from homeassistant.components.button import ButtonEntity
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .data import SwitchboardConfigEntry
from .descriptions import SwitchboardButtonDescription
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
    """Add buttons for every device of the entry, now and later."""
    async_setup_platform_entities(
        hass,
        entry,
        async_add_entities,
        Platform.BUTTON,
        SwitchboardButtonDescription,
        SwitchboardButton,
    )


class SwitchboardButton(SwitchboardEntity, ButtonEntity):
    """A button running the description's ``press`` action."""

    entity_description: SwitchboardButtonDescription

    async def async_press(self) -> None:
        """Run ``press``."""
        await self.async_run(self.entity_description.press)
