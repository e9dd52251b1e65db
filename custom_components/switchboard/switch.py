"""Switches: MaxSmart ports, Meross channels, INDI ON/OFF and AnyOfMany members."""

from typing import Any

from homeassistant.components.switch import SwitchEntity
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN
from .data import SwitchboardConfigEntry
from .descriptions import SwitchboardSwitchDescription
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
    """Add switches for every device of the entry, now and later."""
    async_setup_platform_entities(
        hass,
        entry,
        async_add_entities,
        Platform.SWITCH,
        SwitchboardSwitchDescription,
        SwitchboardSwitch,
    )


class SwitchboardSwitch(SwitchboardEntity, SwitchEntity):
    """A switch whose state is a device attribute and whose commands are allow-listed actions."""

    entity_description: SwitchboardSwitchDescription

    @property
    def is_on(self) -> bool | None:
        """On when the attribute is truthy, or equals the description's ``on_value``."""
        return self.attribute_is_on(self.entity_description.on_value)

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Run the description's ``turn_on`` action; the new state shows when it returns."""
        await self.async_run(self.entity_description.turn_on)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Run the description's ``turn_off`` action; the new state shows when it returns."""
        await self.async_run(self.entity_description.turn_off)

    async def async_rename(self, name: str) -> None:
        """Rename the port/channel on the device (service ``switchboard.rename_port``).

        Raises ``ServiceValidationError`` when this switch cannot be renamed, and the
        translated ``HomeAssistantError`` of the device's rejection when its firmware refuses.
        """
        if self.entity_description.rename is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="rename_not_supported",
                translation_placeholders={"entity_id": self.entity_id},
            )
        await self.async_run(self.entity_description.rename, name=name)
