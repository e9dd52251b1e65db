"""The bridges' shared publish window: bursts keep each topic's order and lose nothing."""

import dataclasses
from typing import override

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.switchboard.export.mqtt.bridge import (
    DATA_PUBLISH_WINDOW,
    PUBLISH_WINDOW,
    MqttBridge,
    PublishWindow,
)
from custom_components.switchboard.model import Attribute
from emulators.maxsmart import MaxSmartEmulator
from tests.maxsmart.conftest import STRIP_SERIAL

from .conftest import STRIP_TOPIC, UserClient, bridge_of, strip_entry


class HighWaterWindow(PublishWindow):
    """The real window, also remembering the most messages it ever had pending."""

    def __init__(self, size: int) -> None:
        """A window of ``size`` slots."""
        super().__init__(size)
        self.high_water = 0
        self.waits = 0

    @override
    def take(self) -> None:
        super().take()
        self.high_water = max(self.high_water, self.pending)

    @override
    def wait(self, bridge: MqttBridge) -> None:
        self.waits += 1
        super().wait(bridge)


def push_rounds(entry: MockConfigEntry, rounds: int) -> None:
    """Change ``power`` and ``port_1_power`` of the strip ``rounds`` times, as fast as possible."""
    coordinator = entry.runtime_data.runtime.coordinator_for_device(STRIP_SERIAL)
    assert coordinator is not None
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


async def assert_in_order_ending_on(user: UserClient, last: int) -> None:
    """Both topics' values arrived in order, and the last one is retained."""
    for key in ("power", "port_1_power"):
        topic = f"{STRIP_TOPIC}/{key}"
        await user.wait_for(topic, lambda m: m.payload == f"{float(last)}")
        values = [float(m.payload) for m in user.received(topic)]
        assert values == sorted(values), f"{topic} out of order"
        assert values[-1] == float(last)
        retained = await user.retained(STRIP_TOPIC)
        assert retained[topic] == f"{float(last)}"


async def test_burst_larger_than_the_window_keeps_order_and_ends_on_the_last_value(
    hass: HomeAssistant, bridged_entry: MockConfigEntry, user: UserClient
) -> None:
    """Pushes faster than the broker acknowledges: every topic's values arrive in order, the
    last one is retained, and the window (more messages than it holds) drains completely."""
    await user.wait_for(f"{STRIP_TOPIC}/availability")
    bridge = bridge_of(bridged_entry)
    await bridge.async_wait_idle()
    user.clear()
    rounds = PUBLISH_WINDOW // 2 + 10  # two topics per round: more than the window
    push_rounds(bridged_entry, rounds)
    await bridge.async_wait_idle()
    await assert_in_order_ending_on(user, rounds)
    assert bridge.stats.failed_publishes == 0


async def test_the_window_bounds_what_the_mqtt_client_holds(
    hass: HomeAssistant, mqtt_entry: MockConfigEntry, user: UserClient, strip: MaxSmartEmulator
) -> None:
    """Every bridge of the instance hands over through one window: with a window of 3, the
    start-up republish and a burst never leave more than 3 messages pending in Home
    Assistant's mqtt client, the bridge waits its turn, and everything still arrives in order."""
    window = HighWaterWindow(3)
    hass.data[DATA_PUBLISH_WINDOW] = window
    entry = strip_entry(strip)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    bridge = bridge_of(entry)
    await user.wait_for(f"{STRIP_TOPIC}/availability", lambda m: m.payload == "online")
    await bridge.async_wait_idle()
    user.clear()
    push_rounds(entry, 40)
    await bridge.async_wait_idle()
    await assert_in_order_ending_on(user, 40)
    assert window.high_water == 3
    assert window.waits > 0
    assert window.pending == 0
    assert bridge.stats.failed_publishes == 0
    assert await hass.config_entries.async_unload(entry.entry_id)
