"""The LAN helpers on their own: discovery replies, malformed datagrams, the V3 handshake check."""

import asyncio
import contextlib
import socket

import pytest

from custom_components.switchboard.vendors.midea.client import (
    ApplianceConfig,
    UnsupportedAppliance,
    async_check_appliance,
)
from custom_components.switchboard.vendors.midea.lan import (
    PROBE,
    ApplianceUnreachable,
    WrongKey,
    WrongToken,
    async_check_credentials,
    async_discover,
    parse_discovery_reply,
)
from emulators.midea import default_air_conditioner, default_dehumidifier

from .conftest import MideaStack


def test_parse_discovery_reply() -> None:
    """V3 and V2 replies parse; anything else is ignored (never raises)."""
    v3 = default_dehumidifier()
    found = parse_discovery_reply(v3.discovery_reply(), "192.0.2.7")
    assert found is not None
    assert (found.appliance_id, found.device_type, found.protocol) == (v3.appliance_id, 0xA1, 3)
    assert (found.host, found.mac, found.firmware) == ("192.0.2.7", v3.mac, "3.0.8")
    assert found.serial == v3.serial
    assert found.supported
    v2 = default_air_conditioner(protocol=2)
    found_v2 = parse_discovery_reply(v2.discovery_reply(), "192.0.2.8")
    assert found_v2 is not None
    assert (found_v2.protocol, found_v2.device_type) == (2, 0xAC)
    for garbage in (
        b"",
        PROBE,  # our own probe echoed back: too short
        b"<?xml version='1.0'?><body/>",  # V1 appliances: not supported
        b"\x83\x70" + bytes(200),
        b"\x5a\x5a" + bytes(200),  # undecryptable payload
    ):
        assert parse_discovery_reply(garbage, "192.0.2.9") is None


async def test_discover_ignores_foreign_datagrams(socket_enabled: None) -> None:
    """A responder that answers with junk yields nothing; the wait ends on time."""

    class Junk(asyncio.DatagramProtocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport

        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            self.transport.sendto(b"hello", addr)  # type: ignore[attr-defined]

    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        Junk, local_addr=("127.0.0.1", 0)
    )
    try:
        port = transport.get_extra_info("sockname")[1]
        assert await async_discover(["127.0.0.1"], [port], wait=0.3) == {}
    finally:
        transport.close()


async def test_check_credentials(stack: MideaStack) -> None:
    """Right token and key pass; a wrong token, a wrong key and a closed port are told apart."""
    appliance = stack.dehumidifier
    port = stack.dehumidifier_server.port
    await async_check_credentials("127.0.0.1", port, appliance.token, appliance.key)
    with pytest.raises(WrongToken):
        await async_check_credentials("127.0.0.1", port, "00" * 64, appliance.key)
    with pytest.raises(WrongKey):
        await async_check_credentials("127.0.0.1", port, appliance.token, "00" * 32)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    with pytest.raises(ApplianceUnreachable):
        await async_check_credentials("127.0.0.1", closed, appliance.token, appliance.key)
    appliance.faults.silent = True
    with pytest.raises(ApplianceUnreachable):
        await async_check_credentials("127.0.0.1", port, appliance.token, appliance.key, wait=0.3)


async def test_check_appliance(stack_v2: MideaStack) -> None:
    """V2: reachable is enough; an unsupported type or a closed port is refused."""
    appliance = stack_v2.air_conditioner
    config = ApplianceConfig(
        appliance_id=appliance.appliance_id,
        device_type=0xAC,
        name="Bedroom",
        host="127.0.0.1",
        port=appliance.port,
        protocol=2,
    )
    await async_check_appliance(config)
    with pytest.raises(UnsupportedAppliance):
        await async_check_appliance(config.with_changes(device_type=0xFA))
    await stack_v2.air_conditioner_server.stop()
    with pytest.raises(ApplianceUnreachable):
        await async_check_appliance(config)
    with contextlib.suppress(OSError):
        await stack_v2.air_conditioner_server.start()
