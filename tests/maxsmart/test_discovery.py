"""MaxSmart discovery at run time: background broadcast every 15 minutes and the strip's
identity (names) re-read over unicast UDP while it is polled.

Broadcasts go to the loopback adapter only, answered by emulators behind a relay on
``0.0.0.0`` (tests/conftest.py ``LOOPBACK_ADAPTER``), so nothing leaves the machine.
"""

import asyncio
from collections.abc import AsyncGenerator, Generator
from datetime import timedelta
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.network.models import Adapter
from homeassistant.config_entries import SOURCE_INTEGRATION_DISCOVERY
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.switchboard.const import DOMAIN
from custom_components.switchboard.vendors.maxsmart import discovery
from custom_components.switchboard.vendors.maxsmart.client import (
    MaxSmartConnectionError,
    MaxSmartDeviceInfo,
    MaxSmartResponseError,
    parse_discovery_reply,
)
from custom_components.switchboard.vendors.maxsmart.source import NAMES_EVERY_POLLS
from emulators.maxsmart import MaxSmartBroadcastRelay, MaxSmartEmulator

from ..conftest import LOOPBACK_ADAPTER
from .integration import entry_data, setup_entry

DISCOVERY = "custom_components.switchboard.vendors.maxsmart.discovery"


@pytest.fixture
def short_discovery() -> Generator[None]:
    """Collect broadcast replies for 0.3 s instead of 2 s (real time, no frozen clock)."""
    with patch(f"{DISCOVERY}.DISCOVERY_TIMEOUT", 0.3):
        yield


@pytest.fixture
async def relay(
    strip: MaxSmartEmulator,
    plug: MaxSmartEmulator,
    network_adapters: list[Adapter],
    short_discovery: None,
) -> AsyncGenerator[MaxSmartBroadcastRelay]:
    """Strip and plug behind a broadcast relay on 0.0.0.0; the loopback adapter enabled."""
    relay = MaxSmartBroadcastRelay(port=0)
    relay.register(strip)
    relay.register(plug)
    await relay.start()
    network_adapters.append(LOOPBACK_ADAPTER)
    with patch(f"{DISCOVERY}.DISCOVERY_PORT", relay.port):
        yield relay
    await relay.stop()


def _discovery_flows(hass: HomeAssistant) -> dict[str, dict[str, Any]]:
    """Discovery flows in progress, by the serial they were started for."""
    return {
        flow["context"]["unique_id"]: flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"]["source"] == SOURCE_INTEGRATION_DISCOVERY
    }


async def _fire(hass: HomeAssistant, minutes: float) -> None:
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=minutes))
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_background_discovery_offers_new_strips_every_15_minutes(
    hass: HomeAssistant,
    strip: MaxSmartEmulator,
    plug: MaxSmartEmulator,
    relay: MaxSmartBroadcastRelay,
) -> None:
    """At start and every 15 minutes one broadcast; each new device gets one discovery flow."""
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done(wait_background_tasks=True)

    assert relay.received == 1
    flows = _discovery_flows(hass)
    assert set(flows) == {strip.serial, plug.serial}
    assert {flow["step_id"] for flow in flows.values()} == {"maxsmart_discovery_confirm"}
    assert flows[strip.serial]["context"]["title_placeholders"] == {"name": "Desk"}

    # A strip plugged in later is offered at the next run, not before.
    newcomer = MaxSmartEmulator(
        "127.0.0.1", serial="SWP6023002009999", name="Garage", mac="BC:2B:00:00:00:09"
    )
    await newcomer.start()
    relay.register(newcomer)
    try:
        await _fire(hass, 14)
        assert relay.received == 1
        assert newcomer.serial not in _discovery_flows(hass)

        await _fire(hass, 15)
        assert relay.received == 2
        flows = _discovery_flows(hass)
        assert set(flows) == {strip.serial, plug.serial, newcomer.serial}
        # Devices already offered are not offered twice.
        assert len(hass.config_entries.flow.async_progress_by_handler(DOMAIN)) == 3

        await _fire(hass, 15)
        assert relay.received == 3
    finally:
        relay.unregister(newcomer)
        await newcomer.stop()


async def test_background_discovery_updates_a_moved_strip(
    hass: HomeAssistant,
    strip: MaxSmartEmulator,
    plug: MaxSmartEmulator,
    relay: MaxSmartBroadcastRelay,
) -> None:
    """A configured strip answering from a new address gets its entry updated, no flow."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=strip.serial,
        data={**entry_data(strip), "host": "192.0.2.7", "discovery_port": 9},
    )
    entry.add_to_hass(hass)
    with patch("custom_components.switchboard.async_setup_entry", return_value=True):
        assert await async_setup_component(hass, DOMAIN, {})
        await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.data["host"] == "127.0.0.1"
    assert entry.data["discovery_port"] == strip.udp_port
    assert set(_discovery_flows(hass)) == {plug.serial}


async def test_discovery_targets_and_a_failing_adapter(
    hass: HomeAssistant,
    strip: MaxSmartEmulator,
    plug: MaxSmartEmulator,
    relay: MaxSmartBroadcastRelay,
    network_adapters: list[Adapter],
) -> None:
    """Only enabled adapters with a broadcast address are used; one failing does not stop
    the others."""
    network_adapters.extend(
        [
            {
                **LOOPBACK_ADAPTER,
                "name": "eth0",
                "ipv4": [{"address": "10.1.2.3", "network_prefix": 8}],
            },
            {
                **LOOPBACK_ADAPTER,
                "name": "wg0",
                "ipv4": [{"address": "10.9.9.9", "network_prefix": 32}],
            },
            {
                **LOOPBACK_ADAPTER,
                "name": "eth1",
                "enabled": False,
                "ipv4": [{"address": "192.168.7.2", "network_prefix": 24}],
            },
        ]
    )
    assert await discovery.async_discovery_targets(hass) == ["10.255.255.255", "127.255.255.255"]

    real_discover = discovery.async_discover
    sent_to: list[str] = []

    async def only_loopback(address: str, *args: Any, **kwargs: Any) -> list[MaxSmartDeviceInfo]:
        sent_to.append(address)
        if address != "127.255.255.255":  # never send off this machine
            raise MaxSmartConnectionError(f"cannot send discovery to {address}")
        return await real_discover(address, *args, **kwargs)

    with patch(f"{DISCOVERY}.async_discover", only_loopback):
        found = await discovery.async_discover_devices(hass)
    assert sorted(sent_to) == ["10.255.255.255", "127.255.255.255"]
    assert {info.serial for info in found} == {strip.serial, plug.serial}
    assert discovery.discovery_data(found[0])["family"] == "maxsmart"


@pytest.mark.parametrize(
    "payload",
    [
        b"\xff\xfe",
        b"not json",
        b"[1, 2]",
        b'{"response": 511, "data": {"sn": "X"}}',
        b'{"response": 0, "data": []}',
        b'{"response": 0, "data": {"sn": ""}}',
        b'{"response": 0, "data": {"sn": "X", "name": 5}}',
        b'{"response": 0, "data": {"sn": "X", "pname": "TV"}}',
        b'{"response": 0, "data": {"sn": "X", "pname": ["TV", 2]}}',
    ],
)
def test_foreign_datagrams_are_rejected(payload: bytes) -> None:
    """Datagrams on the discovery port that are not a MaxSmart reply raise (and are skipped)."""
    with pytest.raises(MaxSmartResponseError):
        parse_discovery_reply(payload, ("127.0.0.1", 8888))


def test_minimal_discovery_reply() -> None:
    """Only ``sn`` is required; ``pname: null`` means no port names; a bad MAC is dropped."""
    info = parse_discovery_reply(
        b'{"data": {"sn": "SWP1", "pname": null, "mac": "zz"}}', ("127.0.0.2", 8888)
    )
    assert info == MaxSmartDeviceInfo(
        serial="SWP1",
        name="",
        port_names=(),
        mac=None,
        firmware="",
        host="127.0.0.2",
        udp_port=8888,
    )


async def _tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_port_names_are_reread_every_60_polls(
    hass: HomeAssistant, strip: MaxSmartEmulator, freezer: FrozenDateTimeFactory
) -> None:
    """A port renamed in the vendor's app shows after at most 60 polls (5 minutes)."""
    await setup_entry(hass, strip)
    assert hass.states.get("switch.desk_lamp").attributes["friendly_name"] == "Desk Lamp"
    identity_reads = len(strip.discovery_requests)
    assert identity_reads == 1  # at setup

    strip.port_names[1] = "Coffee"  # renamed in the app: only discovery shows it
    polls = strip.requests[511]
    while strip.requests[511] < NAMES_EVERY_POLLS - 1:
        await _tick(hass, freezer, 5)
    assert len(strip.discovery_requests) == identity_reads
    assert hass.states.get("switch.desk_lamp").attributes["friendly_name"] == "Desk Lamp"

    await _tick(hass, freezer, 5)  # poll 60
    assert strip.requests[511] == NAMES_EVERY_POLLS
    assert len(strip.discovery_requests) == identity_reads + 1
    assert strip.discovery_requests[-1][0] == "00dv=all;"  # never sets the strip's clock
    assert hass.states.get("switch.desk_lamp").attributes["friendly_name"] == "Desk Coffee"
    assert strip.requests[511] - polls == NAMES_EVERY_POLLS - 1

    # A silent strip keeps the names it had; polling goes on.
    strip.faults.udp_silent = True
    strip.port_names[1] = "Kettle"
    while strip.requests[511] < 2 * NAMES_EVERY_POLLS - 1:
        await _tick(hass, freezer, 5)
    assert len(strip.discovery_requests) == identity_reads + 1
    # Poll 120 asks again; the unanswered query ends after its 1 s timeout.
    freezer.tick(timedelta(seconds=5))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    for _ in range(100):
        if len(strip.discovery_requests) == identity_reads + 2:
            break
        await asyncio.sleep(0)
    await _tick(hass, freezer, 1)
    assert len(strip.discovery_requests) == identity_reads + 2
    assert hass.states.get("switch.desk_lamp").attributes["friendly_name"] == "Desk Coffee"
    assert hass.states.get("switch.desk_lamp").state == "on"


async def test_rename_strip_through_the_coordinator(
    hass: HomeAssistant, strip: MaxSmartEmulator
) -> None:
    """Port 0 renames the strip itself (the MQTT bridge's path; no entity offers it)."""
    entry = await setup_entry(hass, strip)
    coordinator = entry.runtime_data.runtime.coordinators[strip.serial]
    state = await coordinator.async_execute(
        strip.serial, "rename_port", {"port": 0, "name": "Office"}
    )
    assert strip.name == "Office"
    assert state.attributes["name"].value == "Office"
    assert state.descriptor.name == "Office"
    # Port names are untouched.
    assert state.attributes["port_1_name"].value == "TV"


async def test_strip_without_udp_answers_gets_default_names(
    hass: HomeAssistant, strip: MaxSmartEmulator
) -> None:
    """A strip whose discovery replies never arrive (UDP dropped between networks) still
    works over HTTP, with "Port n" names and the entry's title as its name."""
    strip.faults.udp_silent = True
    entry = await setup_entry(hass, strip)
    assert len(strip.discovery_requests) == 1
    for port in range(1, 7):
        state = hass.states.get(f"switch.desk_port_{port}")
        assert state is not None, port
        assert state.attributes["friendly_name"] == f"Desk Port {port}"
    data = entry.runtime_data.runtime.coordinators[strip.serial].data[strip.serial]
    assert data.descriptor.name == "Desk"
    assert data.attributes["firmware"].value is None
