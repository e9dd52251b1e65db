"""An account whose devices sit on two brokers, through Home Assistant (two real mosquittos)."""

import inspect

from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr

from custom_components.switchboard.const import DOMAIN
from custom_components.switchboard.diagnostics import async_get_config_entry_diagnostics
from custom_components.switchboard.vendors.meross.mqtt import MerossMqttClient

from .conftest import MerossEnv
from .test_integration import _entity, _setup, _unload, _wait_for

RECONNECT_WAIT = (
    inspect.signature(MerossMqttClient).parameters["reconnect_max_delay"].default + 30.0
)
"""Safety net for the wait until the client is back on a restarted broker: its next attempt
comes after a backoff that doubled for as long as the broker was down (up to the client's
``reconnect_max_delay``), so on a loaded machine, where the test takes longer to restart the
broker, it may come later than a fixed bound such as ``_wait_for``'s; this outlasts any delay."""


async def test_mixed_account(hass: HomeAssistant, meross_split_env: MerossEnv) -> None:
    env = meross_split_env
    entry = await _setup(hass, env)
    runtime = entry.runtime_data.runtime
    brokers = runtime.account.brokers
    first = ("127.0.0.1", env.broker.tls_port)
    second = ("127.0.0.1", env.second_broker.tls_port)
    assert set(brokers.clients) == {first, second}
    assert sorted(brokers.devices_on(second)) == sorted([env.strip.uuid, env.hub.uuid])
    # Every device works over its own broker: commands and pushes.
    strip_outlet = _entity(hass, env.strip.uuid, "channel_2", "switch")
    await hass.services.async_call("switch", "turn_on", {"entity_id": strip_outlet}, blocking=True)
    assert env.strip.onoff[2] == 1
    plug = _entity(hass, env.plug.uuid, "channel_0", "switch")
    await env.plug.push_toggle(True)
    await _wait_for(lambda: hass.states.get(plug).state == STATE_ON)
    await env.strip.push_toggle(False, channel=2)
    await _wait_for(lambda: hass.states.get(strip_outlet).state == STATE_OFF)
    # Diagnostics list each connection and its devices.
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    connections = {c["broker"]: c for c in diagnostics["family"]["mqtt"]["connections"]}
    assert sorted(connections[f"127.0.0.1:{second[1]}"]["devices"]) == sorted(
        [env.strip.uuid, env.hub.uuid]
    )
    assert sorted(connections[f"127.0.0.1:{first[1]}"]["devices"]) == sorted(
        [env.plug.uuid, env.thermostat.uuid]
    )
    await _unload(hass, entry)


async def test_one_broker_restarts_while_the_other_pushes(
    hass: HomeAssistant, meross_split_env: MerossEnv
) -> None:
    env = meross_split_env
    entry = await _setup(hass, env)
    runtime = entry.runtime_data.runtime
    coordinators = runtime.coordinators
    plug_connects = runtime.account.brokers.client(env.plug.uuid).connect_count
    await env.second_broker.stop()
    # Only the second broker's devices fall back to polling and turn unavailable.
    await _wait_for(lambda: not coordinators[env.strip.uuid].push_healthy)
    assert not coordinators[env.hub.uuid].push_healthy
    assert coordinators[env.plug.uuid].push_healthy
    assert coordinators[env.thermostat.uuid].push_healthy
    strip_outlet = _entity(hass, env.strip.uuid, "channel_1", "switch")
    await _wait_for(lambda: hass.states.get(strip_outlet).state == STATE_UNAVAILABLE)
    push_connected = _entity(hass, runtime.account.account_id, "push_connected", "binary_sensor")
    await _wait_for(lambda: hass.states.get(push_connected).state == STATE_OFF)
    # The first broker keeps pushing meanwhile.
    plug = _entity(hass, env.plug.uuid, "channel_0", "switch")
    for on in (True, False, True):
        await env.plug.push_toggle(on)
        await _wait_for(
            lambda on=on: hass.states.get(plug).state == (STATE_ON if on else STATE_OFF)
        )
    env.strip.onoff[1] = 1  # changed while its broker was down
    await env.second_broker.start()
    await _wait_for(lambda: coordinators[env.strip.uuid].push_healthy, RECONNECT_WAIT)
    await _wait_for(lambda: hass.states.get(strip_outlet).state == STATE_ON)
    await _wait_for(lambda: hass.states.get(push_connected).state == STATE_ON)
    # The first broker's connection was never disturbed.
    assert runtime.account.brokers.client(env.plug.uuid).connect_count == plug_connects
    await _unload(hass, entry)


async def test_device_moves_to_another_broker(
    hass: HomeAssistant, meross_split_env: MerossEnv
) -> None:
    env = meross_split_env
    entry = await _setup(hass, env)
    runtime = entry.runtime_data.runtime
    brokers = runtime.account.brokers
    await env.cloud.move_device(env.plug, env.second_broker)
    await env.cloud.move_device(env.thermostat, env.second_broker)
    # The next device-list refresh sees the new ``domain``: no reload.
    await runtime.async_sync_devices(runtime.family)
    await hass.async_block_till_done()
    second = ("127.0.0.1", env.second_broker.tls_port)
    assert brokers.address(env.plug.uuid) == second
    assert list(brokers.clients) == [second]  # nobody left on the first broker
    assert brokers.moves == 2
    assert entry.state.recoverable  # still loaded, never reloaded
    # Moved, not gone: both keep their devices.
    for device in (env.plug, env.thermostat):
        identifier = (DOMAIN, device.uuid)
        assert dr.async_get(hass).async_get_device_by_identifier(identifier, entry.entry_id)
    plug = _entity(hass, env.plug.uuid, "channel_0", "switch")
    await hass.services.async_call("switch", "turn_on", {"entity_id": plug}, blocking=True)
    assert env.plug.onoff[0] == 1
    await env.plug.push_toggle(False)
    await _wait_for(lambda: hass.states.get(plug).state == STATE_OFF)
    assert runtime.coordinators[env.plug.uuid].push_healthy
    await _unload(hass, entry)
