"""The real meross-iot library against our emulated cloud, broker and devices.

meross-iot calls paho's blocking connect() inside its event loop, so it runs in a worker thread
with its own loop (``asyncio.to_thread(asyncio.run, ...)``) while the emulators keep running in
the test's loop.
"""

import asyncio
from dataclasses import dataclass, field
import ssl
from typing import Any

from meross_iot.http_api import MerossHttpClient
from meross_iot.manager import MerossManager
from meross_iot.model.enums import ThermostatMode
from meross_iot.model.http.exception import (
    BadLoginException,
    MissingMFA,
    TokenExpiredException,
    WrongMFA,
)
import pytest

from .conftest import EMAIL, PASSWORD, MerossEnv

pytestmark = pytest.mark.emulator


@dataclass
class _Seen:
    devices: set[tuple[str, str]] = field(default_factory=set)
    plug_on_after: bool | None = None
    power: tuple[float, float, float] | None = None
    consumption_days: int = 0
    thermostat_mode: Any = None
    thermostat_target: float | None = None
    eco: tuple[Any, float | None, float | None] | None = None
    strip_channels: int = 0
    pushes: list[tuple[str, str]] = field(default_factory=list)
    mac: str | None = None
    errors: list[str] = field(default_factory=list)


async def _drive_meross_iot(
    env: MerossEnv, test_loop: asyncio.AbstractEventLoop, seen: _Seen
) -> None:
    http = await MerossHttpClient.async_from_user_password(
        api_base_url=env.cloud.url, email=EMAIL, password=PASSWORD
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    manager = MerossManager(
        http_client=http,
        mqtt_override_server=("127.0.0.1", env.broker.tls_port),
        mqtt_ssl_context=context,
    )
    push_seen = asyncio.Event()

    async def on_push(push: Any, target_devices: Any, manager: Any) -> None:
        seen.pushes.append((push.originating_device_uuid, str(push.namespace.value)))
        push_seen.set()

    try:
        await manager.async_init()
        manager.register_push_notification_handler_coroutine(on_push)
        devices = await manager.async_device_discovery()
        seen.devices = {(d.uuid, d.type) for d in devices}

        plug = manager.find_devices(device_uuids=[env.plug.uuid])[0]
        await plug.async_update()
        seen.mac = plug.mac_address
        await plug.async_turn_on(channel=0)
        seen.plug_on_after = plug.is_on(channel=0)
        metrics = await plug.async_get_instant_metrics(channel=0)
        seen.power = (metrics.power, metrics.voltage, metrics.current)
        seen.consumption_days = len(await plug.async_get_daily_power_consumption(channel=0))

        strip = manager.find_devices(device_uuids=[env.strip.uuid])[0]
        await strip.async_update()
        seen.strip_channels = len(strip.channels)
        await strip.async_turn_off(channel=2)

        thermostat = manager.find_devices(device_uuids=[env.thermostat.uuid])[0]
        await thermostat.async_update()
        await thermostat.async_set_thermostat_config(
            channel=0, mode=ThermostatMode.HEAT, heat_temperature_celsius=21.5
        )
        state = thermostat.get_thermostat_state(channel=0)
        seen.thermostat_mode = state.mode
        seen.thermostat_target = state.target_temperature_celsius
        # A preset mode with its own target: economy.
        await thermostat.async_set_thermostat_config(
            channel=0, mode=ThermostatMode.ECONOMY, eco_temperature_celsius=16.5
        )
        state = thermostat.get_thermostat_state(channel=0)
        seen.eco = (state.mode, state.target_temperature_celsius, state.eco_temperature_celsius)

        # A push from a device (published by the emulator in the test's loop) reaches meross-iot.
        push_seen.clear()
        asyncio.run_coroutine_threadsafe(env.plug.push_toggle(False), test_loop).result(5)
        await asyncio.wait_for(push_seen.wait(), 10)
    finally:
        manager.close()
        for client in manager._mqtt_clients.values():
            client.loop_stop()
        await http.async_logout()


async def test_meross_iot_against_emulator(meross_env: MerossEnv) -> None:
    seen = _Seen()
    await asyncio.to_thread(
        asyncio.run, _drive_meross_iot(meross_env, asyncio.get_running_loop(), seen)
    )
    # Sub-devices carry their hub's uuid in meross-iot.
    assert seen.devices == {
        (meross_env.plug.uuid, "mss310"),
        (meross_env.strip.uuid, "mss425f"),
        (meross_env.thermostat.uuid, "mts200"),
        (meross_env.hub.uuid, "msh300"),
        (meross_env.hub.uuid, "mts100v3"),
    }
    assert seen.mac == meross_env.plug.mac
    assert seen.plug_on_after is True
    assert ("SET", "Appliance.Control.ToggleX", {"togglex": {"onoff": 1, "channel": 0}}) in [
        (m, n, p) for m, n, p in meross_env.plug.requests
    ]
    assert seen.power == (0.0, 230.1, 0.0)
    assert seen.consumption_days == 4
    assert seen.strip_channels == 5
    assert meross_env.strip.onoff[2] == 0
    assert seen.thermostat_target == 21.5
    assert meross_env.thermostat.mode["heatTemp"] == 215
    assert seen.thermostat_mode == ThermostatMode.HEAT
    assert seen.eco == (ThermostatMode.ECONOMY, 16.5, 16.5)
    assert meross_env.thermostat.mode["mode"] == 2
    assert meross_env.thermostat.mode["ecoTemp"] == 165
    assert (meross_env.plug.uuid, "Appliance.Control.ToggleX") in seen.pushes
    # The emulator saw meross-iot's sequence: sign-in, log/user, device list, ... logout.
    paths = [p for p, _ in meross_env.cloud.requests]
    assert paths[:3] == ["/v1/Auth/signIn", "/v1/log/user", "/v1/Device/devList"]
    assert "/v1/Hub/getSubDevices" in paths
    assert paths[-1] == "/v1/Profile/logout"


async def _login_error(url: str, email: str, password: str, mfa_code: str | None) -> str:
    try:
        await MerossHttpClient.async_from_user_password(
            api_base_url=url, email=email, password=password, mfa_code=mfa_code
        )
    except Exception as err:
        return type(err).__name__
    return "ok"


@pytest.mark.parametrize(
    ("email", "password", "mfa_code", "expected"),
    [
        ("nobody@example.com", PASSWORD, None, BadLoginException.__name__),
        (EMAIL, "wrong", None, BadLoginException.__name__),
        ("mfa@example.com", "pw", None, MissingMFA.__name__),
        ("mfa@example.com", "pw", "000000", WrongMFA.__name__),
        ("mfa@example.com", "pw", "424242", "ok"),
    ],
)
async def test_meross_iot_login_errors(
    meross_env: MerossEnv, email: str, password: str, mfa_code: str | None, expected: str
) -> None:
    meross_env.cloud.add_account("mfa@example.com", "pw", mfa_code="424242")
    result = await _login_error(meross_env.cloud.url, email, password, mfa_code)
    assert result == expected


async def test_meross_iot_token_expiry(meross_env: MerossEnv) -> None:
    http = await MerossHttpClient.async_from_user_password(
        api_base_url=meross_env.cloud.url, email=EMAIL, password=PASSWORD
    )
    assert len(await http.async_list_devices()) == 4
    meross_env.cloud.expire_tokens()
    with pytest.raises(TokenExpiredException):
        await http.async_list_devices()
