"""Fixtures: a real mosquitto broker with TLS, the emulated Meross cloud and its devices."""

from collections.abc import AsyncGenerator
import contextlib
from dataclasses import dataclass

import aiohttp
import pytest

from custom_components.switchboard.vendors.meross.client import MerossCloud, MerossCredentials
from custom_components.switchboard.vendors.meross.mqtt import MerossMqttClient
from emulators.meross import (
    MerossCloudEmulator,
    MerossEmulatedAccount,
    MerossHub,
    MerossPlug,
    MerossStrip,
    MerossThermostat,
    MerossValve,
)
from emulators.mosquitto import Mosquitto, mosquitto_available

EMAIL = "meross@example.com"
PASSWORD = "correct horse battery staple"
VALVE_ID = "03002B0E"


@dataclass
class MerossEnv:
    """Everything a Meross test talks to."""

    broker: Mosquitto
    cloud: MerossCloudEmulator
    account: MerossEmulatedAccount
    plug: MerossPlug
    strip: MerossStrip
    thermostat: MerossThermostat
    hub: MerossHub

    @property
    def second_broker(self) -> Mosquitto:
        """The cloud's second broker (``meross_split_env`` only)."""
        return self.cloud.brokers[1]


@contextlib.asynccontextmanager
async def meross_broker() -> AsyncGenerator[Mosquitto]:
    """The Meross cloud's TLS mosquitto: app passwords checked, devices on an anonymous
    TLS listener. Skips the test when mosquitto is not installed."""
    if not mosquitto_available():
        pytest.skip("mosquitto is not installed (Debian: apt-get install mosquitto)")
    async with Mosquitto(tls=True, allow_anonymous=False, anonymous_tls_listener=True) as broker:
        yield broker


@contextlib.asynccontextmanager
async def meross_account(
    broker: Mosquitto, second_broker: Mosquitto | None = None
) -> AsyncGenerator[MerossEnv]:
    """The emulated cloud with one account: a plug, a strip, a thermostat and a hub + valve.

    With ``second_broker`` the account is split: the strip and the hub sit on the second
    broker (their device-list ``domain`` names it), the plug and the thermostat on the first.
    """
    cloud = MerossCloudEmulator(broker, extra_brokers=[second_broker] if second_broker else [])
    other = second_broker or broker
    account = cloud.add_account(EMAIL, PASSWORD)
    plug = await cloud.add_device(account, MerossPlug(name="Desk plug"))
    strip = await cloud.add_device(account, MerossStrip(name="Media strip"), broker=other)
    thermostat = await cloud.add_device(account, MerossThermostat(name="Hall thermostat"))
    hub = await cloud.add_device(
        account,
        MerossHub(name="Hub", valves=[MerossValve(subdevice_id=VALVE_ID, name="Radiator")]),
        broker=other,
    )
    async with cloud:
        yield MerossEnv(broker, cloud, account, plug, strip, thermostat, hub)


@pytest.fixture
async def mosquitto(socket_enabled: None) -> AsyncGenerator[Mosquitto]:
    """A mosquitto broker checking app passwords on its TLS listener."""
    async with meross_broker() as broker:
        yield broker


@pytest.fixture
async def meross_env(mosquitto: Mosquitto) -> AsyncGenerator[MerossEnv]:
    """The emulated cloud with one account: a plug, a strip, a thermostat and a hub + valve."""
    async with meross_account(mosquitto) as env:
        yield env


@pytest.fixture
async def meross_split_env(mosquitto: Mosquitto) -> AsyncGenerator[MerossEnv]:
    """The same account split over two brokers (strip and hub on ``second_broker``)."""
    async with meross_broker() as second, meross_account(mosquitto, second) as env:
        yield env


@pytest.fixture
async def http_session() -> AsyncGenerator[aiohttp.ClientSession]:
    """An aiohttp session closed after the test."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def credentials(
    meross_env: MerossEnv, http_session: aiohttp.ClientSession
) -> MerossCredentials:
    """Credentials of the emulated account (signed in through our client)."""
    return await MerossCloud(http_session, meross_env.cloud.url).async_login(EMAIL, PASSWORD)


@pytest.fixture
async def mqtt_client(
    meross_env: MerossEnv, credentials: MerossCredentials
) -> AsyncGenerator[MerossMqttClient]:
    """Our MQTT client, connected, trusting the broker's self-signed CA."""
    client = MerossMqttClient(
        host=credentials.mqtt_host,
        port=credentials.mqtt_port,
        user_id=credentials.user_id,
        key=credentials.key,
        ssl_context=meross_env.broker.client_ssl_context(),
        reconnect_min_delay=0.05,
        reconnect_max_delay=0.5,
    )
    await client.async_start()
    assert await client.async_wait_connected(10)
    yield client
    await client.async_stop()
