"""Config entry diagnostics of a MaxSmart strip: a snapshot, and no secret ever in it."""

from collections.abc import AsyncGenerator
import json
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props
from syrupy.types import PropertyPath, SerializableData

from emulators.maxsmart import MaxSmartEmulator

from .conftest import strip_kwargs
from .integration import setup_entry

LOADS = [12.5, 40.0, 7.25, 100.0, 0.0, 60.0]
"""Fixed base loads in W (port 5 draws nothing although it is on)."""


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Home Assistant's snapshot format in ``snapshots/``, as in core.

    The plugin's own ``snapshot`` fixture is shadowed by syrupy's when both plugins load.
    """
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture
async def strip(
    socket_enabled: None, freezer: FrozenDateTimeFactory
) -> AsyncGenerator[MaxSmartEmulator]:
    """The 6-port strip with fixed loads and a seeded ±2 % variation, clock frozen."""
    emulator = MaxSmartEmulator("127.0.0.1", loads=LOADS, seed=1, **strip_kwargs())
    await emulator.start()
    yield emulator
    await emulator.stop()


def _free_ports(emulator: MaxSmartEmulator) -> Any:
    """Replace the emulator's free (random) ports by placeholders; keep everything else."""

    def matcher(*, data: SerializableData, path: PropertyPath) -> SerializableData:
        name = path[-1][0] if path else None
        if name in ("port", "discovery_port") and data in (
            emulator.http_port,
            emulator.udp_port,
        ):
            return "<free port>"
        if name == "configuration_url" and isinstance(data, str):
            return data.replace(f":{emulator.http_port}", ":<free port>")
        return data

    return matcher


async def test_entry_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    strip: MaxSmartEmulator,
    snapshot: SnapshotAssertion,
) -> None:
    """The entry, the strip's state (power read through the emulator) and its actions."""
    entry = await setup_entry(hass, strip)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)

    device = diagnostics["coordinators"][strip.serial]["devices"][strip.serial]
    attributes = device["attributes"]
    # The seeded readings are what the emulator sent (W, rounded to 0.01) ...
    assert strip.last_reading is not None
    for port in range(1, 7):
        reported = float(strip.last_reading["watt"][port - 1])
        assert attributes[f"port_{port}_power"]["value"] == pytest.approx(reported, abs=0.005)
        assert reported == pytest.approx(LOADS[port - 1], rel=0.021)
    # ... and energy is a float in kWh; it grows with time, so the snapshot only records its type.
    assert isinstance(attributes["energy"]["value"], float)
    assert attributes["energy"]["unit"] == "kWh"

    # The bridge section belongs to the MQTT bridge (tests/bridge); it is not MaxSmart's.
    assert diagnostics == snapshot(
        exclude=props("mqtt_bridge"),
        matcher=_compose(
            _free_ports(strip),
            _types_of_energy,
        ),
    )


def _types_of_energy(*, data: SerializableData, path: PropertyPath) -> SerializableData:
    """Energy values integrate real polls: keep their type, not their value."""
    names = [str(part[0]) for part in path]
    if len(names) >= 2 and names[-1] == "value" and names[-2].endswith("energy"):
        assert isinstance(data, float)
        return "<float kWh>"
    return data


def _compose(*matchers: Any) -> Any:
    def matcher(*, data: SerializableData, path: PropertyPath) -> SerializableData:
        for each in matchers:
            data = each(data=data, path=path)
        return data

    return matcher


async def test_no_secret_in_diagnostics(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, strip: MaxSmartEmulator
) -> None:
    """The strip's ``sak`` (cloud key, sent in every discovery reply) never appears; a ``sak``
    or credential that ever reached the entry data would be redacted."""
    entry = await setup_entry(hass, strip)
    assert strip.discovery_requests, "the identity was read over UDP, so the sak was sent"
    text = json.dumps(await get_diagnostics_for_config_entry(hass, hass_client, entry))
    assert strip.sak not in text
    assert '"sak"' not in text

    hass.config_entries.async_update_entry(
        entry, data={**entry.data, "sak": strip.sak, "password": "hunter2", "token": "t0k3n"}
    )
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = json.dumps(diagnostics)
    assert strip.sak not in text
    assert "hunter2" not in text
    assert "t0k3n" not in text
    assert diagnostics["entry"]["data"]["sak"] == "**REDACTED**"
    assert diagnostics["entry"]["data"]["password"] == "**REDACTED**"
    assert diagnostics["entry"]["data"]["serial"] == strip.serial
