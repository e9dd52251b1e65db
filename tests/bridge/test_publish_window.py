"""The bridge's continuous publish window: bursts keep each topic's order and lose nothing."""

import dataclasses

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.switchboard.export.mqtt.bridge import PUBLISH_WINDOW
from custom_components.switchboard.model import Attribute
from tests.maxsmart.conftest import STRIP_SERIAL

from .conftest import STRIP_TOPIC, UserClient, bridge_of


async def test_burst_larger_than_the_window_keeps_order_and_ends_on_the_last_value(
    hass: HomeAssistant, bridged_entry: MockConfigEntry, user: UserClient
) -> None:
    """Pushes faster than the broker acknowledges: every topic's values arrive in order, the
    last one is retained, and the window (more messages than it holds) drains completely."""
    await user.wait_for(f"{STRIP_TOPIC}/availability")
    bridge = bridge_of(bridged_entry)
    await bridge.async_wait_idle()
    coordinator = bridged_entry.runtime_data.runtime.coordinator_for_device(STRIP_SERIAL)
    assert coordinator is not None
    user.clear()
    rounds = PUBLISH_WINDOW // 2 + 10  # two topics per round: more than the window
    for value in range(1, rounds + 1):
        state = coordinator.data[STRIP_SERIAL]
        coordinator.async_push_devices(
            {
                STRIP_SERIAL: dataclasses.replace(
                    state,
                    attributes={
                        **state.attributes,
                        "power": Attribute(float(value), "W"),
                        "port_1_power": Attribute(float(value), "W"),
                    },
                )
            }
        )
    await bridge.async_wait_idle()
    for key in ("power", "port_1_power"):
        topic = f"{STRIP_TOPIC}/{key}"
        await user.wait_for(topic, lambda m: m.payload == f"{float(rounds)}")
        values = [float(m.payload) for m in user.received(topic)]
        assert values == sorted(values), f"{topic} out of order"
        assert values[-1] == float(rounds)
        retained = await user.retained(STRIP_TOPIC)
        assert retained[topic] == f"{float(rounds)}"
    assert bridge.stats.failed_publishes == 0
