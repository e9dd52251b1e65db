"""Climate: Meross MTS200/MTS100 thermostats, INDI CCD coolers, Midea air conditioners.

HVAC mode, current/target temperature and action come from device attributes; presets (the
thermostat's own modes, each with its target) when the description lists ``preset_modes``.
"""

from typing import Any

from homeassistant.components.climate import (
    ATTR_HVAC_MODE,
    ClimateEntity,
    ClimateEntityFeature,
    HVACAction,
    HVACMode,
)
from homeassistant.const import ATTR_TEMPERATURE, Platform, UnitOfTemperature
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import SwitchboardCoordinator
from .data import SwitchboardConfigEntry
from .descriptions import SwitchboardClimateDescription
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
    """Add climate entities for every device of the entry, now and later."""
    async_setup_platform_entities(
        hass,
        entry,
        async_add_entities,
        Platform.CLIMATE,
        SwitchboardClimateDescription,
        SwitchboardClimate,
    )


class SwitchboardClimate(SwitchboardEntity, ClimateEntity):
    """A thermostat: HVAC mode, current and target temperature from device attributes (°C)."""

    entity_description: SwitchboardClimateDescription
    _attr_temperature_unit = UnitOfTemperature.CELSIUS
    _enable_turn_on_off_backwards_compatibility = False

    def __init__(
        self,
        coordinator: SwitchboardCoordinator,
        device_id: str,
        description: SwitchboardClimateDescription,
    ) -> None:
        """Take modes, limits and features from the description."""
        super().__init__(coordinator, device_id, description)
        self._attr_hvac_modes = list(description.hvac_modes)
        self._attr_min_temp = description.min_temp
        self._attr_max_temp = description.max_temp
        self._attr_target_temperature_step = description.target_temperature_step
        features = ClimateEntityFeature.TARGET_TEMPERATURE
        if description.set_hvac_mode is not None:
            if HVACMode.OFF in description.hvac_modes:
                features |= ClimateEntityFeature.TURN_OFF
            if len([mode for mode in description.hvac_modes if mode != HVACMode.OFF]) > 0:
                features |= ClimateEntityFeature.TURN_ON
        if description.fan_modes and description.set_fan_mode is not None:
            features |= ClimateEntityFeature.FAN_MODE
            self._attr_fan_modes = list(description.fan_modes)
        if description.swing_modes and description.set_swing_mode is not None:
            features |= ClimateEntityFeature.SWING_MODE
            self._attr_swing_modes = list(description.swing_modes)
        if description.preset_modes and description.set_preset_mode is not None:
            features |= ClimateEntityFeature.PRESET_MODE
            self._attr_preset_modes = list(description.preset_modes)
        self._attr_supported_features = features

    def watched_attributes(self) -> tuple[str, ...]:
        """The mode attribute plus the temperature and action attributes."""
        description = self.entity_description
        extra = (
            description.current_temperature_attribute,
            description.target_temperature_attribute,
            description.hvac_action_attribute,
            description.preset_attribute,
            description.current_humidity_attribute,
            description.fan_mode_attribute,
            description.swing_mode_attribute,
        )
        return (*super().watched_attributes(), *(key for key in extra if key))

    @property
    def hvac_mode(self) -> HVACMode | None:
        """The current mode, when the device reports one Home Assistant knows."""
        value = self.attribute_value
        try:
            return HVACMode(value) if isinstance(value, str) else None
        except ValueError:
            return None

    @property
    def hvac_action(self) -> HVACAction | None:
        """What the device is doing right now (heating, idle, ...), when it reports it."""
        key = self.entity_description.hvac_action_attribute
        if key is None or (state := self.device_state) is None:
            return None
        value = state.value(key)
        try:
            return HVACAction(value) if isinstance(value, str) else None
        except ValueError:
            return None

    def _choice(self, key: str | None, choices: tuple[str, ...]) -> str | None:
        if key is None or (state := self.device_state) is None:
            return None
        value = state.value(key)
        return value if isinstance(value, str) and value in choices else None

    @property
    def current_humidity(self) -> float | None:
        """The measured relative humidity in %, when the device reports it."""
        return self.number_value(self.entity_description.current_humidity_attribute)

    @property
    def fan_mode(self) -> str | None:
        """The current fan mode, when it is one of ``fan_modes``."""
        description = self.entity_description
        return self._choice(description.fan_mode_attribute, description.fan_modes)

    @property
    def swing_mode(self) -> str | None:
        """The current swing mode, when it is one of ``swing_modes``."""
        description = self.entity_description
        return self._choice(description.swing_mode_attribute, description.swing_modes)

    async def async_set_fan_mode(self, fan_mode: str) -> None:
        """Run ``set_fan_mode`` with argument ``fan_mode``."""
        if (call := self.entity_description.set_fan_mode) is not None:
            await self.async_run(call, fan_mode=fan_mode)

    async def async_set_swing_mode(self, swing_mode: str) -> None:
        """Run ``set_swing_mode`` with argument ``swing_mode``."""
        if (call := self.entity_description.set_swing_mode) is not None:
            await self.async_run(call, swing_mode=swing_mode)

    @property
    def current_temperature(self) -> float | None:
        """The measured temperature in °C."""
        return self.number_value(self.entity_description.current_temperature_attribute)

    @property
    def target_temperature(self) -> float | None:
        """The target temperature in °C, on the grid of the declared step.

        A device may report a target off its own step (a Meross MTS200 reports 18.8 while it
        takes 0.5 steps): shown as is, the frontend's slider and its value disagree.
        """
        value = self.number_value(self.entity_description.target_temperature_attribute)
        step = self.entity_description.target_temperature_step
        if value is None or not step:
            return value
        return round(round(value / step) * step, 2)

    @property
    def preset_mode(self) -> str | None:
        """The device's current preset, when it is one of ``preset_modes``."""
        description = self.entity_description
        if description.preset_attribute is None or (state := self.device_state) is None:
            return None
        value = state.value(description.preset_attribute)
        return value if isinstance(value, str) and value in description.preset_modes else None

    async def async_set_preset_mode(self, preset_mode: str) -> None:
        """Run ``set_preset_mode`` with argument ``preset_mode`` (Home Assistant validated it)."""
        if self.entity_description.set_preset_mode is None:
            return
        await self.async_run(self.entity_description.set_preset_mode, preset_mode=preset_mode)

    async def async_set_temperature(self, **kwargs: Any) -> None:
        """Set the target (and optionally the mode first, as Home Assistant allows)."""
        if (mode := kwargs.get(ATTR_HVAC_MODE)) is not None:
            await self.async_set_hvac_mode(mode)
        if (temperature := kwargs.get(ATTR_TEMPERATURE)) is not None:
            await self.async_run(
                self.entity_description.set_temperature, temperature=float(temperature)
            )

    async def async_set_hvac_mode(self, hvac_mode: HVACMode) -> None:
        """Run ``set_hvac_mode`` with argument ``hvac_mode`` (a HVACMode string)."""
        if self.entity_description.set_hvac_mode is None:
            return
        await self.async_run(self.entity_description.set_hvac_mode, hvac_mode=str(hvac_mode))

    async def async_turn_on(self) -> None:
        """Switch to the first non-off mode the device supports."""
        for mode in self.entity_description.hvac_modes:
            if mode != HVACMode.OFF:
                await self.async_set_hvac_mode(mode)
                return

    async def async_turn_off(self) -> None:
        """Switch the mode to off."""
        await self.async_set_hvac_mode(HVACMode.OFF)
