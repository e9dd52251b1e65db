"""INDI push benchmark: driver setNumberVector -> Home Assistant entity state.

A driver (indipydriver under indipyserver, in a child process so its CPU is not counted)
defines about 1,000 number vectors over several devices. On request it sends N updates of one
vector; each update's value is the driver's wall-clock send time, so the receiver computes the
latency without clock translation (same machine).

Measured in one run, same driver, same updates:
* baseline  indipyclient 0.9.4 alone (IPyClient.rxevent per update), no Home Assistant;
* client    our IndiClient alone (on_event per update), no Home Assistant;
* switchboard  Home Assistant with the INDI config entry: client -> hub -> coordinator push ->
  sensor entity state written (latency taken at the state_changed event);
* floor  Home Assistant's own floor: the same number of plain sensor entities (no integration,
  no INDI), one of them written N times with ``async_write_ha_state`` at the same rate, with the
  same attributes (state class, the vector state as an extra attribute); the value is the
  write's wall-clock time. What any integration must spend to show these updates.

Goals (exit status 1 when missed): Switchboard within 3x the CPU of indipyclient alone and
within 1.5x the CPU of the floor.

Reported: latency p50/p95 (ms) and this process's CPU time per 1,000 updates (ms), with ratios
to the baseline. Usage: ``python benchmarks/indi_push.py [--updates 1000] [--rate 200]``.
"""

import argparse
import asyncio
from collections.abc import Callable
import contextlib
import gc
import os
from pathlib import Path
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from aiohttp.test_utils import unused_port

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEVICES = 10
VECTORS_PER_DEVICE = 100
BENCH_DEVICE = "Bench 0"
BENCH_VECTOR = "V000"


# ----------------------------------------------------------------------------- driver side


def serve(port: int, devices: int, vectors: int) -> None:
    """Run the benchmark driver (child process)."""
    from indipydriver import (
        Device,
        IPyDriver,
        NumberMember,
        NumberVector,
        SwitchMember,
        SwitchVector,
    )
    from indipyserver import IPyServer

    def build(index: int) -> Any:
        props = [
            NumberVector(
                f"V{v:03d}",
                f"Value {v}",
                "Main",
                "ro",
                "Ok",
                [NumberMember("VALUE", "Value", "%.6f", 0, 1e12, 0, 0)],
            )
            for v in range(vectors)
        ]
        if index == 0:
            props.append(
                NumberVector(
                    "RUN",
                    "Run",
                    "Control",
                    "rw",
                    "Ok",
                    [
                        NumberMember("COUNT", "Count", "%.0f", 0, 1e6, 1, 0),
                        NumberMember("RATE", "Rate", "%.0f", 0, 1e5, 1, 0),
                    ],
                )
            )
            props.append(
                SwitchVector(
                    "READY",
                    "Ready",
                    "Control",
                    "ro",
                    "OneOfMany",
                    "Ok",
                    [SwitchMember("YES", "Yes", "On"), SwitchMember("NO", "No", "Off")],
                )
            )
        return Device(f"Bench {index}", props)

    class Driver(IPyDriver):  # type: ignore[misc]
        async def rxevent(self, event: Any) -> None:
            if event.vectorname != "RUN":
                return
            count = int(float(event["COUNT"]))
            rate = float(event["RATE"])
            await event.vector.send_setVector(state="Ok")
            vector = self[BENCH_DEVICE][BENCH_VECTOR]
            interval = 1 / rate
            start = time.perf_counter()
            for i in range(count):
                delay = start + i * interval - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                vector["VALUE"] = f"{time.time():.6f}"
                await vector.send_setVector(state="Ok", allvalues=True)

    driver = Driver(*(build(i) for i in range(devices)))
    server = IPyServer(driver, host="127.0.0.1", port=port, maxconnections=5)
    asyncio.run(server.asyncrun())


# ----------------------------------------------------------------------------- measuring side


class Run:
    """Latencies and CPU of one measured run."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.latencies: list[float] = []
        self.done = asyncio.Event()
        self.cpu_start = 0.0
        self.cpu = 0.0

    def record(self, sent: float) -> None:
        if sent <= 0:
            return
        self.latencies.append(time.time() - sent)
        if len(self.latencies) >= self.count:
            self.done.set()

    def start(self) -> None:
        # Every row starts from a collected heap, so no row pays for garbage another made.
        gc.collect()
        self.cpu_start = time.process_time()

    def stop(self) -> None:
        self.cpu = time.process_time() - self.cpu_start


async def run_baseline(port: int, count: int, rate: float) -> Run:
    from indipyclient import IPyClient

    run = Run(count)
    ready = asyncio.Event()

    class Client(IPyClient):  # type: ignore[misc]
        async def rxevent(self, event: Any) -> None:
            if event.eventtype == "Define" and event.vectorname == "READY":
                ready.set()
            if (
                event.eventtype == "Set"
                and event.devicename == BENCH_DEVICE
                and event.vectorname == BENCH_VECTOR
            ):
                run.record(float(event.vector["VALUE"]))

    client = Client(indihost="127.0.0.1", indiport=port)
    task = asyncio.create_task(client.asyncrun())
    try:
        await asyncio.wait_for(ready.wait(), 30)
        await asyncio.sleep(1.0)  # let the remaining definitions arrive
        run.start()
        await client.send_newVector(
            BENCH_DEVICE, "RUN", members={"COUNT": str(count), "RATE": str(rate)}
        )
        await asyncio.wait_for(run.done.wait(), count / rate + 30)
        run.stop()
    finally:
        client.shutdown()
        await asyncio.wait_for(task, 10)
    return run


async def run_client(port: int, count: int, rate: float) -> Run:
    from custom_components.switchboard.vendors.indi.client import Defined, IndiClient, Updated

    run = Run(count)
    ready = asyncio.Event()

    def on_event(event: Any) -> None:
        if isinstance(event, Defined) and event.vector.name == "READY":
            ready.set()
        elif isinstance(event, Updated) and event.vector.key == (BENCH_DEVICE, BENCH_VECTOR):
            value = event.vector.members["VALUE"].value
            run.record(value if isinstance(value, float) else 0.0)

    client = IndiClient("127.0.0.1", port, on_event=on_event)
    task = asyncio.create_task(client.async_run())
    try:
        await asyncio.wait_for(ready.wait(), 30)
        await asyncio.sleep(1.0)
        run.start()
        await client.async_send_new_vector(BENCH_DEVICE, "RUN", {"COUNT": count, "RATE": rate})
        await asyncio.wait_for(run.done.wait(), count / rate + 30)
        run.stop()
    finally:
        await client.async_close()
        await task
    return run


async def run_switchboard(port: int, count: int, rate: float) -> tuple[Run, int]:
    from homeassistant import loader
    from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE, EVENT_STATE_CHANGED
    from homeassistant.core import Event, callback
    from homeassistant.helpers import entity_registry as er
    from pytest_homeassistant_custom_component.common import (
        MockConfigEntry,
        async_test_home_assistant,
    )

    run = Run(count)
    with tempfile.TemporaryDirectory() as config_dir:
        os.symlink(ROOT / "custom_components", Path(config_dir) / "custom_components")
        async with async_test_home_assistant(config_dir=config_dir) as hass:
            hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)
            entry = MockConfigEntry(
                domain="switchboard",
                unique_id=f"127.0.0.1:{port}",
                data={"family": "indi", "host": "127.0.0.1", "port": port, "devices": []},
            )
            entry.add_to_hass(hass)
            assert await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
            hub = entry.runtime_data.runtime.hub
            async with asyncio.timeout(30):
                while (BENCH_DEVICE, "READY") not in hub.client.vectors or len(  # noqa: ASYNC110 (waits on another component)
                    hub.client.vectors
                ) < DEVICES * VECTORS_PER_DEVICE:
                    await asyncio.sleep(0.1)
            await hass.async_block_till_done()
            entity_id = er.async_get(hass).async_get_entity_id(
                "sensor", "switchboard", f"127.0.0.1:{port}/{BENCH_DEVICE}_{BENCH_VECTOR}.VALUE"
            )
            assert entity_id is not None
            entities = len(hass.states.async_all())
            # Write the registries' pending saves now (as at shutdown): their delayed write
            # of 1,000 new entities would otherwise land inside the measured window.
            hass.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)
            await hass.async_block_till_done()

            @callback
            def on_state(event: Event[Any]) -> None:
                if event.data["entity_id"] == entity_id and (new := event.data["new_state"]):
                    with contextlib.suppress(ValueError):
                        run.record(float(new.state))

            unsubscribe: Callable[[], None] = hass.bus.async_listen(EVENT_STATE_CHANGED, on_state)
            run.start()
            await hub.client.async_send_new_vector(
                BENCH_DEVICE, "RUN", {"COUNT": count, "RATE": rate}
            )
            await asyncio.wait_for(run.done.wait(), count / rate + 60)
            run.stop()
            unsubscribe()
            await hass.config_entries.async_unload(entry.entry_id)
            await hass.async_block_till_done()
    return run, entities


async def run_floor(count: int, rate: float, entities: int) -> Run:
    """Plain sensor entities on a platform of their own; one is written ``count`` times."""
    from homeassistant.components.sensor import SensorEntity, SensorStateClass
    from homeassistant.const import EVENT_STATE_CHANGED
    from homeassistant.core import Event, HomeAssistant, callback
    from homeassistant.helpers.entity_platform import AddEntitiesCallback
    from homeassistant.setup import async_setup_component
    from pytest_homeassistant_custom_component.common import (
        MockModule,
        MockPlatform,
        async_test_home_assistant,
        mock_integration,
        mock_platform,
    )

    class PlainSensor(SensorEntity):
        _attr_has_entity_name = True
        _attr_state_class = SensorStateClass.MEASUREMENT
        _attr_extra_state_attributes = {"state": "Ok"}
        _attr_should_poll = False

        def __init__(self, index: int) -> None:
            self._attr_name = f"Value {index}"
            self._attr_unique_id = f"floor_{index}"
            self._attr_native_value = 0.0

    plain = [PlainSensor(i) for i in range(entities)]

    async def setup_platform(
        hass: HomeAssistant, config: Any, add: AddEntitiesCallback, info: Any = None
    ) -> None:
        add(plain)

    run = Run(count)
    with tempfile.TemporaryDirectory() as config_dir:
        async with async_test_home_assistant(config_dir=config_dir) as hass:
            mock_integration(hass, MockModule("floor"))
            mock_platform(hass, "floor.sensor", MockPlatform(async_setup_platform=setup_platform))
            assert await async_setup_component(hass, "sensor", {"sensor": {"platform": "floor"}})
            await hass.async_block_till_done()
            target = plain[0]
            entity_id = target.entity_id

            @callback
            def on_state(event: Event[Any]) -> None:
                if event.data["entity_id"] == entity_id and (new := event.data["new_state"]):
                    with contextlib.suppress(ValueError):
                        run.record(float(new.state))

            unsubscribe = hass.bus.async_listen(EVENT_STATE_CHANGED, on_state)
            loop = asyncio.get_running_loop()
            run.start()
            start = loop.time()
            for i in range(count):
                delay = start + i / rate - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                target._attr_native_value = round(time.time(), 6)
                target.async_write_ha_state()
            await asyncio.wait_for(run.done.wait(), 30)
            run.stop()
            unsubscribe()
    return run


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


async def main_async(port: int, count: int, rate: float) -> bool:
    async with asyncio.timeout(20):
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            except OSError:
                await asyncio.sleep(0.05)
    baseline = await run_baseline(port, count, rate)
    client = await run_client(port, count, rate)
    switchboard, entities = await run_switchboard(port, count, rate)
    floor = await run_floor(count, rate, entities)

    print(
        f"INDI push: {DEVICES * VECTORS_PER_DEVICE} number vectors on {DEVICES} devices, "
        f"{count} setNumberVector of one vector at {rate:g}/s; Switchboard entities: {entities}"
    )
    header = (
        f"{'path':<34}{'p50 ms':>9}{'p95 ms':>9}{'CPU ms/1000':>13}"
        f"{'vs indipyclient':>17}{'vs floor':>10}"
    )
    print(header)
    print("-" * len(header))
    rows = (
        ("baseline: indipyclient alone", baseline),
        ("IndiClient alone", client),
        ("Switchboard (HA entity state)", switchboard),
        ("Home Assistant floor", floor),
    )
    for name, run in rows:
        print(
            f"{name:<34}{percentile(run.latencies, 50) * 1000:>9.2f}"
            f"{percentile(run.latencies, 95) * 1000:>9.2f}{run.cpu / count * 1e6:>13.1f}"
            f"{run.cpu / baseline.cpu:>16.2f}x{run.cpu / floor.cpu:>9.2f}x"
        )
    goals = (
        ("Switchboard within 3x of indipyclient", switchboard.cpu / baseline.cpu, 3.0),
        ("Switchboard within 1.5x of the floor", switchboard.cpu / floor.cpu, 1.5),
    )
    missed = False
    for text, ratio, limit in goals:
        met = ratio <= limit
        missed |= not met
        print(f"goal: {text}: {ratio:.2f}x -> {'met' if met else 'MISSED'}")
    return not missed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--updates", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, DEVICES, VECTORS_PER_DEVICE)
        return
    port = unused_port()
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        met = asyncio.run(main_async(port, args.updates, args.rate))
    finally:
        child.terminate()
        child.wait(10)
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
