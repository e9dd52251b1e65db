"""The base entity, and how platforms add and remove entities as devices come and go."""

from collections.abc import Callable, Collection
import logging
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import STRUCTURE, Interest, SwitchboardCoordinator
from .data import SwitchboardConfigEntry
from .descriptions import ActionCall, SwitchboardEntityDescription
from .model import AttributeValue, DeviceDescriptor, DeviceState

_LOGGER = logging.getLogger(__name__)


def device_info(descriptor: DeviceDescriptor) -> DeviceInfo:
    """Build the device registry entry of a device (identifiers, MAC, firmware, parent)."""
    info = DeviceInfo(
        identifiers={(DOMAIN, descriptor.id)},
        name=descriptor.name,
        manufacturer=descriptor.manufacturer,
        model=descriptor.model,
        sw_version=descriptor.sw_version,
        hw_version=descriptor.hw_version,
        serial_number=descriptor.serial_number,
    )
    if descriptor.mac:
        info["connections"] = {(dr.CONNECTION_NETWORK_MAC, descriptor.mac)}
    if descriptor.configuration_url:
        info["configuration_url"] = descriptor.configuration_url
    return info


@callback
def async_track_devices(hass: HomeAssistant, entry: SwitchboardConfigEntry) -> None:
    """Register every device of the entry as its coordinators report it, parents first.

    A hub (Meross hub, INDI server) is then in the device registry before the entities of its
    children link to it with ``via_device_id``. Runs again whenever a coordinator's
    ``structure_version`` changes (a device appears).
    """
    registry = dr.async_get(hass)

    @callback
    def watch(coordinator: SwitchboardCoordinator) -> None:
        seen_version = -1

        @callback
        def register() -> None:
            nonlocal seen_version
            if coordinator.data is None or coordinator.structure_version == seen_version:
                return
            seen_version = coordinator.structure_version
            for state in sorted(
                coordinator.data.values(), key=lambda state: state.descriptor.via_device is not None
            ):
                info = device_info(state.descriptor)
                if parent_id := state.descriptor.via_device:
                    parent = registry.async_get_device_by_identifier(
                        (DOMAIN, parent_id), entry.entry_id
                    )
                    if parent is not None:
                        info["via_device_id"] = parent.id
                registry.async_get_or_create(config_entry_id=entry.entry_id, **info)

        register()
        entry.async_on_unload(coordinator.async_add_listener(register, STRUCTURE))

    entry.async_on_unload(entry.runtime_data.runtime.async_listen_coordinators(watch))


@callback
def async_remove_stale_devices(
    hass: HomeAssistant, entry: ConfigEntry, listed: Collection[str]
) -> list[str]:
    """Take the entry's devices that ``listed`` lacks out of the device registry.

    ``listed`` is every device id the entry's account or hub still has (quality scale rule
    ``stale-devices``): a family that knows the whole list (the Meross device list, a Midea
    account's appliances) calls this after each successful read of it, once the coordinators
    have dropped the departed devices. A device that is only offline, or moved to another
    broker, is still listed and stays. A device belongs to one config entry, so a stale one is
    removed from the registry (``async_remove_device``, as core's ``aidot`` does), and its
    entities with it. Families that cannot know (an INDI server's devices come and go with its
    drivers) leave deletion to the user (``async_remove_config_entry_device``). Returns the
    names of the devices removed.
    """
    registry = dr.async_get(hass)
    removed: list[str] = []
    for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
        ids = {identifier for domain, identifier in device.identifiers if domain == DOMAIN}
        if ids and ids.isdisjoint(listed) and registry.async_get(device.id) is not None:
            _LOGGER.debug("Removing %s: its account no longer lists it", device.name)
            registry.async_remove_device(device.id)
            removed.append(device.name or next(iter(ids)))
    return removed


class SwitchboardEntity(CoordinatorEntity[SwitchboardCoordinator]):
    """An entity drawing one device of a coordinator through its description."""

    _attr_has_entity_name = True
    entity_description: SwitchboardEntityDescription

    def __init__(
        self,
        coordinator: SwitchboardCoordinator,
        device_id: str,
        description: SwitchboardEntityDescription,
    ) -> None:
        """Bind the entity to ``device_id`` on ``coordinator``."""
        super().__init__(coordinator)
        self.device_id = device_id
        self.entity_description = description
        self._attr_unique_id = f"{device_id}_{description.key}"
        self._descriptor = coordinator.data[device_id].descriptor
        self._watched = self.watched_attributes()
        # The coordinator calls this entity only for updates touching these attributes.
        self.coordinator_context = Interest(device_id, frozenset(self._watched))
        self._seen: tuple[object, ...] = self._snapshot(self.device_state)

    def watched_attributes(self) -> tuple[str, ...]:
        """Device attributes this entity's state depends on (platforms with more extend it)."""
        description = self.entity_description
        keys = (
            description.attribute,
            description.name_attribute,
            description.requires_on,
            *(key for _, key in description.extra_attributes),
            *(key for _, key in description.name_placeholders),
        )
        return tuple(key for key in keys if key)

    def _snapshot(self, state: DeviceState | None) -> tuple[object, ...]:
        """What this entity shows of ``state`` (its device's current state)."""
        if state is None:
            return (self.coordinator.last_update_success, None)
        return (
            self.coordinator.last_update_success,
            state.available,
            *map(state.attributes.get, self._watched),
        )

    @callback
    def _handle_coordinator_update(self) -> None:
        """Write the state only when something this entity shows has changed.

        The coordinator calls only entities whose attributes changed (see ``Interest``); this
        check also covers updates it could not narrow down (a poll after a failure).
        """
        state = self.device_state
        if state is not None and state.descriptor is not self._descriptor:
            changed = state.descriptor != self._descriptor
            self._descriptor = state.descriptor
            if changed:
                self._async_update_device_registry(state.descriptor)
        snapshot = self._snapshot(state)
        if snapshot == self._seen:
            return
        self._seen = snapshot
        self.async_write_ha_state()

    @callback
    def _async_update_device_registry(self, descriptor: DeviceDescriptor) -> None:
        """Carry a changed name, model or firmware into the device registry."""
        if self.device_entry is None:
            return
        dr.async_get(self.hass).async_update_device(
            self.device_entry.id,
            name=descriptor.name,
            model=descriptor.model,
            sw_version=descriptor.sw_version,
            hw_version=descriptor.hw_version,
            serial_number=descriptor.serial_number,
        )

    @property
    def device_info(self) -> DeviceInfo:
        """The device registry entry, linked to its parent (see ``async_track_devices``)."""
        info = device_info(self._descriptor)
        if (parent_id := self._descriptor.via_device) and self.platform is not None:
            parent = dr.async_get(self.hass).async_get_device_by_identifier(
                (DOMAIN, parent_id), self.coordinator.config_entry.entry_id
            )
            if parent is not None:
                info["via_device_id"] = parent.id
        return info

    @property
    def device_state(self) -> DeviceState | None:
        """The device's current state, or ``None`` once it has left the coordinator."""
        return (self.coordinator.data or {}).get(self.device_id)

    @property
    def attribute_value(self) -> AttributeValue:
        """The value of the description's attribute (``None`` when absent)."""
        state = self.device_state
        attribute = self.entity_description.attribute
        if state is None or attribute is None:
            return None
        return state.value(attribute)

    def number_value(self, key: str | None) -> float | None:
        """Device attribute ``key`` as a float; ``None`` when absent or not a number."""
        if key is None or (state := self.device_state) is None:
            return None
        value = state.value(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return float(value)

    def attribute_is_on(self, on_value: AttributeValue) -> bool | None:
        """Read the attribute as on/off: equal to ``on_value`` when given, else truthy."""
        value = self.attribute_value
        if value is None:
            return None
        if on_value is not None:
            return value == on_value
        return bool(value)

    @property
    def available(self) -> bool:
        """Available while the coordinator succeeds, the device is online and has the attribute.

        With ``requires_on``, also only while that device attribute is truthy.
        """
        state = self.device_state
        if not super().available or state is None or not state.available:
            return False
        description = self.entity_description
        if description.requires_on is not None and not state.value(description.requires_on):
            return False
        return description.attribute is None or description.attribute in state.attributes

    @property
    def name(self) -> Any:
        """The name from ``name_attribute`` when the device provides one.

        Otherwise the translated name with its ``name_placeholders`` filled from the device's
        current attributes (a port's sensors follow the port's name), else Home Assistant's.
        """
        if (
            (key := self.entity_description.name_attribute)
            and (state := self.device_state)
            and isinstance(name := state.value(key), str)
            and name
        ):
            return name
        if self.entity_description.name_placeholders and (
            (name := self._name_from_placeholders()) is not None
        ):
            return name
        return super().name

    def _name_from_placeholders(self) -> str | None:
        """The translated name filled from the device (None without ``name_placeholders``)."""
        description = self.entity_description
        platform = self.platform_data
        if not description.name_placeholders or not description.translation_key or not platform:
            return None
        template = platform.platform_translations.get(
            f"component.{DOMAIN}.entity.{platform.domain}.{description.translation_key}.name"
        )
        if template is None:
            return None
        values = dict(description.translation_placeholders or {})
        if state := self.device_state:
            for placeholder, key in description.name_placeholders:
                if isinstance(value := state.value(key), str) and value:
                    values[placeholder] = value
        return template.format(**values)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Attributes named by the description's ``extra_attributes``."""
        if not self.entity_description.extra_attributes or not (state := self.device_state):
            return None
        return {name: state.value(key) for name, key in self.entity_description.extra_attributes}

    async def async_run(self, call: ActionCall, **extra: Any) -> None:
        """Run an action of this entity's device through the coordinator (see its contract)."""
        await self.coordinator.async_execute(self.device_id, call.action, call.with_args(**extra))


def async_setup_platform_entities[DescriptionT: SwitchboardEntityDescription](
    hass: HomeAssistant,
    entry: SwitchboardConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    platform: Platform,
    description_type: type[DescriptionT],
    factory: Callable[[SwitchboardCoordinator, str, DescriptionT], Entity],
) -> None:
    """Add this platform's entities for every device, now and as devices/attributes appear.

    Each coordinator is asked for descriptions whenever its ``structure_version`` changes;
    new descriptions become entities, and entities whose description vanished (the device
    left, or an INDI ``delProperty``) are removed from the entity registry. An entity whose
    description got another name (an INDI vector defined later made its name ambiguous) takes
    the new name.
    """
    runtime = entry.runtime_data.runtime
    registry = er.async_get(hass)

    @callback
    def watch(coordinator: SwitchboardCoordinator) -> None:
        known: dict[str, Entity] = {}  # unique id -> entity
        seen_version = -1

        @callback
        def refresh() -> None:
            nonlocal seen_version
            if coordinator.structure_version == seen_version or coordinator.data is None:
                return
            seen_version = coordinator.structure_version
            current: set[str] = set()
            new: list[Entity] = []
            for device_id, state in coordinator.data.items():
                for description in runtime.describe(state):
                    if description.platform != platform or not isinstance(
                        description, description_type
                    ):
                        continue
                    unique_id = f"{device_id}_{description.key}"
                    current.add(unique_id)
                    if (entity := known.get(unique_id)) is None:
                        known[unique_id] = entity = factory(coordinator, device_id, description)
                        new.append(entity)
                    else:
                        _follow_name(registry, platform, unique_id, entity, description)
            for unique_id in set(known) - current:
                del known[unique_id]
                if entity_id := registry.async_get_entity_id(platform, DOMAIN, unique_id):
                    registry.async_remove(entity_id)
            if new:
                async_add_entities(new)

        refresh()
        entry.async_on_unload(coordinator.async_add_listener(refresh, STRUCTURE))

    entry.async_on_unload(runtime.async_listen_coordinators(watch))


@callback
def _follow_name(
    registry: er.EntityRegistry,
    platform: Platform,
    unique_id: str,
    entity: Entity,
    description: SwitchboardEntityDescription,
) -> None:
    """Give ``entity`` its description's new name (registry and state) when it changed.

    A disabled entity is never added to Home Assistant; its registry entry is renamed all
    the same.
    """
    name = description.name
    current = getattr(entity, "entity_description", None)
    if current is None or current.name == name or not isinstance(name, str):
        return
    entity.entity_description = description
    entity._attr_name = name  # invalidates Entity's cached name
    if entity_id := registry.async_get_entity_id(platform, DOMAIN, unique_id):
        registry.async_update_entity(entity_id, original_name=name)
    if entity.registry_entry is not None and entity.hass is not None:
        entity.async_write_ha_state()
