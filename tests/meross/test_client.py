"""Our Meross client (cloud API, MQTT, limiter) against the emulated cloud and a real broker."""

import asyncio
import contextlib
import logging
import time
from typing import Any

import aiohttp
import pytest

from custom_components.switchboard.vendors.meross.cloud import (
    MerossCloud,
    MerossCredentials,
    split_host_port,
)
from custom_components.switchboard.vendors.meross.errors import (
    MerossApiError,
    MerossAuthError,
    MerossConnectionError,
    MerossDeviceError,
    MerossMfaInvalidError,
    MerossMfaRequiredError,
    MerossRateLimitError,
    MerossTimeoutError,
    MerossTokenExpiredError,
)
from custom_components.switchboard.vendors.meross.limiter import RequestLimiter, RequestPriority
from custom_components.switchboard.vendors.meross.mqtt import MerossMqttClient, MessageTrace

from .conftest import EMAIL, PASSWORD, VALVE_ID, MerossEnv

# -- cloud HTTP API --------------------------------------------------------------------------


async def test_login_lists_devices_and_logs_out(
    meross_env: MerossEnv, http_session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    cloud = MerossCloud(http_session, meross_env.cloud.url)
    creds = await cloud.async_login(EMAIL, PASSWORD)
    assert creds.user_id == meross_env.account.user_id
    assert creds.key == meross_env.account.key
    assert creds.email == EMAIL
    assert creds.domain == meross_env.cloud.url
    assert (creds.mqtt_host, creds.mqtt_port) == ("127.0.0.1", meross_env.broker.tls_port)
    assert creds.token in meross_env.cloud.issued_tokens
    assert MerossCredentials.from_dict(creds.as_dict()) == creds
    assert creds.key not in repr(creds)
    assert creds.token not in repr(creds)
    # The password goes out as md5 hex, never in clear; the cloud saw sign-in then log/user.
    paths = [path for path, _ in meross_env.cloud.requests]
    assert paths == ["/v1/Auth/signIn", "/v1/log/user"]
    assert PASSWORD not in str(meross_env.cloud.requests)

    devices = {d.uuid: d for d in await cloud.async_list_devices()}
    assert set(devices) == {d.uuid for d in meross_env.account.devices}
    plug = devices[meross_env.plug.uuid]
    assert (plug.device_type, plug.firmware_version, plug.hardware_version) == (
        "mss310",
        "2.1.17",
        "2.0.0",
    )
    assert plug.online
    assert plug.name == "Desk plug"
    strip = devices[meross_env.strip.uuid]
    assert strip.channel_names == (None, "Outlet 1", "Outlet 2", "Outlet 3", "USB")

    subdevices = await cloud.async_list_subdevices(meross_env.hub.uuid)
    assert [(s.subdevice_id, s.subdevice_type, s.name) for s in subdevices] == [
        (VALVE_ID, "mts100v3", "Radiator")
    ]
    assert await cloud.async_list_subdevices(meross_env.plug.uuid) == []

    await cloud.async_logout()
    assert cloud.credentials is None
    with pytest.raises(MerossTokenExpiredError):
        await cloud.async_list_devices()
    # The token is revoked in the cloud: reusing it gives apiStatus 1022.
    with pytest.raises(MerossTokenExpiredError) as err:
        await MerossCloud(http_session, meross_env.cloud.url, creds).async_list_devices()
    assert err.value.code == 1022
    await cloud.async_logout()  # already logged out: nothing to do
    # Never log secrets.
    assert PASSWORD not in caplog.text
    assert creds.key not in caplog.text
    assert creds.token not in caplog.text


@pytest.mark.parametrize(
    ("email", "password", "error", "code"),
    [
        ("nobody@example.com", PASSWORD, MerossAuthError, 1002),
        (EMAIL, "wrong", MerossAuthError, 1004),
    ],
)
async def test_login_bad_credentials(
    meross_env: MerossEnv,
    http_session: aiohttp.ClientSession,
    email: str,
    password: str,
    error: type[MerossApiError],
    code: int,
) -> None:
    with pytest.raises(error) as err:
        await MerossCloud(http_session, meross_env.cloud.url).async_login(email, password)
    assert err.value.code == code
    assert not isinstance(err.value, MerossTokenExpiredError | MerossMfaRequiredError)


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (1028, MerossRateLimitError),
        (1042, MerossRateLimitError),
        (1301, MerossApiError),
        (1033, MerossMfaRequiredError),
    ],
)
async def test_login_injected_api_errors(
    meross_env: MerossEnv,
    http_session: aiohttp.ClientSession,
    code: int,
    error: type[MerossApiError],
) -> None:
    meross_env.cloud.fail_next(code, path="/v1/Auth/signIn")
    cloud = MerossCloud(http_session, meross_env.cloud.url)
    with pytest.raises(error) as err:
        await cloud.async_login(EMAIL, PASSWORD)
    assert type(err.value) is error
    assert err.value.code == code
    # The fault was one-shot: the next attempt signs in.
    assert (await cloud.async_login(EMAIL, PASSWORD)).user_id == meross_env.account.user_id


async def test_rate_limit_on_device_list(
    meross_env: MerossEnv, http_session: aiohttp.ClientSession
) -> None:
    cloud = MerossCloud(http_session, meross_env.cloud.url)
    await cloud.async_login(EMAIL, PASSWORD)
    meross_env.cloud.rate_limit(2)
    for _ in range(2):
        with pytest.raises(MerossRateLimitError) as err:
            await cloud.async_list_devices()
        assert err.value.code == 1028
        assert "frequently" in err.value.info
    assert len(await cloud.async_list_devices()) == 4


async def test_mfa(meross_env: MerossEnv, http_session: aiohttp.ClientSession) -> None:
    meross_env.cloud.add_account("mfa@example.com", "pw", mfa_code="123456")
    cloud = MerossCloud(http_session, meross_env.cloud.url)
    with pytest.raises(MerossMfaRequiredError) as required:
        await cloud.async_login("mfa@example.com", "pw")
    assert required.value.code == 1033
    with pytest.raises(MerossMfaInvalidError) as invalid:
        await cloud.async_login("mfa@example.com", "pw", mfa_code="000000")
    assert invalid.value.code == 1032
    # A wrong password is reported before the MFA step.
    with pytest.raises(MerossAuthError) as wrong:
        await cloud.async_login("mfa@example.com", "nope", mfa_code="123456")
    assert wrong.value.code == 1004
    creds = await cloud.async_login("mfa@example.com", "pw", mfa_code="123456")
    assert creds.email == "mfa@example.com"
    assert meross_env.cloud.requests[-2][1]["mfaCode"] == "123456"


@pytest.mark.parametrize(("action", "code"), [("expire", 1200), ("revoke", 1022)])
async def test_token_expired_or_revoked(
    meross_env: MerossEnv, http_session: aiohttp.ClientSession, action: str, code: int
) -> None:
    cloud = MerossCloud(http_session, meross_env.cloud.url)
    await cloud.async_login(EMAIL, PASSWORD)
    if action == "expire":
        meross_env.cloud.expire_tokens(meross_env.account)
    else:
        meross_env.cloud.revoke_tokens()
    with pytest.raises(MerossTokenExpiredError) as err:
        await cloud.async_list_devices()
    assert err.value.code == code
    # Logging out with a dead token is not an error.
    await cloud.async_logout()
    # Signing in again gives a working token.
    await cloud.async_login(EMAIL, PASSWORD)
    assert len(await cloud.async_list_devices()) == 4


async def test_token_ttl_and_unknown_token(
    meross_env: MerossEnv, http_session: aiohttp.ClientSession
) -> None:
    meross_env.cloud.token_ttl = 0.05
    cloud = MerossCloud(http_session, meross_env.cloud.url)
    creds = await cloud.async_login(EMAIL, PASSWORD)
    await asyncio.sleep(0.1)
    with pytest.raises(MerossTokenExpiredError) as expired:
        await cloud.async_list_devices()
    assert expired.value.code == 1200
    forged = MerossCredentials.from_dict({**creds.as_dict(), "token": "f" * 64})
    with pytest.raises(MerossTokenExpiredError) as invalid:
        await MerossCloud(http_session, meross_env.cloud.url, forged).async_list_devices()
    assert invalid.value.code == 1019


async def test_wrong_region_redirect(
    meross_env: MerossEnv, http_session: aiohttp.ClientSession
) -> None:
    meross_env.cloud.fail_next(
        1030, path="/v1/Auth/signIn", data={"domain": meross_env.cloud.url, "mqttDomain": "x"}
    )
    cloud = MerossCloud(http_session, meross_env.cloud.url + "/")
    creds = await cloud.async_login(EMAIL, PASSWORD)
    assert creds.user_id == meross_env.account.user_id
    sign_ins = [p for p, _ in meross_env.cloud.requests if p == "/v1/Auth/signIn"]
    assert len(sign_ins) == 2
    # Without a domain to go to, the error surfaces.
    meross_env.cloud.fail_next(1030, path="/v1/Auth/signIn")
    with pytest.raises(MerossApiError) as err:
        await cloud.async_login(EMAIL, PASSWORD)
    assert err.value.code == 1030


async def test_log_user_refusal_does_not_fail_login(
    meross_env: MerossEnv, http_session: aiohttp.ClientSession
) -> None:
    meross_env.cloud.fail_next(1500, path="/v1/log/user")
    creds = await MerossCloud(http_session, meross_env.cloud.url).async_login(EMAIL, PASSWORD)
    assert creds.user_id == meross_env.account.user_id


async def test_cloud_connection_errors(
    meross_env: MerossEnv,
    http_session: aiohttp.ClientSession,
    socket_enabled: None,
    unused_tcp_port: int,
) -> None:
    closed = MerossCloud(http_session, f"http://127.0.0.1:{unused_tcp_port}")
    with pytest.raises(MerossConnectionError):
        await closed.async_login(EMAIL, PASSWORD)
    # An unknown path answers HTTP 404.
    cloud = MerossCloud(http_session, meross_env.cloud.url)
    await cloud.async_login(EMAIL, PASSWORD)
    with pytest.raises(MerossConnectionError, match="HTTP 404"):
        await cloud._call("/v1/Nope", {})


async def test_cloud_checks_signature(
    meross_env: MerossEnv, http_session: aiohttp.ClientSession
) -> None:
    body = {"params": "e30=", "sign": "0" * 32, "timestamp": 1, "nonce": "ABCDEFGHIJKLMNOP"}
    async with http_session.post(f"{meross_env.cloud.url}/v1/Auth/signIn", json=body) as resp:
        reply = await resp.json()
    assert reply["apiStatus"] == 1023
    assert reply["info"] == "Sign check failed"


def test_split_host_port() -> None:
    assert split_host_port("mqtt-eu-3.meross.com") == ("mqtt-eu-3.meross.com", 443)
    assert split_host_port("127.0.0.1:8883") == ("127.0.0.1", 8883)
    assert split_host_port("host:abc") == ("host:abc", 443)


# -- MQTT ------------------------------------------------------------------------------------


async def test_get_set_round_trip(meross_env: MerossEnv, mqtt_client: MerossMqttClient) -> None:
    plug = meross_env.plug
    state = await mqtt_client.async_request(plug.uuid, "GET", "Appliance.System.All")
    assert state["all"]["system"]["hardware"]["macAddress"] == plug.mac
    assert state["all"]["digest"]["togglex"][0]["onoff"] == 0

    reply = await mqtt_client.async_request(
        plug.uuid, "SET", "Appliance.Control.ToggleX", {"togglex": {"channel": 0, "onoff": 1}}
    )
    assert reply == {}
    assert plug.onoff[0] == 1
    assert plug.requests[-1] == (
        "SET",
        "Appliance.Control.ToggleX",
        {"togglex": {"channel": 0, "onoff": 1}},
    )

    await plug.set_power(11.965, 230.1, 0.052, push=False)
    electricity = await mqtt_client.async_get(
        plug.uuid, "Appliance.Control.Electricity", {"channel": 0}
    )
    assert electricity["electricity"]["power"] == 11965
    assert electricity["electricity"]["voltage"] == 2301
    assert electricity["electricity"]["current"] == 52

    consumption = await mqtt_client.async_get(plug.uuid, "Appliance.Control.ConsumptionX")
    assert len(consumption["consumptionx"]) == 4

    # Strip: channel 0 is the master of every outlet.
    strip = meross_env.strip
    await mqtt_client.async_request(
        strip.uuid, "SET", "Appliance.Control.ToggleX", {"togglex": [{"channel": 0, "onoff": 1}]}
    )
    assert all(strip.onoff.values())
    await mqtt_client.async_request(
        strip.uuid, "SET", "Appliance.Control.ToggleX", {"togglex": {"channel": 2, "onoff": 0}}
    )
    assert strip.onoff[2] == 0
    assert strip.onoff[0] == 1

    # Thermostat: the SETACK echoes the new mode list.
    ack = await mqtt_client.async_request(
        meross_env.thermostat.uuid,
        "SET",
        "Appliance.Control.Thermostat.Mode",
        {"mode": [{"channel": 0, "mode": 0, "heatTemp": 215}]},
    )
    assert ack["mode"][0]["mode"] == 0
    assert ack["mode"][0]["targetTemp"] == 215

    # Hub: valve state and a temperature change.
    valves = await mqtt_client.async_get(
        meross_env.hub.uuid, "Appliance.Hub.Mts100.All", {"all": []}
    )
    assert valves["all"][0]["id"] == VALVE_ID
    reply = await mqtt_client.async_request(
        meross_env.hub.uuid,
        "SET",
        "Appliance.Hub.Mts100.Temperature",
        {"temperature": [{"id": VALVE_ID, "custom": 225}]},
    )
    assert reply["temperature"][0]["currentSet"] == 225


async def test_device_error_reply(meross_env: MerossEnv, mqtt_client: MerossMqttClient) -> None:
    with pytest.raises(MerossDeviceError) as err:
        await mqtt_client.async_request(
            meross_env.plug.uuid,
            "SET",
            "Appliance.Control.ToggleX",
            {"togglex": {"channel": 7, "onoff": 1}},
        )
    assert err.value.code == 5000
    assert err.value.namespace == "Appliance.Control.ToggleX"
    with pytest.raises(MerossDeviceError) as unsupported:
        await mqtt_client.async_get(meross_env.plug.uuid, "Appliance.Control.Thermostat.Mode")
    assert unsupported.value.code == -1


async def test_push_callback_and_trace(
    meross_env: MerossEnv, mqtt_client: MerossMqttClient
) -> None:
    pushes: list[tuple[str, str, dict[str, Any]]] = []
    traces: list[MessageTrace] = []
    received = asyncio.Event()

    def on_push(uuid: str, namespace: str, payload: dict[str, Any]) -> None:
        pushes.append((uuid, namespace, payload))
        received.set()

    mqtt_client.on_push = on_push
    mqtt_client.on_trace = traces.append
    await meross_env.plug.push_toggle(True)
    await asyncio.wait_for(received.wait(), 5)
    uuid, namespace, payload = pushes[0]
    assert (uuid, namespace) == (meross_env.plug.uuid, "Appliance.Control.ToggleX")
    assert payload["togglex"][0]["onoff"] == 1

    received.clear()
    await meross_env.thermostat.set_current_temperature(19.5)
    await asyncio.wait_for(received.wait(), 5)
    assert pushes[-1][1] == "Appliance.Control.Thermostat.Mode"
    assert pushes[-1][2]["mode"][0]["currentTemp"] == 195

    received.clear()
    await meross_env.hub.push_valve(VALVE_ID, "Appliance.Hub.Mts100.Temperature", room=201)
    await asyncio.wait_for(received.wait(), 5)
    assert pushes[-1][0] == meross_env.hub.uuid
    assert pushes[-1][2]["temperature"][0]["room"] == 201

    # A SET makes the device push its new state too.
    received.clear()
    await mqtt_client.async_request(
        meross_env.plug.uuid,
        "SET",
        "Appliance.Control.ToggleX",
        {"togglex": {"channel": 0, "onoff": 0}},
    )
    await asyncio.wait_for(received.wait(), 5)
    assert pushes[-1][2]["togglex"][0]["onoff"] == 0
    directions = [(t.direction, t.method, t.namespace) for t in traces]
    assert ("tx", "SET", "Appliance.Control.ToggleX") in directions
    assert ("rx", "SETACK", "Appliance.Control.ToggleX") in directions
    assert ("rx", "PUSH", "Appliance.Control.Thermostat.Mode") in directions
    assert all(t.uuid for t in traces)


async def test_push_handler_exception_is_contained(
    meross_env: MerossEnv, mqtt_client: MerossMqttClient, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[str] = []

    def bad_handler(uuid: str, namespace: str, payload: dict[str, Any]) -> None:
        calls.append(namespace)
        raise RuntimeError("boom")

    mqtt_client.on_push = bad_handler
    await meross_env.plug.push_toggle(True)
    await meross_env.plug.push_toggle(False)
    async with asyncio.timeout(5):
        while len(calls) < 2:
            await asyncio.sleep(0.01)
    assert "Meross push handler failed" in caplog.text
    # Still connected and answering.
    assert (await mqtt_client.async_get(meross_env.plug.uuid, "Appliance.System.Online"))["online"][
        "status"
    ] == 1


async def test_bad_signature_dropped(meross_env: MerossEnv, mqtt_client: MerossMqttClient) -> None:
    pushes: list[str] = []
    mqtt_client.on_push = lambda uuid, ns, payload: pushes.append(ns)
    meross_env.plug.sign_replies_with_wrong_key = True
    with pytest.raises(MerossTimeoutError):
        await mqtt_client.async_get(meross_env.plug.uuid, "Appliance.System.All", timeout=0.5)
    await meross_env.plug.push_toggle(True)
    # A correctly signed push from another device still arrives, after the forged one.
    await meross_env.strip.push_toggle(True, channel=1)
    async with asyncio.timeout(5):
        while not pushes:
            await asyncio.sleep(0.01)
    assert pushes == ["Appliance.Control.ToggleX"]
    assert mqtt_client.dropped_messages == 2


async def test_offline_device(meross_env: MerossEnv, mqtt_client: MerossMqttClient) -> None:
    pushes: list[tuple[str, dict[str, Any]]] = []
    mqtt_client.on_push = lambda uuid, ns, payload: pushes.append((ns, payload))
    await meross_env.plug.set_online(False)
    with pytest.raises(MerossTimeoutError):
        await mqtt_client.async_get(meross_env.plug.uuid, "Appliance.System.All", timeout=0.3)
    assert ("Appliance.System.Online", {"online": {"status": 2}}) in pushes
    item = meross_env.plug.dev_list_item()
    assert item["onlineStatus"] == 2
    await meross_env.plug.set_online(True)
    assert await mqtt_client.async_get(meross_env.plug.uuid, "Appliance.System.All")


async def test_broker_restart_reconnects(
    meross_env: MerossEnv, credentials: MerossCredentials
) -> None:
    states: list[bool] = []
    pushes: list[str] = []
    client = MerossMqttClient(
        host=credentials.mqtt_host,
        port=credentials.mqtt_port,
        user_id=credentials.user_id,
        key=credentials.key,
        ssl_context=meross_env.broker.client_ssl_context(),
        on_connection_change=states.append,
        on_push=lambda uuid, ns, payload: pushes.append(ns),
        reconnect_min_delay=0.05,
        reconnect_max_delay=0.2,
    )
    await client.async_start()
    try:
        assert await client.async_wait_connected(10)
        await meross_env.broker.stop()
        async with asyncio.timeout(5):
            while client.connected:
                await asyncio.sleep(0.01)
        with pytest.raises(MerossConnectionError):
            await client.async_get(meross_env.plug.uuid, "Appliance.System.All")
        await asyncio.sleep(0.3)  # a few failed reconnect attempts
        await meross_env.broker.start()
        assert await client.async_wait_connected(10)
        await meross_env.cloud.wait_devices_connected()
        assert states[:3] == [True, False, True]
        assert client.connect_count == 2
        reply = await client.async_get(meross_env.plug.uuid, "Appliance.System.All")
        assert reply["all"]["system"]["hardware"]["uuid"] == meross_env.plug.uuid
        await meross_env.plug.push_toggle(True)
        async with asyncio.timeout(5):
            while not pushes:
                await asyncio.sleep(0.01)
        # restart() keeps the ports: everyone comes back on their own.
        await meross_env.broker.restart()
        await meross_env.cloud.wait_devices_connected()
        assert await client.async_wait_connected(10)
        assert client.connect_count == 3
    finally:
        await client.async_stop()
    assert not client.connected
    assert states[-1] is False


async def test_pending_request_fails_when_connection_drops(
    meross_env: MerossEnv, mqtt_client: MerossMqttClient
) -> None:
    meross_env.plug.reply_delay = 2.0
    request = asyncio.create_task(
        mqtt_client.async_get(meross_env.plug.uuid, "Appliance.System.All")
    )
    await asyncio.sleep(0.2)
    await meross_env.broker.stop()
    with pytest.raises(MerossConnectionError):
        await request
    meross_env.plug.reply_delay = 0
    await meross_env.broker.start()
    assert await mqtt_client.async_wait_connected(10)


async def test_wrong_app_credentials(meross_env: MerossEnv, credentials: MerossCredentials) -> None:
    client = MerossMqttClient(
        host=credentials.mqtt_host,
        port=credentials.mqtt_port,
        user_id=credentials.user_id,
        key="not-the-key",
        ssl_context=meross_env.broker.client_ssl_context(),
        reconnect_min_delay=0.05,
    )
    await client.async_start()
    try:
        assert not await client.async_wait_connected(0.5)
        assert client.last_error is not None
        assert "authori" in client.last_error.lower()
    finally:
        await client.async_stop()


async def test_default_ssl_context_rejects_self_signed(
    meross_env: MerossEnv, credentials: MerossCredentials
) -> None:
    client = MerossMqttClient(
        host=credentials.mqtt_host,
        port=credentials.mqtt_port,
        user_id=credentials.user_id,
        key=credentials.key,
        reconnect_min_delay=0.05,
    )
    await client.async_start()
    try:
        assert not await client.async_wait_connected(0.5)
        assert client.last_error is not None
    finally:
        await client.async_stop()


async def test_requests_through_limiter(
    meross_env: MerossEnv, credentials: MerossCredentials
) -> None:
    limiter = RequestLimiter(max_per_minute=600, burst=2)
    client = MerossMqttClient(
        host=credentials.mqtt_host,
        port=credentials.mqtt_port,
        user_id=credentials.user_id,
        key=credentials.key,
        ssl_context=meross_env.broker.client_ssl_context(),
        limiter=limiter,
    )
    await client.async_start()
    try:
        assert await client.async_wait_connected(10)
        start = time.monotonic()
        await asyncio.gather(
            *(client.async_get(meross_env.plug.uuid, "Appliance.System.Online") for _ in range(5))
        )
        elapsed = time.monotonic() - start
        # 2 at once, then one every 0.1 s.
        assert elapsed >= 0.28
        assert client.requests_per_minute == 5
        assert len(meross_env.plug.requests) == 5
    finally:
        await client.async_stop()
        limiter.close()


# -- limiter ---------------------------------------------------------------------------------


async def test_limiter_commands_jump_ahead_of_polls() -> None:
    limiter = RequestLimiter(max_per_minute=1200, burst=1)  # one every 50 ms
    order: list[str] = []

    async def request(name: str, priority: RequestPriority) -> None:
        await limiter.acquire(priority)
        order.append(name)

    await request("first", RequestPriority.POLL)
    tasks = [asyncio.create_task(request(f"poll{i}", RequestPriority.POLL)) for i in range(3)]
    await asyncio.sleep(0)
    tasks.append(asyncio.create_task(request("command", RequestPriority.COMMAND)))
    await asyncio.sleep(0)
    assert limiter.queued == 4
    await asyncio.gather(*tasks)
    assert order == ["first", "command", "poll0", "poll1", "poll2"]
    assert limiter.requests_per_minute == 5
    assert limiter.granted == 5
    assert limiter.max_per_minute == 1200
    limiter.close()


async def test_limiter_keeps_rate() -> None:
    # The burst: three requests go at once, the fourth has to wait for a token (one every
    # 10 s here, so that no stall of a loaded machine brings it in the meantime).
    slow = RequestLimiter(max_per_minute=6, burst=3)
    for _ in range(3):
        await slow.acquire()
    fourth = asyncio.create_task(slow.acquire())
    await asyncio.sleep(0)
    assert slow.queued == 1
    fourth.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await fourth
    slow.close()
    # Then no faster than 10/s: the n-th request after a burst of 3 goes n/10 s after the
    # first at the earliest. Cumulative lower bounds only: a loaded machine resumes the test
    # late, and the bucket filled meanwhile lets the next request go at once (one gap alone
    # may be short); timers run late, never early.
    limiter = RequestLimiter(max_per_minute=600, burst=3)
    loop = asyncio.get_running_loop()
    start = loop.time()
    stamps: list[float] = []
    for _ in range(8):
        await limiter.acquire()
        stamps.append(loop.time())
    assert all(stamp - start >= 0.1 * (n - 3) - 1e-6 for n, stamp in enumerate(stamps, 1) if n > 3)
    assert limiter.requests_per_minute == 8
    limiter.close()


async def test_limiter_cancel_and_close() -> None:
    limiter = RequestLimiter(max_per_minute=60, burst=1)
    await limiter.acquire()
    waiter = asyncio.create_task(limiter.acquire(RequestPriority.POLL))
    await asyncio.sleep(0.01)
    assert limiter.queued == 1
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert limiter.queued == 0
    # A second waiter is cancelled by close().
    other = asyncio.create_task(limiter.acquire(RequestPriority.COMMAND))
    await asyncio.sleep(0.01)
    limiter.close()
    with pytest.raises(asyncio.CancelledError):
        await other
    assert RequestLimiter().requests_per_minute == 0
    with pytest.raises(ValueError):
        RequestLimiter(max_per_minute=0)
