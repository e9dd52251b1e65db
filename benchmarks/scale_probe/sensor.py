"""Plain sensors: the baseline's entities, and the floor's (see ``__init__``)."""

from typing import Any

from homeassistant.components.sensor import SensorDeviceClass, SensorEntity, SensorStateClass
from homeassistant.const import UnitOfPower
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from . import DATA_SENSORS


class PlainSensor(SensorEntity):
    """One sensor shaped like a strip port's power reading; idle unless the floor load writes it."""

    _attr_should_poll = False
    _attr_device_class = SensorDeviceClass.POWER
    _attr_state_class = SensorStateClass.MEASUREMENT
    _attr_native_unit_of_measurement = UnitOfPower.WATT

    def __init__(self, index: int) -> None:
        self._attr_name = f"Plain {index}"
        self._attr_unique_id = f"scale_probe_{index}"
        self._attr_native_value = index

    @callback
    def async_write_value(self, value: float) -> None:
        """Write ``value`` (W) as the new state."""
        self._attr_native_value = value
        self.async_write_ha_state()


async def async_setup_platform(
    hass: HomeAssistant,
    config: dict[str, Any],
    async_add_entities: AddEntitiesCallback,
    discovery_info: Any = None,
) -> None:
    """Add ``entities`` plain sensors."""
    sensors = [PlainSensor(i) for i in range(int(config.get("entities", 0)))]
    hass.data[DATA_SENSORS] = sensors
    async_add_entities(sensors)
