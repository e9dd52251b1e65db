"""MQTT bridge benchmark, beside Home Assistant core's ``mqtt_statestream`` in the same run.

One Home Assistant (``async_test_home_assistant``) with its mqtt integration connected to a
real mosquitto (Debian's binary, ``emulators/mosquitto.py``) on loopback, one Switchboard
config entry of an in-process benchmark family: 100 emulated devices of 10 attributes
(9 numeric sensors + 1 switch, so 1,000 entities), the bridge on (base ``switchboard``), and
``mqtt_statestream`` publishing the same 1,000 entities under ``statestream``. An independent
paho-mqtt client (own thread, timestamps with ``time.monotonic`` on arrival) measures:

* **publish rate**: every attribute of every device changes at once (coordinator push);
  messages per second from the push until the last of the 1,000 messages arrived, per round;
* **change -> message p95**: one attribute changes (unique value), time until the subscriber
  receives the bridge's attribute message vs statestream's entity state message;
* **command -> result p95**: the subscriber publishes a bridge command (``turn_on`` /
  ``turn_off``); time until the bridge's device-confirmed ``command/result`` arrives vs until
  statestream's message of the switch entity showing the new state arrives (statestream
  has no command path; that is the closest thing it can show).

Ratios are bridge / mqtt_statestream (for rates, higher is better; for latencies, lower).
Goals (issue 13): publish rate at least 1.0x statestream's, change -> message p95 no worse than
statestream's; the script exits non-zero when one is missed.
Usage: ``python benchmarks/mqtt_bridge.py [--devices 100] [--rounds 5] [--samples 200]``.
"""

import argparse
import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping
import contextlib
from dataclasses import dataclass
import json
import os
from pathlib import Path
import statistics
import sys
import tempfile
import threading
import time
from typing import Any, cast
from unittest.mock import patch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ATTRIBUTES = 10
BASE = "switchboard"
STATESTREAM = "statestream"


class Subscriber:
    """A paho client recording ``(topic, payload) -> arrival times`` in its own thread."""

    def __init__(self, port: int) -> None:
        import paho.mqtt.client as paho
        from paho.mqtt.enums import CallbackAPIVersion

        self.arrivals: dict[tuple[str, str], float] = {}
        self.counts: dict[str, int] = {BASE: 0, STATESTREAM: 0}
        self.lock = threading.Lock()
        self.subscribed = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv311)
        self.client.on_connect = lambda c, *_: c.subscribe(
            [(f"{BASE}/#", 1), (f"{STATESTREAM}/#", 1)]
        )
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, _client: Any, _userdata: Any, msg: Any) -> None:
        now = time.monotonic()
        with self.lock:
            self.arrivals.setdefault((msg.topic, msg.payload.decode(errors="replace")), now)
            self.counts[msg.topic.split("/", 1)[0]] = (
                self.counts.get(msg.topic.split("/", 1)[0], 0) + 1
            )

    def arrival(self, topic: str, payload: str) -> float | None:
        with self.lock:
            return self.arrivals.get((topic, payload))

    def count(self, prefix: str) -> int:
        with self.lock:
            return self.counts.get(prefix, 0)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def build_family() -> Any:
    """The benchmark family: devices ``Bench 000`` ... with attributes ``a0`` ... ``a8``, ``on``."""
    from datetime import timedelta

    import probatio

    from custom_components.switchboard.coordinator import (
        DeviceSource,
        PollingSettings,
        SwitchboardCoordinator,
    )
    from custom_components.switchboard.descriptions import (
        ActionCall,
        SwitchboardSensorDescription,
        SwitchboardSwitchDescription,
    )
    from custom_components.switchboard.family import Family, FamilyRuntime
    from custom_components.switchboard.model import (
        ActionSpec,
        Attribute,
        DeviceDescriptor,
        DeviceState,
    )

    class BenchSource(DeviceSource):
        def __init__(self, devices: int) -> None:
            self.states = {
                f"bench{i:03d}": DeviceState(
                    descriptor=DeviceDescriptor(
                        id=f"bench{i:03d}", name=f"Bench {i:03d}", manufacturer="Bench"
                    ),
                    attributes={
                        **{f"a{k}": Attribute(0.0, "W") for k in range(ATTRIBUTES - 1)},
                        "on": Attribute(False),
                    },
                )
                for i in range(devices)
            }

        async def async_fetch(self) -> dict[str, DeviceState]:
            return dict(self.states)

        def actions(self, device_id: str) -> Mapping[str, ActionSpec]:
            schema = probatio.Schema({})
            return {
                name: ActionSpec(name=name, schema=schema, description=name)
                for name in ("turn_on", "turn_off")
            }

        async def async_execute(
            self, device_id: str, action: str, args: Mapping[str, Any]
        ) -> dict[str, DeviceState]:
            await asyncio.sleep(0)  # the emulated device confirms at once
            old = self.states[device_id]
            new = DeviceState(
                descriptor=old.descriptor,
                attributes={**old.attributes, "on": Attribute(action == "turn_on")},
            )
            self.states[device_id] = new
            return {device_id: new}

    class BenchRuntime(FamilyRuntime):
        def describe(self, state: DeviceState) -> Iterable[Any]:
            for k in range(ATTRIBUTES - 1):
                yield SwitchboardSensorDescription(
                    key=f"a{k}", name=f"a{k}", attribute=f"a{k}", native_unit_of_measurement="W"
                )
            yield SwitchboardSwitchDescription(
                key="on",
                name="on",
                attribute="on",
                turn_on=ActionCall("turn_on"),
                turn_off=ActionCall("turn_off"),
            )

    class BenchFamily(Family):
        key = "bench"
        polling = PollingSettings(
            normal=timedelta(hours=1), burst=timedelta(hours=1), burst_cycles=0
        )

        async def async_setup_entry(self, hass: Any, entry: Any) -> FamilyRuntime:
            source = BenchSource(entry.data["devices"])
            coordinator = SwitchboardCoordinator(
                hass, entry, source=source, polling=self.polling, name="bench"
            )
            await coordinator.async_config_entry_first_refresh()
            runtime = BenchRuntime(self)
            runtime.async_add_coordinator("bench", coordinator)
            return runtime

    return BenchFamily()


def p95(values: list[float]) -> float:
    """95th percentile in ms."""
    return statistics.quantiles(values, n=100)[94] * 1000 if len(values) > 1 else values[0] * 1000


async def wait_until(predicate: Any, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError
        await asyncio.sleep(0.002)


@dataclass(frozen=True, slots=True)
class Fleet:
    """The benchmark's Home Assistant with its entity fleet (see :func:`bench_fleet`).

    ``entry``: the Switchboard entry of :func:`build_family`; ``coordinator`` and ``bridge``:
    its coordinator and MQTT bridge; ``subscriber``: the paho client on the same broker.
    """

    hass: Any
    entry: Any
    coordinator: Any
    bridge: Any
    subscriber: Subscriber


@contextlib.asynccontextmanager
async def bench_fleet(devices: int, *, statestream: bool = False) -> AsyncIterator[Fleet]:
    """A real mosquitto, Home Assistant connected to it, and the entity fleet, ready.

    ``devices`` devices of :data:`ATTRIBUTES` attributes in one Switchboard entry of
    :func:`build_family` with its MQTT bridge on (base :data:`BASE`), idle once every retained
    message is out; with ``statestream``, ``mqtt_statestream`` also publishes the same entities
    under :data:`STATESTREAM`. On exit the entries are unloaded and everything stops. Used by
    this benchmark and ``sepl_connector.py`` (which adds its connector entry to ``hass``).
    """
    from homeassistant import loader
    from homeassistant.components import mqtt
    from homeassistant.setup import async_setup_component
    from pytest_homeassistant_custom_component.common import (
        MockConfigEntry,
        async_test_home_assistant,
    )

    from custom_components.switchboard import families
    from emulators.mosquitto import Mosquitto

    family = build_family()
    cast(dict[str, Any], families.FAMILIES)[family.key] = family
    async with Mosquitto(tls=False) as broker:
        subscriber = Subscriber(broker.port)
        try:
            with (
                tempfile.TemporaryDirectory() as config_dir,
                patch("homeassistant.config.async_hass_config_yaml", return_value={}),
                patch("homeassistant.components.mqtt.client.DISCOVERY_COOLDOWN", 0.0),
            ):
                os.symlink(ROOT / "custom_components", Path(config_dir) / "custom_components")
                async with async_test_home_assistant(config_dir=config_dir) as hass:
                    hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)
                    mqtt_entry = MockConfigEntry(
                        domain="mqtt",
                        data={mqtt.CONF_BROKER: "127.0.0.1", mqtt.CONF_PORT: broker.port},
                        version=1,
                        minor_version=2,
                    )
                    mqtt_entry.add_to_hass(hass)
                    assert await hass.config_entries.async_setup(mqtt_entry.entry_id)
                    await wait_until(lambda: mqtt.is_connected(hass))
                    entry = MockConfigEntry(
                        domain="switchboard",
                        data={"family": "bench", "devices": devices},
                        options={"mqtt_bridge": {"enabled": True, "base_topic": BASE}},
                    )
                    entry.add_to_hass(hass)
                    assert await hass.config_entries.async_setup(entry.entry_id)
                    if statestream:
                        globs = ["sensor.bench_*", "switch.bench_*"]
                        assert await async_setup_component(
                            hass,
                            "mqtt_statestream",
                            {
                                "mqtt_statestream": {
                                    "base_topic": STATESTREAM,
                                    "include": {"entity_globs": globs},
                                }
                            },
                        )
                    await hass.async_block_till_done()
                    await asyncio.to_thread(subscriber.subscribed.wait, 10)
                    bridge = entry.runtime_data.exporters[0]  # the MQTT bridge
                    await bridge.async_wait_idle()
                    yield Fleet(
                        hass=hass,
                        entry=entry,
                        coordinator=entry.runtime_data.runtime.coordinators["bench"],
                        bridge=bridge,
                        subscriber=subscriber,
                    )
                    assert await hass.config_entries.async_unload(entry.entry_id)
                    assert await hass.config_entries.async_unload(mqtt_entry.entry_id)
                    await hass.async_block_till_done()
        finally:
            subscriber.stop()


def push_all(coordinator: Any, value: float) -> None:
    """Every numeric attribute (``a0`` ... ``a8``) of every device becomes ``value`` W at once.

    One coordinator push of whole device states, as a family pushing a poll's result.
    """
    from custom_components.switchboard.model import Attribute

    coordinator.async_push_devices(
        {
            device_id: type(state)(
                descriptor=state.descriptor,
                attributes={
                    **state.attributes,
                    **{f"a{k}": Attribute(float(value), "W") for k in range(ATTRIBUTES - 1)},
                },
            )
            for device_id, state in coordinator.data.items()
        }
    )


async def bridge_command(
    subscriber: Subscriber, device_id: str, action: str, command_id: str
) -> tuple[float, float]:
    """Send a bridge command for ``device_id``; return when it was sent and its result arrived.

    Monotonic seconds; the result is the bridge's device-confirmed ``command/result`` carrying
    ``command_id``.
    """
    root = f"{BASE}/unassigned/bench_{device_id[5:]}"
    topic, marker = f"{root}/command/result", f'"id":{json.dumps(command_id)}'
    payload = json.dumps({"action": action, "id": command_id})
    start = time.monotonic()
    await asyncio.to_thread(subscriber.client.publish, f"{root}/command", payload, 1)

    def arrived() -> float | None:
        with subscriber.lock:
            for (t, p), at in subscriber.arrivals.items():
                if t == topic and marker in p:
                    return at
        return None

    await wait_until(lambda: arrived() is not None)
    return start, cast(float, arrived())


async def run(devices: int, rounds: int, samples: int) -> dict[str, tuple[float, float]]:
    from custom_components.switchboard.model import Attribute

    results: dict[str, tuple[float, float]] = {}
    async with bench_fleet(devices, statestream=True) as fleet:
        coordinator, subscriber = fleet.coordinator, fleet.subscriber
        await asyncio.sleep(1)
        ids = sorted(coordinator.data)
        total = devices * (ATTRIBUTES - 1)

        # Publish rate: every numeric attribute of every device changes at once.
        rates: dict[str, list[float]] = {BASE: [], STATESTREAM: []}
        for value in range(1, rounds + 1):
            before = {p: subscriber.count(p) for p in rates}
            start = time.monotonic()
            push_all(coordinator, value)
            for prefix, counted in before.items():
                await wait_until(lambda p=prefix, c=counted: subscriber.count(p) - c >= total)
                last = max(
                    subscriber.arrival(
                        (
                            f"{BASE}/unassigned/bench_{i[5:]}/a{k}"
                            if prefix == BASE
                            else f"{STATESTREAM}/sensor/bench_{i[5:]}_a{k}/state"
                        ),
                        f"{float(value)}",
                    )
                    or 0.0
                    for i in ids
                    for k in range(ATTRIBUTES - 1)
                )
                rates[prefix].append(total / (last - start))
            await asyncio.sleep(0.5)
        results["publish rate (msg/s)"] = (
            statistics.median(rates[BASE]),
            statistics.median(rates[STATESTREAM]),
        )

        # Change -> message latency, one attribute at a time.
        lat: dict[str, list[float]] = {BASE: [], STATESTREAM: []}
        for n in range(samples):
            device_id = ids[n % len(ids)]
            value = 1000.0 + n
            start = time.monotonic()
            state = coordinator.data[device_id]
            coordinator.async_push_devices(
                {
                    device_id: type(state)(
                        descriptor=state.descriptor,
                        attributes={**state.attributes, "a0": Attribute(value, "W")},
                    )
                }
            )
            topics = {
                BASE: f"{BASE}/unassigned/bench_{device_id[5:]}/a0",
                STATESTREAM: f"{STATESTREAM}/sensor/bench_{device_id[5:]}_a0/state",
            }
            for prefix, topic in topics.items():
                await wait_until(lambda t=topic, v=value: subscriber.arrival(t, f"{v}") is not None)
                lat[prefix].append(cast(float, subscriber.arrival(topic, f"{value}")) - start)
            await asyncio.sleep(0.005)
        results["change -> message p95 (ms)"] = (p95(lat[BASE]), p95(lat[STATESTREAM]))

        # Command -> device-confirmed result (bridge) / switch state (statestream).
        cmd: dict[str, list[float]] = {BASE: [], STATESTREAM: []}
        for n in range(samples):
            device_id = ids[n % len(ids)]
            action = "turn_on" if (n // len(ids)) % 2 == 0 else "turn_off"
            state = "on" if action == "turn_on" else "off"
            start, result_at = await bridge_command(subscriber, device_id, action, f"b{n}")
            cmd[BASE].append(result_at - start)
            switch_topic = f"{STATESTREAM}/switch/bench_{device_id[5:]}_on/state"
            await wait_until(
                lambda t=switch_topic, s=state, t0=start: (subscriber.arrival(t, s) or 0) > t0
            )
            cmd[STATESTREAM].append(cast(float, subscriber.arrival(switch_topic, state)) - start)
            with subscriber.lock:
                subscriber.arrivals.pop((switch_topic, state), None)
            await asyncio.sleep(0.005)
        results["command -> result p95 (ms)"] = (p95(cmd[BASE]), p95(cmd[STATESTREAM]))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    results = asyncio.run(run(args.devices, args.rounds, args.samples))
    print(
        f"\n{args.devices} devices x {ATTRIBUTES} attributes; baseline: Home Assistant core "
        "mqtt_statestream (same entities, same run, same broker)\n"
    )
    print(
        f"| {'metric':<28} | {'switchboard bridge':>18} | {'mqtt_statestream':>16} | {'ratio':>6} |"
    )
    print(f"|{'-' * 30}|{'-' * 20}:|{'-' * 18}:|{'-' * 7}:|")
    for metric, (ours, baseline) in results.items():
        print(f"| {metric:<28} | {ours:>18.1f} | {baseline:>16.1f} | {ours / baseline:>6.2f} |")
    rate, rate_baseline = results["publish rate (msg/s)"]
    latency, latency_baseline = results["change -> message p95 (ms)"]
    missed = [
        text
        for text, ok in (
            (
                f"publish rate {rate / rate_baseline:.2f}x statestream's (goal >= 1.0x)",
                rate >= rate_baseline,
            ),
            (
                f"change -> message p95 {latency:.1f} ms > statestream's {latency_baseline:.1f} ms",
                latency <= latency_baseline,
            ),
        )
        if not ok
    ]
    print("\ngoals: " + ("all met" if not missed else "MISSED: " + "; ".join(missed)))
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
