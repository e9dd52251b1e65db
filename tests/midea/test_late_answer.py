"""An appliance that answers later than the reply timeout: one outage, logged once.

Regression for the fault matrix's ``midea-late_answer`` row: midea-local's own ``connect``
accepts replies up to 5 s late, so an appliance answering 1 s after the reply timeout used to
connect again during the fault, miss the next poll and be logged unavailable a second time.
Now it stays unavailable until it answers in time (``lan.async_check_answer`` before every
connection attempt).
"""

import itertools
import logging

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.switchboard.vendors.midea.client import (
    ApplianceConfig,
    MideaApplianceClient,
    async_check_appliance,
)
from custom_components.switchboard.vendors.midea.lan import (
    ApplianceUnreachable,
    NoAnswer,
    WrongToken,
    async_check_answer,
)
from emulators.midea import MideaAppliance

from .conftest import MideaStack, appliance_record
from .test_init import until


def _config(appliance: MideaAppliance) -> ApplianceConfig:
    return ApplianceConfig.from_dict(appliance_record(appliance))


async def test_late_answer_is_one_outage(
    hass: HomeAssistant,
    stack: MideaStack,
    account_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Replies 1 s later than the timeout: unavailable once, through several reconnection
    attempts, and available again only once the appliance answers in time."""
    caplog.set_level(logging.INFO, logger="custom_components.switchboard")
    entity_id = "humidifier.cellar"
    changes: list[str] = []

    @callback
    def _record(event: Event[EventStateChangedData]) -> None:
        if event.data["entity_id"] == entity_id and (new := event.data["new_state"]):
            changes.append(new.state)

    unsubscribe = hass.bus.async_listen("state_changed", _record)
    coordinator = account_entry.runtime_data.runtime.coordinators["appliances"]
    client = account_entry.runtime_data.runtime.source.clients[str(stack.dehumidifier.appliance_id)]
    server = stack.dehumidifier_server

    stack.dehumidifier.faults.delay = MideaApplianceClient.reply_timeout + 1
    await coordinator.async_refresh()  # the poll's reply comes 1 s too late
    assert hass.states.get(entity_id).state == STATE_UNAVAILABLE
    # midea-local's connect would take these late replies; every attempt now wants a timely
    # answer first, so the appliance stays unavailable however many attempts are made.
    attempts = server.connections
    await until(
        hass,
        lambda: (
            server.connections >= attempts + 3
            or hass.states.get(entity_id).state != STATE_UNAVAILABLE
        ),
        timeout=30,
    )
    await coordinator.async_refresh()
    assert set(changes) == {STATE_UNAVAILABLE}, changes  # never back during the fault
    assert caplog.text.count("Cellar is unavailable") == 1
    assert client.last_error == "no_answer"

    stack.dehumidifier.faults.delay = 0.0
    await until(hass, lambda: hass.states.get(entity_id).state != STATE_UNAVAILABLE)
    await coordinator.async_refresh()
    unsubscribe()

    outages = [
        state
        for previous, state in itertools.pairwise(changes)
        if (previous == STATE_UNAVAILABLE) != (state == STATE_UNAVAILABLE)
    ]
    assert outages == ["off"], changes  # one way back, after exactly one way down
    assert changes[0] == STATE_UNAVAILABLE
    messages = [record.getMessage() for record in caplog.records]
    assert messages.count("Cellar is unavailable") == 1
    assert messages.count("Cellar is available again") == 1


async def test_check_answer(stack: MideaStack, stack_v2: MideaStack) -> None:
    """A timely reply passes (V3 and V2); a late, missing, undecodable or half reply does not,
    nor a wrong token, nor silence."""
    appliance = stack.dehumidifier
    config = _config(appliance)
    await async_check_appliance(config, wait=10.0, answer=True)
    await async_check_appliance(_config(stack_v2.air_conditioner), wait=10.0, answer=True)

    async def check(**changes: str) -> None:
        target = config.with_changes(**changes)
        await async_check_answer(
            target.host,
            target.port,
            appliance_id=target.appliance_id,
            device_type=target.device_type,
            token=target.token,
            key=target.key,
            wait=0.5,
        )

    with pytest.raises(WrongToken):
        await check(token="00" * 64)
    appliance.faults.silent = True  # not even the handshake is answered
    with pytest.raises(ApplianceUnreachable):
        await check()
    appliance.faults.silent = False
    for fault, value in (("delay", 1.0), ("drop_connection", True)):
        setattr(appliance.faults, fault, value)
        with pytest.raises(NoAnswer):
            await check()
        setattr(appliance.faults, fault, type(value)())
    # Garbage and half replies spoil a V3 handshake: they are no answer, never a refusal of
    # the token or key (which would wait a minute before the next attempt).
    for fault in ("garbage", "truncated"):
        setattr(appliance.faults, fault, True)
        with pytest.raises(NoAnswer):
            await check()
        setattr(appliance.faults, fault, False)
    # V2 shows them on the reply itself.
    v2 = stack_v2.air_conditioner
    for fault in ("garbage", "truncated"):
        setattr(v2.faults, fault, True)
        with pytest.raises(NoAnswer):
            await async_check_appliance(_config(v2), wait=0.5, answer=True)
        setattr(v2.faults, fault, False)
