"""Polls batched in ``Appliance.Control.Multiple``, and a restart that costs one request."""

from homeassistant.const import STATE_ON
from homeassistant.core import HomeAssistant

from custom_components.switchboard.vendors.meross.const import CONF_PUSH
from custom_components.switchboard.vendors.meross.source import (
    MULTIPLE_ITEM_BYTES,
    MULTIPLE_REPLY_BUDGET,
)

from .conftest import MerossEnv
from .test_integration import _entity, _setup, _unload

MULTIPLE = ("SET", "Appliance.Control.Multiple")
SYSTEM_ALL = "Appliance.System.All"
ELECTRICITY = "Appliance.Control.Electricity"
CONSUMPTIONX = "Appliance.Control.ConsumptionX"


async def test_poll_batches_measured_namespaces_and_a_restart_costs_one_request(
    hass: HomeAssistant, meross_env: MerossEnv
) -> None:
    """The first poll asks each namespace alone and measures the replies; later polls ask
    System.All and Electricity in one Multiple request (they fit the reply budget), and the
    values still land. After a reload the first poll is that one request: the daily
    consumption kept from the last run stands until its 5-minute poll."""
    plug = meross_env.plug
    entry = await _setup(hass, meross_env, **{CONF_PUSH: False})
    account = entry.runtime_data.runtime.account
    sizes = account.sources[plug.uuid].reply_sizes
    assert set(sizes) >= {SYSTEM_ALL, ELECTRICITY, CONSUMPTIONX}
    assert sizes[SYSTEM_ALL] + sizes[ELECTRICITY] + 2 * MULTIPLE_ITEM_BYTES <= (
        MULTIPLE_REPLY_BUDGET
    )
    total = _entity(hass, plug.uuid, "energy_total", "sensor")
    energy = hass.states.get(total).state

    plug.requests.clear()
    plug.onoff[0] = 1
    await plug.set_power(42.0, push=False)
    coordinator = entry.runtime_data.runtime.coordinators[plug.uuid]
    await coordinator.async_refresh()
    assert [(method, namespace) for method, namespace, _ in plug.requests] == [MULTIPLE]
    assert [item["header"]["namespace"] for item in plug.requests[0][2]["multiple"]] == [
        SYSTEM_ALL,
        ELECTRICITY,
    ]
    assert hass.states.get(_entity(hass, plug.uuid, "channel_0", "switch")).state == STATE_ON
    assert float(hass.states.get(_entity(hass, plug.uuid, "power", "sensor")).state) == 42.0

    plug.requests.clear()
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert [(method, namespace) for method, namespace, _ in plug.requests] == [MULTIPLE]
    assert hass.states.get(total).state == energy
    await _unload(hass, entry)


async def test_items_the_multiple_reply_lacks_are_asked_alone(
    hass: HomeAssistant, meross_env: MerossEnv
) -> None:
    """A device whose Multiple reply leaves an item out (a truncated or partial answer) still
    gets that namespace polled, on its own."""
    plug = meross_env.plug
    entry = await _setup(hass, meross_env, **{CONF_PUSH: False})
    answer = plug._handlers[MULTIPLE]

    def drop_electricity(payload: dict) -> dict:
        reply = answer(payload)
        reply["multiple"] = [
            item for item in reply["multiple"] if item["header"]["namespace"] != ELECTRICITY
        ]
        return reply

    plug._handlers[MULTIPLE] = drop_electricity
    plug.requests.clear()
    await plug.set_power(7.0, push=False)
    await entry.runtime_data.runtime.coordinators[plug.uuid].async_refresh()
    assert [(method, namespace) for method, namespace, _ in plug.requests] == [
        MULTIPLE,
        ("GET", ELECTRICITY),
    ]
    assert float(hass.states.get(_entity(hass, plug.uuid, "power", "sensor")).state) == 7.0
    await _unload(hass, entry)
