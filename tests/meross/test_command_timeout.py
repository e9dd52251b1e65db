"""A command whose acknowledgement never comes: a translated error, then a poll at once.

The plug applies the SET but its SETACK (and the pushes after it) are lost. The coordinator's
burst follows only a command that succeeded, and while push is up the next poll is 10 minutes
away: without the poll at once the entity would show the old state for that long.
"""

from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest

from custom_components.switchboard.vendors.meross import source as meross_source

from .conftest import MerossEnv
from .test_integration import _entity, _setup, _unload, _wait_for

REQUEST_TIMEOUT = 1.0
"""The family's request timeout during this test (10 s in production)."""


async def test_command_timeout_polls_at_once(
    hass: HomeAssistant, meross_env: MerossEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No SETACK: the command fails with ``command_failed``; a poll shows the plug is on."""
    monkeypatch.setattr(meross_source, "REQUEST_TIMEOUT", REQUEST_TIMEOUT)
    plug = meross_env.plug
    entry = await _setup(hass, meross_env)
    coordinator = entry.runtime_data.runtime.coordinators[plug.uuid]
    assert coordinator.push_healthy
    assert coordinator.update_interval.total_seconds() == 600
    switch = _entity(hass, plug.uuid, "channel_0", "switch")
    assert hass.states.get(switch).state == STATE_OFF

    plug.swallow_set_acks = 1
    sent = len(plug.requests)
    with pytest.raises(HomeAssistantError) as raised:
        await hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
    assert raised.value.translation_key == "command_failed"
    assert plug.onoff[0] == 1  # the plug did switch; only its acknowledgement was lost
    assert hass.states.get(switch).state == STATE_OFF

    await _wait_for(lambda: hass.states.get(switch).state == STATE_ON)
    after = [request[:2] for request in plug.requests[sent:]]
    assert after[0] == ("SET", "Appliance.Control.ToggleX")
    # then the poll: System.All and the plug's readings, batched in one Control.Multiple
    assert after[1:] == [("SET", "Appliance.Control.Multiple")]
    namespaces = [item["header"]["namespace"] for item in plug.requests[-1][2]["multiple"]]
    assert "Appliance.System.All" in namespaces
    assert coordinator.last_update_success
    assert coordinator.update_interval.total_seconds() == 600  # push is still up

    # Acknowledged again: commands show at once, as before.
    assert plug.swallow_set_acks == 0
    await hass.services.async_call("switch", "turn_off", {"entity_id": switch}, blocking=True)
    assert hass.states.get(switch).state == STATE_OFF
    await _unload(hass, entry)
