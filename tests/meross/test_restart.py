"""Cache-first restart: a device new to the account, found by the background device list refresh.

Regression test of "its first request timed out after 10 s". Cause: requests are MQTT QoS 0, and
the refresh right after a restart found the new device before it had subscribed to its topic
(it was still connecting), so the first request was lost. The family then marked the device
offline and, push being healthy, did not poll it again for 10 minutes: no entities, no answer.
"""

from homeassistant import config_entries
from homeassistant.const import STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest

from custom_components.switchboard.const import DOMAIN
from custom_components.switchboard.vendors.meross import source as meross_source
from emulators.meross import MerossPlug

from .conftest import MerossEnv
from .test_integration import _setup, _unload, _wait_for

REQUEST_TIMEOUT = 2.0
"""The family's request timeout during these tests (10 s in production)."""


@pytest.fixture(autouse=True)
def _short_request_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(meross_source, "REQUEST_TIMEOUT", REQUEST_TIMEOUT)


async def _restart_with_new_plug(
    hass: HomeAssistant, env: MerossEnv, connect_delay: float
) -> tuple[config_entries.ConfigEntry, MerossPlug]:
    """Set up, unload (the cache is saved), add a plug that connects late, set up again."""
    entry = await _setup(hass, env)
    await _unload(hass, entry)
    plug = MerossPlug(name="Porch plug")
    plug.connect_delay = connect_delay
    await env.cloud.add_device(env.account, plug)
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is config_entries.ConfigEntryState.LOADED
    # Set up from the cache: the new plug is not known yet.
    assert plug.uuid not in entry.runtime_data.runtime.account.sources
    return entry, plug


def _switch_of(hass: HomeAssistant, uuid: str) -> str | None:
    return er.async_get(hass).async_get_entity_id("switch", DOMAIN, f"{uuid}_channel_0")


async def _answers(hass: HomeAssistant, plug: MerossPlug, switch: str) -> None:
    await hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
    assert plug.onoff[0] == 1
    assert hass.states.get(switch).state == STATE_ON


async def test_new_device_listening_late_is_asked_again(
    hass: HomeAssistant, meross_env: MerossEnv
) -> None:
    """The plug subscribes while our first request waits: it is asked again at the timeout."""
    entry, plug = await _restart_with_new_plug(hass, meross_env, connect_delay=0.5)
    # Asked again at the request timeout, not at the 10-minute push-era poll: a bound far below
    # those 10 minutes tells them apart without measuring the timeout (a loaded machine is slow).
    await _wait_for(lambda: _switch_of(hass, plug.uuid) is not None, timeout=60)
    switch = _switch_of(hass, plug.uuid)
    assert switch is not None
    assert hass.states.get(switch).state != STATE_UNAVAILABLE
    # The plug never saw the lost request; what it got starts with the repeated Ability GET.
    assert plug.requests[0][:2] == ("GET", "Appliance.System.Ability")
    source = entry.runtime_data.runtime.account.sources[plug.uuid]
    assert source.reachable is True
    coordinator = entry.runtime_data.runtime.coordinators[plug.uuid]
    assert coordinator.update_interval == coordinator.polling.push
    await _answers(hass, plug, switch)
    await _unload(hass, entry)


async def test_new_device_silent_past_the_timeout_catches_up_when_online(
    hass: HomeAssistant, meross_env: MerossEnv
) -> None:
    """The plug connects only after the first poll gave up: its online push brings it in."""
    # Held back until the first poll gave up (a fixed delay raced the poll on a loaded machine).
    entry, plug = await _restart_with_new_plug(hass, meross_env, connect_delay=3600)
    await _wait_for(lambda: plug.uuid in entry.runtime_data.runtime.coordinators, timeout=60)
    source = entry.runtime_data.runtime.account.sources[plug.uuid]
    coordinator = entry.runtime_data.runtime.coordinators[plug.uuid]
    assert source.reachable is False
    assert coordinator.data[plug.uuid].available is False
    # While it is silent it is polled at the normal interval, although push is healthy.
    assert coordinator.push_healthy
    assert coordinator.update_interval == coordinator.polling.normal
    await plug.stop()  # released: it connects now
    plug.connect_delay = 0
    await plug.start(plug.broker_host, plug.broker_port)
    await _wait_for(lambda: _switch_of(hass, plug.uuid) is not None)
    switch = _switch_of(hass, plug.uuid)
    assert switch is not None
    await _wait_for(lambda: hass.states.get(switch).state != STATE_UNAVAILABLE)
    assert source.reachable is True
    assert coordinator.update_interval == coordinator.polling.push
    await _answers(hass, plug, switch)
    await _unload(hass, entry)
