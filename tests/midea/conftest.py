"""Fixtures: emulated Midea appliances and the fake NetHome Plus cloud on 127.0.0.1."""

from collections.abc import AsyncGenerator, Generator
from dataclasses import dataclass
from typing import Any

from homeassistant.core import HomeAssistant
import midealocal.cloud
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.switchboard.const import CONF_FAMILY, DOMAIN
from custom_components.switchboard.net import Backoff
from custom_components.switchboard.vendors.midea.client import (
    ApplianceConfig,
    MideaApplianceClient,
)
from emulators.midea import (
    AirConditioner,
    CloudAccount,
    Dehumidifier,
    FakeNetHomeCloud,
    MideaAppliance,
    MideaDiscoveryResponder,
    MideaLanServer,
    default_air_conditioner,
    default_bb_air_conditioner,
    default_dehumidifier,
)

from ..snapshots import every_entity_enabled

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


async def start_stack(
    protocol: int = 3, water_level_set: int = 50, *, bb: bool = False, **air_conditioner: Any
) -> MideaStack:
    """Start both appliances (own TCP ports), one discovery responder and the cloud.

    ``air_conditioner`` are :class:`AirConditioner` arguments (``fresh_air=False``, ...);
    ``bb``: the air conditioner is model 23096633 (:class:`BBAirConditioner`).
    """
    dehumidifier = default_dehumidifier(protocol=protocol, water_level_set=water_level_set)
    build = default_bb_air_conditioner if bb else default_air_conditioner
    air_conditioner_ = build(protocol=protocol, **air_conditioner)
    servers = [MideaLanServer(dehumidifier), MideaLanServer(air_conditioner_)]
    # On 0.0.0.0, so broadcasts to the loopback network (LOOPBACK_ADAPTER) reach it too.
    responder = MideaDiscoveryResponder("0.0.0.0")
    for server in servers:
        await server.start()
        responder.register(server)
    await responder.start()
    cloud = FakeNetHomeCloud()
    account = cloud.add_account(ACCOUNT, PASSWORD, [dehumidifier, air_conditioner_])
    await cloud.start()
    return MideaStack(
        dehumidifier, air_conditioner_, servers[0], servers[1], responder, cloud, account
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


def appliance_record(appliance: MideaAppliance, *, v3_keys: bool = True) -> dict[str, Any]:
    """The entry data record of one emulated appliance (as the config flow stores it)."""
    return ApplianceConfig(
        appliance_id=appliance.appliance_id,
        device_type=appliance.device_type,
        name=appliance.name,
        host=appliance.host,
        port=appliance.port,
        protocol=appliance.protocol,
        token=appliance.token if appliance.protocol == 3 and v3_keys else "",
        key=appliance.key if appliance.protocol == 3 and v3_keys else "",
        serial=appliance.serial,
        model=appliance.model,
        subtype=int(appliance.model_number),
        mac=appliance.mac,
        firmware=".".join(str(part) for part in appliance.firmware),
    ).as_dict()


@pytest.fixture
async def account_entry(hass: HomeAssistant, stack: MideaStack) -> AsyncGenerator[MockConfigEntry]:
    """The account entry of :func:`setup_account_entry`, unloaded before the stack stops."""
    entry = await setup_account_entry(hass, stack)
    yield entry
    await hass.config_entries.async_unload(entry.entry_id)


async def setup_account_entry(
    hass: HomeAssistant, stack: MideaStack, options: dict[str, Any] | None = None
) -> MockConfigEntry:
    """An account entry holding both emulated appliances, set up and loaded."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=ACCOUNT,
        unique_id=f"NetHome Plus:{ACCOUNT}",
        data={
            CONF_FAMILY: "midea",
            "account": ACCOUNT,
            "password": PASSWORD,
            "cloud": "NetHome Plus",
            "api_url": stack.cloud.url,
            "discovery_port": stack.discovery_port,
            "appliances": {
                str(appliance.appliance_id): appliance_record(appliance)
                for appliance in (stack.dehumidifier, stack.air_conditioner)
            },
        },
        options=options or {},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


@pytest.fixture
def entity_registry_enabled_by_default() -> Generator[None]:
    """Every entity enabled, also those disabled by default."""
    with every_entity_enabled():
        yield


@pytest.fixture(autouse=True)
def fast_reconnect(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reconnect within 0.2 s and give up on a reply after 3 s (real: 3 s at most, and 5 s).

    The reply timeout is what a test's fault must outlast, and every reply in time must beat
    it on a loaded machine: at 1 s, a poll answered late there made a second outage ("Cellar
    is unavailable" logged twice) and a command fail.
    """
    monkeypatch.setattr(
        MideaApplianceClient, "reconnect_backoff", Backoff(base=0.1, cap=0.2, jitter=0)
    )
    monkeypatch.setattr(MideaApplianceClient, "reply_timeout", 3.0)
    monkeypatch.setattr(midealocal.cloud, "_TRANSIENT_RETRY_BACKOFF_SECONDS", 0.0)
