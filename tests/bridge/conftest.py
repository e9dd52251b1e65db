"""Fixtures of the MQTT bridge tests: a real mosquitto, Home Assistant's mqtt, a user's client.

* ``broker``: Debian's mosquitto on a free loopback port (``emulators/mosquitto.py``).
* ``mqtt_entry``: Home Assistant's own mqtt integration connected to it (the birth message is
  on, with core's default ``homeassistant/status`` / ``online``). The mqtt client's cooldowns and
  reconnect interval are shortened so a broker restart is noticed in a fraction of a second.
* ``user``: an independent paho-mqtt client, as a user's program would use it; it collects
  every message of ``switchboard/#`` and ``homeassistant/#`` in a thread-safe list.
* ``strip``: the 6-port MaxSmart emulator; ``bridged_entry``: a Switchboard entry for it whose
  options turn the bridge on.
"""

import asyncio
from collections.abc import AsyncGenerator, Callable, Generator
from dataclasses import dataclass
import json
import threading
import time
from typing import Any
from unittest.mock import patch

from homeassistant.components import mqtt
from homeassistant.core import HomeAssistant
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.switchboard.const import CONF_FAMILY, DOMAIN
from custom_components.switchboard.export.mqtt.bridge import (
    CONF_BASE_TOPIC,
    CONF_BRIDGE,
    CONF_BRIDGE_ENABLED,
    CONF_DISCOVERY,
    MqttBridge,
)
from custom_components.switchboard.vendors.maxsmart.const import (
    CONF_DISCOVERY_PORT,
    CONF_MAC,
    CONF_SERIAL,
)
from emulators.maxsmart import MaxSmartEmulator
from emulators.mosquitto import Mosquitto, mosquitto_available
from tests.maxsmart.conftest import STRIP_SERIAL, strip_kwargs

BASE = "switchboard"
STRIP_TOPIC = f"{BASE}/unassigned/desk"
"""The strip's topic prefix: no area, device name ``Desk``."""


@dataclass(frozen=True, slots=True)
class Message:
    """One message the user's client received."""

    topic: str
    payload: str
    retain: bool
    at: float
    """``time.monotonic()`` when paho delivered it."""

    def json(self) -> Any:
        """The payload parsed as JSON."""
        return json.loads(self.payload)


class UserClient:
    """A paho-mqtt client in its own network thread, like a user's program.

    It reconnects by itself (0.05-0.5 s back-off) and resubscribes in ``on_connect``.
    """

    def __init__(self, port: int, subscriptions: tuple[str, ...]) -> None:
        """Prepare the client for ``127.0.0.1:port``; nothing runs until :meth:`start`."""
        self.port = port
        self.subscriptions = subscriptions
        self.messages: list[Message] = []
        self.lock = threading.Lock()
        self.connected = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv311)
        self.client.reconnect_delay_set(min_delay=0.05, max_delay=0.5)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.subscribed = threading.Event()
        self.client.on_subscribe = lambda *_: self.subscribed.set()

    def _on_connect(self, client: paho.Client, *_: Any) -> None:
        self.subscribed.clear()
        client.subscribe([(topic, 1) for topic in self.subscriptions])
        self.connected.set()

    def _on_disconnect(self, *_: Any) -> None:
        self.connected.clear()
        self.subscribed.clear()

    def _on_message(self, _client: paho.Client, _userdata: Any, msg: paho.MQTTMessage) -> None:
        with self.lock:
            self.messages.append(
                Message(
                    msg.topic,
                    msg.payload.decode(errors="replace"),
                    bool(msg.retain),
                    time.monotonic(),
                )
            )

    async def start(self) -> None:
        """Connect and wait until the subscriptions are acknowledged."""
        self.client.connect_async("127.0.0.1", self.port, keepalive=5)
        self.client.loop_start()
        await self.wait_subscribed()

    async def wait_subscribed(self, timeout: float = 10) -> None:
        """Wait until the client is connected and subscribed (again)."""
        deadline = time.monotonic() + timeout
        while not self.subscribed.is_set():
            assert time.monotonic() < deadline, "user client did not (re)subscribe"
            await asyncio.sleep(0.02)

    def stop(self) -> None:
        """Disconnect and join the network thread."""
        self.client.disconnect()
        self.client.loop_stop()

    def publish(self, topic: str, payload: str | bytes, *, retain: bool = False) -> None:
        """Publish with QoS 1."""
        self.client.publish(topic, payload, qos=1, retain=retain)

    def command(self, topic: str, action: str, args: dict[str, Any], command_id: Any) -> None:
        """Publish a bridge command on ``<topic>/command``."""
        self.publish(
            f"{topic}/command", json.dumps({"action": action, "args": args, "id": command_id})
        )

    def received(self, topic: str | None = None) -> list[Message]:
        """Messages so far, optionally on one topic."""
        with self.lock:
            return [m for m in self.messages if topic is None or m.topic == topic]

    def clear(self) -> None:
        """Forget the messages received so far."""
        with self.lock:
            self.messages.clear()

    async def wait_for(
        self,
        topic: str,
        predicate: Callable[[Message], bool] = lambda _: True,
        timeout: float = 10,
    ) -> Message:
        """Wait for a message on ``topic`` matching ``predicate`` (already received counts)."""
        deadline = time.monotonic() + timeout
        while True:
            for message in self.received(topic):
                if predicate(message):
                    return message
            if time.monotonic() > deadline:
                seen = [(m.topic, m.payload) for m in self.received(topic)]
                raise AssertionError(f"no matching message on {topic}; got {seen}")
            await asyncio.sleep(0.01)

    async def result(self, topic: str, command_id: Any, timeout: float = 10) -> dict[str, Any]:
        """Wait for the result of command ``command_id`` on ``<topic>/command/result``."""
        message = await self.wait_for(
            f"{topic}/command/result", lambda m: m.json().get("id") == command_id, timeout
        )
        result: dict[str, Any] = message.json()
        return result

    async def retained(self, topic: str, timeout: float = 5) -> dict[str, str]:
        """Connect a fresh client and return every retained payload under ``topic/#``."""
        fresh = UserClient(self.port, (f"{topic}/#",))
        await fresh.start()
        try:
            await asyncio.sleep(0.3)
            return {m.topic: m.payload for m in fresh.received() if m.retain}
        finally:
            fresh.stop()


@pytest.fixture
async def broker(socket_enabled: None) -> AsyncGenerator[Mosquitto]:
    """A mosquitto on a free loopback port (plain listener only)."""
    if not mosquitto_available():
        pytest.skip("mosquitto is not installed")
    async with Mosquitto(tls=False) as running:
        yield running


@pytest.fixture
def fast_mqtt() -> Generator[None]:
    """Shorten the mqtt client's cooldowns and reconnect interval for tests."""
    with (
        patch("homeassistant.components.mqtt.client.RECONNECT_INTERVAL_SECONDS", 0.2),
        patch("homeassistant.components.mqtt.client.DISCOVERY_COOLDOWN", 0.0),
        patch("homeassistant.components.mqtt.client.INITIAL_SUBSCRIBE_COOLDOWN", 0.01),
        patch("homeassistant.components.mqtt.client.SUBSCRIBE_COOLDOWN", 0.01),
        patch("homeassistant.components.mqtt.client.UNSUBSCRIBE_COOLDOWN", 0.01),
    ):
        yield


async def wait_connected(hass: HomeAssistant, connected: bool = True, timeout: float = 10) -> None:
    """Wait until Home Assistant's mqtt client is (dis)connected."""
    deadline = time.monotonic() + timeout
    while mqtt.is_connected(hass) != connected:
        assert time.monotonic() < deadline, f"mqtt connected never became {connected}"
        await asyncio.sleep(0.02)


def mqtt_config_entry(port: int) -> MockConfigEntry:
    """Home Assistant's mqtt entry for the test broker, with core's default birth message."""
    return MockConfigEntry(
        domain=mqtt.DOMAIN,
        data={mqtt.CONF_BROKER: "127.0.0.1", mqtt.CONF_PORT: port, mqtt.CONF_PROTOCOL: "3.1.1"},
        options={},
        title="MQTT",
        version=1,
        minor_version=2,
    )


@pytest.fixture
async def mqtt_entry(
    hass: HomeAssistant, broker: Mosquitto, fast_mqtt: None, mock_hass_config: None
) -> AsyncGenerator[MockConfigEntry]:
    """Home Assistant's mqtt integration, connected to ``broker``."""
    entry = mqtt_config_entry(broker.port)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await wait_connected(hass)
    yield entry
    if entry.state.recoverable:
        await hass.config_entries.async_unload(entry.entry_id)


@pytest.fixture
async def user(broker: Mosquitto) -> AsyncGenerator[UserClient]:
    """The user's own paho client, subscribed to ``switchboard/#`` and ``homeassistant/#``."""
    client = UserClient(broker.port, (f"{BASE}/#", "homeassistant/#"))
    await client.start()
    yield client
    client.stop()


@pytest.fixture
async def strip(socket_enabled: None) -> AsyncGenerator[MaxSmartEmulator]:
    """The 6-port MaxSmart strip ``Desk`` (firmware 1.30) on 127.0.0.1."""
    emulator = MaxSmartEmulator("127.0.0.1", **strip_kwargs())
    await emulator.start()
    yield emulator
    await emulator.stop()


def bridge_of(entry: MockConfigEntry) -> MqttBridge:
    """The MQTT bridge of a loaded Switchboard entry."""
    bridge = entry.runtime_data.exporter(MqttBridge)
    assert bridge is not None
    return bridge


def strip_entry(strip: MaxSmartEmulator, **bridge: Any) -> MockConfigEntry:
    """A Switchboard entry for ``strip`` shaped like the config flow creates it.

    ``bridge`` overrides the bridge options (enabled, base topic ``switchboard``, no discovery).
    """
    return MockConfigEntry(
        domain=DOMAIN,
        title="Desk",
        unique_id=STRIP_SERIAL,
        data={
            CONF_FAMILY: "maxsmart",
            "host": "127.0.0.1",
            "port": strip.http_port,
            CONF_DISCOVERY_PORT: strip.udp_port,
            CONF_SERIAL: STRIP_SERIAL,
            CONF_MAC: "bc:2b:00:00:00:01",
        },
        options={
            CONF_BRIDGE: {
                CONF_BRIDGE_ENABLED: True,
                CONF_BASE_TOPIC: BASE,
                CONF_DISCOVERY: False,
                **bridge,
            }
        },
    )


@pytest.fixture
async def bridged_entry(
    hass: HomeAssistant, mqtt_entry: MockConfigEntry, strip: MaxSmartEmulator
) -> AsyncGenerator[MockConfigEntry]:
    """The strip's entry with the bridge on, set up after Home Assistant's mqtt."""
    entry = strip_entry(strip)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    yield entry
    if entry.state.recoverable:
        await hass.config_entries.async_unload(entry.entry_id)
