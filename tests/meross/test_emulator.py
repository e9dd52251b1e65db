"""Behaviour of the emulators themselves that the client tests do not reach."""

import asyncio
import contextlib
import json
from typing import Any

import aiomqtt
import pytest

from custom_components.switchboard.vendors.meross.protocol import (
    Message,
    build_message,
    parse_message,
)
from emulators.meross import MerossPlug, app_mqtt_password
from emulators.mosquitto import Mosquitto

from .conftest import VALVE_ID, MerossEnv

pytestmark = pytest.mark.emulator


async def _ask_system_all(
    env: MerossEnv, broker: Mosquitto, uuid: str, *, key: str, wait: float = 5
) -> tuple[dict[str, Any], Message | None]:
    """GET System.All from ``uuid`` as an app on ``broker``: (request, reply or None)."""
    account = env.account
    reply_topic = f"/app/{account.user_id}-test/subscribe"
    reply = None
    async with aiomqtt.Client(
        "127.0.0.1",
        broker.tls_port,
        username=account.user_id,
        password=app_mqtt_password(account.user_id, account.key),
        tls_context=broker.client_ssl_context(),
    ) as client:
        await client.subscribe(reply_topic, qos=1)
        request = build_message(
            method="GET",
            namespace="Appliance.System.All",
            payload={},
            key=key,
            reply_topic=reply_topic,
            uuid=uuid,
        )
        await client.publish(f"/appliance/{uuid}/subscribe", json.dumps(request))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                async for message in client.messages:
                    assert isinstance(message.payload, bytes)
                    reply = parse_message(message.payload, account.key)
                    break
    return request, reply


async def test_device_answers_bad_signature_with_5001(meross_env: MerossEnv) -> None:
    request, reply = await _ask_system_all(
        meross_env, meross_env.broker, meross_env.plug.uuid, key="wrong key"
    )
    assert reply is not None
    assert reply.method == "ERROR"
    assert reply.payload == {"error": {"code": 5001, "detail": "sign error"}}
    assert reply.message_id == request["header"]["messageId"]
    assert reply.uuid == meross_env.plug.uuid
    assert meross_env.plug.bad_sign_requests == 1
    assert meross_env.plug.requests == []


async def test_hub_and_thermostat_rules(meross_env: MerossEnv) -> None:
    hub = meross_env.hub
    assert (
        hub.dispatch("SET", "Appliance.Hub.Mts100.Mode", {"mode": [{"id": VALVE_ID, "state": 1}]})[
            0
        ]
        == "SETACK"
    )
    valve = hub.valves[VALVE_ID]
    assert valve.current_set == valve.comfort
    method, payload = hub.dispatch(
        "SET",
        "Appliance.Hub.Mts100.Temperature",
        {"temperature": [{"id": VALVE_ID, "comfort": 999}]},
    )
    assert method == "ERROR"
    assert payload["error"]["code"] == 5000
    method, payload = hub.dispatch("GET", "Appliance.Hub.Battery", {"battery": [{"id": "nope"}]})
    assert method == "ERROR"
    assert hub.dispatch("GET", "Appliance.Hub.Battery", {"battery": []})[1] == {
        "battery": [{"id": VALVE_ID, "value": 87}]
    }
    thermostat = meross_env.thermostat
    method, payload = thermostat.dispatch(
        "SET", "Appliance.Control.Thermostat.Mode", {"mode": [{"channel": 0, "heatTemp": 10}]}
    )
    assert method == "ERROR"
    method, payload = thermostat.dispatch(
        "SET", "Appliance.Control.Thermostat.Mode", {"mode": [{"channel": 0, "onoff": 0}]}
    )
    assert payload["mode"][0]["onoff"] == 0
    assert payload["mode"][0]["state"] == 0
    # Control.Multiple is answered item by item.
    method, payload = meross_env.plug.dispatch(
        "SET",
        "Appliance.Control.Multiple",
        {
            "multiple": [
                {"header": {"method": "GET", "namespace": "Appliance.System.Online"}, "payload": {}}
            ]
        },
    )
    assert payload["multiple"][0]["payload"] == {"online": {"status": 1}}


async def test_mosquitto_checks_passwords(socket_enabled: None) -> None:
    from emulators.mosquitto import mosquitto_available

    if not mosquitto_available():
        pytest.skip("mosquitto is not installed")
    async with Mosquitto(tls=True, users={"alice": "secret"}) as broker:
        async with aiomqtt.Client("127.0.0.1", broker.port, username="alice", password="secret"):
            pass
        with pytest.raises(aiomqtt.MqttError):
            async with aiomqtt.Client("127.0.0.1", broker.port, username="alice", password="x"):
                pass
        broker.add_user("bob", "pw")
        await broker.wait_user("bob", "pw")  # mosquitto reloads its password file (SIGHUP)
        async with aiomqtt.Client(
            "127.0.0.1",
            broker.tls_port,
            username="bob",
            password="pw",
            tls_context=broker.client_ssl_context(),
        ):
            pass
        with pytest.raises(ValueError):
            broker.add_user("aa:bb", "pw")
        await broker.restart()
        assert broker.running
    assert not broker.running


async def test_devices_on_two_brokers_and_a_move(meross_split_env: MerossEnv) -> None:
    env = meross_split_env
    first, second = env.broker, env.second_broker
    assert env.cloud.broker_of(env.plug) is first
    assert env.cloud.broker_of(env.strip) is second
    assert env.strip.dev_list_item()["domain"] == f"127.0.0.1:{second.tls_port}"
    assert env.plug.dev_list_item()["reservedDomain"] == f"127.0.0.1:{first.tls_port}"
    # The account's app user exists on both brokers; the strip answers on its own broker only.
    key = env.account.key
    assert (await _ask_system_all(env, second, env.strip.uuid, key=key))[1] is not None
    assert (await _ask_system_all(env, first, env.strip.uuid, key=key, wait=1))[1] is None
    await env.cloud.move_device(env.strip, first)
    assert env.cloud.broker_of(env.strip) is first
    assert env.strip.dev_list_item()["domain"] == f"127.0.0.1:{first.tls_port}"
    assert env.strip.connect_count == 2
    with pytest.raises(ValueError, match="not one of"):
        await env.cloud.add_device(env.account, MerossPlug(name="x"), broker=Mosquitto())
