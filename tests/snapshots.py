"""Entity snapshots: one platform of a config entry, every entity enabled, volatile parts masked.

Used by each family's ``test_snapshots.py``. :func:`snapshot_platform` (from the test plugin,
as core's tests use it) records the entity registry entry and the state of every entity of
the entry; :func:`masked` replaces what differs from run to run (free ports, values that
integrate wall-clock time) by placeholders, so a diff in a snapshot file is a real change of
names, units, device classes or values.
"""

from collections.abc import Callable, Generator, Iterable
from contextlib import contextmanager
from unittest.mock import PropertyMock, patch

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from syrupy.assertion import SnapshotAssertion
from syrupy.types import PropertyPath, SerializableData

type Matcher = Callable[..., SerializableData]


@contextmanager
def every_entity_enabled() -> Generator[None]:
    """Entities disabled by default are created enabled (as core's tests do it)."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


@contextmanager
def only_platform(platform: Platform) -> Generator[None]:
    """Set up only ``platform`` (``snapshot_platform`` wants one) with every entity enabled."""
    with patch("custom_components.switchboard.PLATFORMS", (platform,)), every_entity_enabled():
        yield


def masked(
    *,
    replace: dict[str, str] | None = None,
    ports: Iterable[int] = (),
    volatile_keys: Iterable[str] = (),
    volatile_entities: Iterable[str] = (),
) -> Matcher:
    """A syrupy matcher that hides what differs from run to run.

    Substrings in ``replace`` are swapped in every string (free ports in ids and names); a field
    named ``port`` holding one of ``ports`` becomes ``<free port>``; the state of an entity in
    ``volatile_entities``, and any field named in ``volatile_keys``, becomes ``<volatile>``
    (that it exists is still recorded).
    """
    replacements = replace or {}
    keys = frozenset(volatile_keys)
    entities = frozenset(volatile_entities)
    free_ports = frozenset(ports)

    def matcher(*, data: SerializableData, path: PropertyPath) -> SerializableData:
        names = [str(part[0]) for part in path]
        if names and names[-1] in keys:
            return "<volatile>"
        if names and names[-1] == "port" and type(data) is int and data in free_ports:
            return "<free port>"
        if isinstance(data, dict) and data.get("entity_id") in entities and "state" in data:
            return {**data, "state": "<volatile>"}
        if isinstance(data, str):
            for old, new in replacements.items():
                data = data.replace(old, new)
        return data

    return matcher


def rename_entities(hass: HomeAssistant, old: str, new: str) -> None:
    """Rename every entity id containing ``old`` (a free port) so snapshot names are stable."""
    registry = er.async_get(hass)
    for entry in list(registry.entities.values()):
        if old in entry.entity_id:
            registry.async_update_entity(
                entry.entity_id, new_entity_id=entry.entity_id.replace(old, new)
            )


def with_matcher(snapshot: SnapshotAssertion, matcher: Matcher) -> SnapshotAssertion:
    """``snapshot`` applying ``matcher`` to every value it records."""
    return snapshot.with_defaults(matcher=matcher)
