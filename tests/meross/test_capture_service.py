"""The traffic capture from Home Assistant: service, button, device diagnostics (real broker)."""

import asyncio
import json
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
import probatio
import pytest

from custom_components.switchboard.const import DOMAIN
from custom_components.switchboard.diagnostics import async_get_device_diagnostics
from custom_components.switchboard.vendors.meross.capture import SIGNATURE
from custom_components.switchboard.vendors.meross.protocol import app_mqtt_password

from .conftest import EMAIL, PASSWORD, MerossEnv
from .test_capture import MerossApp
from .test_integration import _entity, _setup, _unload, _wait_for
from .test_services import _device_id


def _secrets(env: MerossEnv, token: str) -> tuple[str, ...]:
    account = env.account
    return (
        account.key,
        account.user_id,
        token,
        EMAIL,
        PASSWORD,
        app_mqtt_password(account.user_id, account.key),
    )


async def test_capture_service_records_the_app(hass: HomeAssistant, meross_env: MerossEnv) -> None:
    env = meross_env
    entry = await _setup(hass, env)
    account = entry.runtime_data.runtime.account
    device_id = _device_id(hass, entry, env.plug.uuid)
    app = MerossApp(env)
    await asyncio.to_thread(app.start)
    capture = asyncio.ensure_future(
        hass.services.async_call(
            DOMAIN,
            "meross_capture",
            {"device_id": device_id, "duration": 10},
            blocking=True,
            return_response=True,
        )
    )
    try:
        await _wait_for(lambda: account.capturing(env.plug.uuid))
        # A second capture of the same device is refused while the first runs.
        with pytest.raises(ServiceValidationError) as err:
            await hass.services.async_call(
                DOMAIN,
                "meross_capture",
                {"device_id": [device_id], "duration": 10},
                blocking=True,
                return_response=True,
            )
        assert err.value.translation_key == "meross_capture_running"
        # The Meross app (an independent client) asks the plug while the capture runs.
        sent: list[str] = []
        while not capture.done():
            sent.append(app.request(env.plug.uuid, "GET", "Appliance.System.All", {}))
            await asyncio.sleep(0.5)
        response = await capture
    finally:
        await asyncio.to_thread(app.stop)
    assert response is not None
    assert response["device"] == "Desk plug"
    app_requests = [
        m
        for m in response["messages"]
        if m["direction"] == "to_device" and m["message"]["header"]["messageId"] in sent
    ]
    assert app_requests
    assert app_requests[0]["message"]["header"]["from"].startswith("/app/<user id>-")
    assert app_requests[0]["message"]["header"]["sign"] == SIGNATURE
    assert any(
        m["direction"] == "from_device" and m["message"]["header"]["method"] == "GETACK"
        for m in response["messages"]
    )
    text = json.dumps(response)
    for secret in _secrets(env, entry.data["credentials"]["token"]):
        assert secret not in text
    # The service's capture is also kept for the device's diagnostics.
    device = dr.async_get(hass).async_get(device_id)
    assert device is not None
    diagnostics = await async_get_device_diagnostics(hass, entry, device)
    assert diagnostics["device"]["traffic_capture"]["count"] == response["count"]
    await _unload(hass, entry)


@pytest.mark.parametrize("duration", [9, 601, "x"])
async def test_capture_duration_is_validated(
    hass: HomeAssistant, meross_env: MerossEnv, duration: object
) -> None:
    entry = await _setup(hass, meross_env)
    with pytest.raises(probatio.Invalid):
        await hass.services.async_call(
            DOMAIN,
            "meross_capture",
            {"device_id": _device_id(hass, entry, meross_env.plug.uuid), "duration": duration},
            blocking=True,
            return_response=True,
        )
    await _unload(hass, entry)


async def test_capture_button_fills_the_device_diagnostics(
    hass: HomeAssistant, meross_env: MerossEnv
) -> None:
    env = meross_env
    entry = await _setup(hass, env)
    account = entry.runtime_data.runtime.account
    button = _entity(hass, env.thermostat.uuid, "capture_traffic", "button")
    device = dr.async_get(hass).async_get(_device_id(hass, entry, env.thermostat.uuid))
    assert device is not None
    diagnostics = await async_get_device_diagnostics(hass, entry, device)
    assert diagnostics["device"] == {"traffic_capture": None}
    with patch("custom_components.switchboard.vendors.meross.source.BUTTON_CAPTURE_SECONDS", 2):
        await hass.services.async_call("button", "press", {"entity_id": button}, blocking=True)
    await _wait_for(lambda: account.capturing(env.thermostat.uuid))
    # Pressed again while it runs: a translated error, and the first capture goes on.
    with pytest.raises(Exception) as err:
        await hass.services.async_call("button", "press", {"entity_id": button}, blocking=True)
    assert getattr(err.value, "translation_key", None) == "meross_capture_running"
    async with asyncio.timeout(10):
        while env.thermostat.uuid not in account.captures:
            await env.thermostat.set_current_temperature(19.5)  # pushes during the capture
            await asyncio.sleep(0.2)
    diagnostics = await async_get_device_diagnostics(hass, entry, device)
    capture = diagnostics["device"]["traffic_capture"]
    assert capture["duration"] == 2
    assert any(
        m["message"]["header"]["namespace"] == "Appliance.Control.Thermostat.Mode"
        for m in capture["messages"]
    )
    text = json.dumps(diagnostics["device"])
    for secret in _secrets(env, entry.data["credentials"]["token"]):
        assert secret not in text
    # Valves have no button (their hub's has it).
    valve = f"{env.hub.uuid}-03002b0e"
    assert not any(
        e.unique_id == f"{valve}_capture_traffic"
        for e in hass.data["entity_registry"].entities.values()
    )
    await _unload(hass, entry)


async def test_capture_when_the_broker_is_gone(hass: HomeAssistant, meross_env: MerossEnv) -> None:
    entry = await _setup(hass, meross_env)
    device_id = _device_id(hass, entry, meross_env.strip.uuid)
    await meross_env.broker.stop()
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN,
            "meross_capture",
            {"device_id": device_id, "duration": 10},
            blocking=True,
            return_response=True,
        )
    assert err.value.translation_key == "meross_capture_failed"
    assert err.value.translation_placeholders["device"] == "Media strip"
    # Nothing is left running: once the broker is back, a capture works again.
    assert not entry.runtime_data.runtime.account.capturing(meross_env.strip.uuid)
    await meross_env.broker.start()
    await _unload(hass, entry)


async def test_two_devices_captured_at_once(hass: HomeAssistant, meross_env: MerossEnv) -> None:
    env = meross_env
    entry = await _setup(hass, env)

    async def capture(uuid: str) -> Any:
        return await hass.services.async_call(
            DOMAIN,
            "meross_capture",
            {"device_id": _device_id(hass, entry, uuid), "duration": 10},
            blocking=True,
            return_response=True,
        )

    account = entry.runtime_data.runtime.account
    both = asyncio.gather(capture(env.plug.uuid), capture(env.strip.uuid))
    await _wait_for(lambda: account.capturing(env.plug.uuid) and account.capturing(env.strip.uuid))
    async with asyncio.timeout(15):
        while not both.done():
            await env.plug.push_toggle(True)
            await env.strip.push_toggle(True, channel=1)
            await asyncio.sleep(0.5)
    plug, strip = await both
    for response, device in ((plug, env.plug), (strip, env.strip)):
        pushes = [m for m in response["messages"] if m["message"]["header"]["method"] == "PUSH"]
        assert pushes
        # Each capture holds its own device only.
        assert all(m["message"]["header"]["from"] == device.publish_topic for m in pushes)
        # No message twice (the filters do not overlap).
        ids = [(m["topic"], m["message"]["header"]["messageId"]) for m in response["messages"]]
        assert len(ids) == len(set(ids))
    await _unload(hass, entry)
