"""A user's command does not wait behind background polls in the account's request limiter.

The limiter (60 requests a minute after a burst of 20: the cloud's rate limit) serves waiting
requests by priority: a SET sent for a Home Assistant service call goes before every poll
already waiting, so a command waits at most for the next token, never for the queue of polls.
Checked end to end: real mosquitto, the emulated plug, the order its requests arrive in.
"""

import asyncio

from homeassistant.const import STATE_ON
from homeassistant.core import HomeAssistant

from custom_components.switchboard.vendors.meross.const import LIMITER_BURST

from .conftest import MerossEnv
from .test_integration import _entity, _setup, _unload, _wait_for

QUEUED_POLLS = 3
"""Polls left waiting in the limiter when the command comes (one token a second)."""


async def test_command_goes_before_queued_polls(hass: HomeAssistant, meross_env: MerossEnv) -> None:
    """Burst spent, polls waiting: the switch's SET reaches the plug before any of them."""
    plug = meross_env.plug
    entry = await _setup(hass, meross_env)
    account = entry.runtime_data.runtime.account
    limiter = account.limiter
    switch = _entity(hass, plug.uuid, "channel_0", "switch")
    sent = len(plug.requests)

    async def poll() -> None:
        await account.async_request(plug.uuid, "GET", "Appliance.System.Online")

    # Spend the burst (set-up has used part of it), leaving at least QUEUED_POLLS polls waiting.
    polls = [asyncio.create_task(poll()) for _ in range(LIMITER_BURST + QUEUED_POLLS)]
    await _wait_for(lambda: limiter.queued >= QUEUED_POLLS)
    waiting = limiter.queued
    command = asyncio.create_task(
        hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
    )
    await command
    assert hass.states.get(switch).state == STATE_ON
    await asyncio.gather(*polls)

    after = [request[:2] for request in plug.requests[sent:]]
    online = ("GET", "Appliance.System.Online")
    assert after.count(online) == LIMITER_BURST + QUEUED_POLLS
    # The command went before every poll that was waiting when it was sent.
    toggle = after.index(("SET", "Appliance.Control.ToggleX"))
    assert after[toggle + 1 :].count(online) == waiting
    await _unload(hass, entry)
