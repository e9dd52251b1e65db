"""Humidifiers and dehumidifiers: Midea / Comfee dehumidifiers."""

from homeassistant.components.humidifier import HumidifierEntity, HumidifierEntityFeature
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import SwitchboardCoordinator
from .data import SwitchboardConfigEntry
from .descriptions import SwitchboardHumidifierDescription
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
    """Add humidifier entities for every device of the entry, now and later."""
    async_setup_platform_entities(
        hass,
        entry,
        async_add_entities,
        Platform.HUMIDIFIER,
        SwitchboardHumidifierDescription,
        SwitchboardHumidifier,
    )


class SwitchboardHumidifier(SwitchboardEntity, HumidifierEntity):
    """A (de)humidifier: on/off, target and current humidity (%), modes from the description."""

    entity_description: SwitchboardHumidifierDescription

    def __init__(
        self,
        coordinator: SwitchboardCoordinator,
        device_id: str,
        description: SwitchboardHumidifierDescription,
    ) -> None:
        """Take the humidity range and modes from the description."""
        super().__init__(coordinator, device_id, description)
        self._attr_min_humidity = description.min_humidity
        self._attr_max_humidity = description.max_humidity
        if description.set_mode is not None and description.available_modes:
            self._attr_available_modes = list(description.available_modes)
            self._attr_supported_features = HumidifierEntityFeature.MODES

    def watched_attributes(self) -> tuple[str, ...]:
        """The on/off attribute plus humidity and mode attributes."""
        description = self.entity_description
        extra = (
            description.target_humidity_attribute,
            description.current_humidity_attribute,
            description.mode_attribute,
        )
        return (*super().watched_attributes(), *(key for key in extra if key))

    @property
    def is_on(self) -> bool | None:
        """Whether the appliance runs."""
        return self.attribute_is_on(None)

    @property
    def target_humidity(self) -> float | None:
        """The target relative humidity in %."""
        return self.number_value(self.entity_description.target_humidity_attribute)

    @property
    def current_humidity(self) -> float | None:
        """The measured relative humidity in %."""
        return self.number_value(self.entity_description.current_humidity_attribute)

    @property
    def mode(self) -> str | None:
        """The current mode, when it is one of the available modes."""
        key = self.entity_description.mode_attribute
        if key is None or (state := self.device_state) is None:
            return None
        value = state.value(key)
        return value if isinstance(value, str) and value in (self.available_modes or ()) else None

    async def async_turn_on(self, **kwargs: object) -> None:
        """Run ``turn_on``."""
        await self.async_run(self.entity_description.turn_on)

    async def async_turn_off(self, **kwargs: object) -> None:
        """Run ``turn_off``."""
        await self.async_run(self.entity_description.turn_off)

    async def async_set_humidity(self, humidity: int) -> None:
        """Run ``set_humidity`` with argument ``humidity`` (%)."""
        await self.async_run(self.entity_description.set_humidity, humidity=int(humidity))

    async def async_set_mode(self, mode: str) -> None:
        """Run ``set_mode`` with argument ``mode``."""
        if (call := self.entity_description.set_mode) is not None:
            await self.async_run(call, mode=mode)
