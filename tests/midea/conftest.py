"""Fixtures: emulated Midea appliances and the fake NetHome Plus cloud on 127.0.0.1."""

from collections.abc import AsyncGenerator
from dataclasses import dataclass

import pytest

from emulators.midea import (
    AirConditioner,
    CloudAccount,
    Dehumidifier,
    FakeNetHomeCloud,
    MideaDiscoveryResponder,
    MideaLanServer,
    default_air_conditioner,
    default_dehumidifier,
)

ACCOUNT = "comfee@example.com"
PASSWORD = "correct horse"


@dataclass(slots=True)
class MideaStack:
    """A dehumidifier and an AC behind one address, their discovery responder, the cloud."""

    dehumidifier: Dehumidifier
    air_conditioner: AirConditioner
    dehumidifier_server: MideaLanServer
    air_conditioner_server: MideaLanServer
    responder: MideaDiscoveryResponder
    cloud: FakeNetHomeCloud
    account: CloudAccount

    @property
    def discovery_port(self) -> int:
        """The UDP port the responder listens on."""
        return self.responder.ports[0]


async def start_stack(protocol: int = 3, water_level_set: int = 50) -> MideaStack:
    """Start both appliances (own TCP ports), one discovery responder and the cloud."""
    dehumidifier = default_dehumidifier(protocol=protocol, water_level_set=water_level_set)
    air_conditioner = default_air_conditioner(protocol=protocol)
    servers = [MideaLanServer(dehumidifier), MideaLanServer(air_conditioner)]
    responder = MideaDiscoveryResponder()
    for server in servers:
        await server.start()
        responder.register(server)
    await responder.start()
    cloud = FakeNetHomeCloud()
    account = cloud.add_account(ACCOUNT, PASSWORD, [dehumidifier, air_conditioner])
    await cloud.start()
    return MideaStack(
        dehumidifier, air_conditioner, servers[0], servers[1], responder, cloud, account
    )


async def stop_stack(stack: MideaStack) -> None:
    """Stop everything :func:`start_stack` started."""
    await stack.cloud.stop()
    await stack.responder.stop()
    await stack.dehumidifier_server.stop()
    await stack.air_conditioner_server.stop()


@pytest.fixture
async def stack(socket_enabled: None) -> AsyncGenerator[MideaStack]:
    """V3 appliances (token and key minted by the emulator) and the cloud."""
    started = await start_stack()
    yield started
    await stop_stack(started)


@pytest.fixture
async def stack_v2(socket_enabled: None) -> AsyncGenerator[MideaStack]:
    """V2 appliances (no token) and the cloud."""
    started = await start_stack(protocol=2)
    yield started
    await stop_stack(started)
