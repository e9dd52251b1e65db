"""One MQTT connection per broker of an account (two real mosquitto brokers)."""

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import aiohttp
import pytest

from custom_components.switchboard.vendors.meross.brokers import (
    BrokerAddress,
    MerossBrokers,
    device_broker,
)
from custom_components.switchboard.vendors.meross.client import (
    MerossCloud,
    MerossConnectionError,
    MerossDeviceInfo,
    MerossMqttClient,
    RequestLimiter,
)

from .conftest import EMAIL, PASSWORD, MerossEnv


class _Recorder:
    def __init__(self) -> None:
        self.pushes: list[tuple[BrokerAddress, str, str]] = []
        self.states: list[tuple[BrokerAddress, bool]] = []
        self.push_event = asyncio.Event()


@pytest.fixture
async def split(
    meross_split_env: MerossEnv, http_session: aiohttp.ClientSession
) -> AsyncGenerator[tuple[MerossBrokers, _Recorder]]:
    env = meross_split_env
    credentials = await MerossCloud(http_session, env.cloud.url).async_login(EMAIL, PASSWORD)
    recorder = _Recorder()
    limiter = RequestLimiter(max_per_minute=600, burst=50)
    context = env.broker.client_ssl_context(verify=False)

    def factory(address: BrokerAddress) -> MerossMqttClient:
        def on_push(uuid: str, namespace: str, _payload: dict[str, Any]) -> None:
            recorder.pushes.append((address, uuid, namespace))
            recorder.push_event.set()

        return MerossMqttClient(
            host=address[0],
            port=address[1],
            user_id=credentials.user_id,
            key=credentials.key,
            ssl_context=context,
            limiter=limiter,
            on_push=on_push,
            on_connection_change=lambda up: recorder.states.append((address, up)),
            reconnect_min_delay=0.05,
            reconnect_max_delay=0.5,
        )

    brokers = MerossBrokers(factory)
    default = (credentials.mqtt_host, credentials.mqtt_port)
    for device in env.account.devices:
        info = MerossDeviceInfo.from_api(device.dev_list_item())
        await brokers.async_assign(device.uuid, device_broker(info, default))
    assert await brokers.async_wait_connected(10)
    yield brokers, recorder
    await brokers.async_stop()


def _address(env: MerossEnv, second: bool) -> BrokerAddress:
    return ("127.0.0.1", (env.second_broker if second else env.broker).tls_port)


async def test_one_connection_per_broker(
    meross_split_env: MerossEnv, split: tuple[MerossBrokers, _Recorder]
) -> None:
    env = meross_split_env
    brokers, _ = split
    assert set(brokers.clients) == {_address(env, False), _address(env, True)}
    assert sorted(brokers.devices_on(_address(env, True))) == sorted([env.strip.uuid, env.hub.uuid])
    # Requests go over the device's own broker; both connections share the account's limiter.
    for device in (env.plug, env.strip, env.hub, env.thermostat):
        reply = await brokers.async_request(device.uuid, "GET", "Appliance.System.All")
        assert reply["all"]["system"]["hardware"]["uuid"] == device.uuid
    limiters = {id(client.limiter) for client in brokers.clients.values()}
    assert len(limiters) == 1
    with pytest.raises(MerossConnectionError):
        await brokers.async_request("nope", "GET", "Appliance.System.All")
    diagnostics = {item["broker"]: item for item in brokers.diagnostics()}
    second = diagnostics[f"127.0.0.1:{env.second_broker.tls_port}"]
    assert second["connected"] is True
    assert sorted(second["devices"]) == sorted([env.strip.uuid, env.hub.uuid])


async def test_a_broker_restart_leaves_the_other_alone(
    meross_split_env: MerossEnv, split: tuple[MerossBrokers, _Recorder]
) -> None:
    env = meross_split_env
    brokers, recorder = split
    first, second = _address(env, False), _address(env, True)
    first_connects = brokers.clients[first].connect_count
    await env.second_broker.stop()
    # Only the strip and the hub lose their connection.
    async with asyncio.timeout(10):
        while brokers.connected(env.strip.uuid):
            await asyncio.sleep(0.05)
    assert brokers.connected(env.plug.uuid)
    assert not brokers.all_connected
    with pytest.raises(MerossConnectionError):
        await brokers.async_request(env.strip.uuid, "GET", "Appliance.System.All", timeout=2)
    # The first broker keeps pushing meanwhile.
    recorder.push_event.clear()
    await env.plug.push_toggle(True)
    async with asyncio.timeout(10):
        await recorder.push_event.wait()
    assert recorder.pushes[-1] == (first, env.plug.uuid, "Appliance.Control.ToggleX")
    await env.second_broker.start()
    await env.cloud.wait_devices_connected(broker=env.second_broker)
    assert await brokers.clients[second].async_wait_connected(10)
    assert (await brokers.async_request(env.strip.uuid, "GET", "Appliance.System.All"))["all"]
    # The first connection never dropped.
    assert brokers.clients[first].connect_count == first_connects
    assert (first, False) not in recorder.states
    assert [state for state in recorder.states if state[0] == second][-2:] == [
        (second, False),
        (second, True),
    ]


async def test_a_device_moves_between_brokers(
    meross_split_env: MerossEnv, split: tuple[MerossBrokers, _Recorder]
) -> None:
    env = meross_split_env
    brokers, _ = split
    first, second = _address(env, False), _address(env, True)
    await env.cloud.move_device(env.plug, env.second_broker)
    info = MerossDeviceInfo.from_api(env.plug.dev_list_item())
    assert await brokers.async_assign(env.plug.uuid, device_broker(info, first)) == first
    assert brokers.address(env.plug.uuid) == second
    assert brokers.moves == 1
    assert (await brokers.async_request(env.plug.uuid, "GET", "Appliance.System.All"))["all"]
    # The thermostat still holds the first broker's connection open.
    assert first in brokers.clients
    await env.cloud.move_device(env.thermostat, env.second_broker)
    await brokers.async_assign(env.thermostat.uuid, second)
    # Nobody is left on the first broker: its connection is closed.
    assert list(brokers.clients) == [second]
    await brokers.async_remove(env.thermostat.uuid)
    assert brokers.client(env.thermostat.uuid) is None


def test_device_broker_falls_back() -> None:
    item = {"uuid": "u", "domain": "", "reservedDomain": "mqtt-eu-3.meross.com"}
    assert device_broker(MerossDeviceInfo.from_api(item), ("x", 1)) == (
        "mqtt-eu-3.meross.com",
        443,
    )
    item = {"uuid": "u", "domain": "broker.example:8883"}
    assert device_broker(MerossDeviceInfo.from_api(item), ("x", 1)) == ("broker.example", 8883)
    assert device_broker(MerossDeviceInfo.from_api({"uuid": "u"}), ("x", 1)) == ("x", 1)
