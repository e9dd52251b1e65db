"""MaxSmart command latency: switch service call -> entity state, beside maxsmart's own polling.

One emulated 6-port strip (``emulators/maxsmart.py``, firmware 1.30) on 127.0.0.1:80 with
discovery on UDP 8888, the ports the ``maxsmart`` library hard-codes (so this needs root or
CAP_NET_BIND_SERVICE). Measured in one run against the same emulator:

* **switchboard**: Home Assistant in-process (``async_test_home_assistant``, temp config dir)
  with a Switchboard config entry for the strip; port 1 is toggled N times (default 50) with
  ``switch.turn_on`` / ``switch.turn_off``; latency = service call start -> the entity's
  ``state_changed`` event carrying the new state.
* **baseline**: ``maxsmart`` 2.1.0 alone, ``start_adaptive_polling()`` with its default
  intervals (5 s normal, 2 s burst for 4 polls after a command) and a
  ``register_poll_callback``; latency = ``turn_on`` / ``turn_off`` start -> the first poll
  callback whose ``switch`` shows the new state. Each baseline command waits a random
  (seeded) part of the 5 s normal interval first, so commands do not lock onto the poll
  phase; because every sample takes seconds, the baseline takes fewer samples (default 10).

Home Assistant reports no network adapters here, so its background discovery sends nothing
beyond loopback. Prints a Markdown table (p50/p95 in ms, p95 ratio baseline / path) and
whether the goals are met: switchboard p95 < 100 ms and at least 10 times better than the
baseline p95. The ratio column is the row's p95 / the baseline's p95 (lower is better), as in
``docs/benchmarks.md``. Stops by itself (every phase is bounded) and leaves nothing running.

Usage: ``python benchmarks/command_latency.py [--samples 50] [--baseline-samples 10]``.
"""

import argparse
import asyncio
from collections.abc import Callable
import contextlib
import errno
import logging
import os
from pathlib import Path
import random
import statistics
import sys
import tempfile
import time
from typing import Any
from unittest.mock import patch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emulators.maxsmart import MaxSmartEmulator  # noqa: E402

HOST = "127.0.0.1"
HTTP_PORT = 80
UDP_PORT = 8888
SERIAL = "SWP6023002009001"
PORT = 1
"""The strip port that is toggled (1-based)."""
GOAL_P95_MS = 100.0
GOAL_RATIO = 10.0
RUN_TIMEOUT = 600.0
"""Upper bound of the whole run in seconds."""


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (inclusive method, linear interpolation)."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1]


async def run_switchboard(emulator: MaxSmartEmulator, samples: int) -> list[float]:
    """Toggle port 1 through switch services; return latencies in seconds."""
    from homeassistant import loader
    from homeassistant.const import ATTR_ENTITY_ID, EVENT_STATE_CHANGED, STATE_OFF, STATE_ON
    from homeassistant.core import Event
    from homeassistant.helpers import entity_registry as er
    from pytest_homeassistant_custom_component.common import (
        MockConfigEntry,
        async_test_home_assistant,
    )

    latencies: list[float] = []
    with (
        tempfile.TemporaryDirectory() as config_dir,
        # No adapters: background discovery broadcasts nowhere (as in the tests).
        patch("homeassistant.components.network.async_get_adapters", return_value=[]),
    ):
        os.symlink(ROOT / "custom_components", Path(config_dir) / "custom_components")
        async with async_test_home_assistant(config_dir=config_dir) as hass:
            hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)
            entry = MockConfigEntry(
                domain="switchboard",
                title=emulator.name,
                unique_id=emulator.serial,
                data={
                    "family": "maxsmart",
                    "host": HOST,
                    "port": emulator.http_port,
                    "discovery_port": emulator.udp_port,
                    "serial": emulator.serial,
                    "mac": emulator.mac.lower(),
                },
            )
            entry.add_to_hass(hass)
            assert await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
            entity_id = er.async_get(hass).async_get_entity_id(
                "switch", "switchboard", f"{emulator.serial}_port_{PORT}"
            )
            assert entity_id is not None, "port switch entity not created"

            expected: list[str] = []
            seen = asyncio.Event()
            seen_at = 0.0

            def on_state(event: Event[Any]) -> None:
                nonlocal seen_at
                new = event.data["new_state"]
                if (
                    event.data["entity_id"] == entity_id
                    and new is not None
                    and expected
                    and new.state == expected[0]
                    and not seen.is_set()
                ):
                    seen_at = time.perf_counter()
                    seen.set()

            unsubscribe: Callable[[], None] = hass.bus.async_listen(EVENT_STATE_CHANGED, on_state)
            rng = random.Random(2)
            try:
                for index in range(samples):
                    current = hass.states.get(entity_id)
                    assert current is not None
                    target = STATE_OFF if current.state == STATE_ON else STATE_ON
                    expected[:] = [target]
                    seen.clear()
                    started = time.perf_counter()
                    call = asyncio.ensure_future(
                        hass.services.async_call(
                            "switch",
                            "turn_off" if target == STATE_OFF else "turn_on",
                            {ATTR_ENTITY_ID: entity_id},
                            blocking=True,
                        )
                    )
                    async with asyncio.timeout(10):
                        await seen.wait()
                        await call
                    latencies.append(seen_at - started)
                    assert emulator.switch[PORT - 1] is (target == STATE_ON), index
                    # A short random pause, so commands also meet polls in flight.
                    await asyncio.sleep(rng.uniform(0.0, 0.2))
            finally:
                unsubscribe()
                assert await hass.config_entries.async_unload(entry.entry_id)
                await hass.async_block_till_done()
    return latencies


async def run_baseline(emulator: MaxSmartEmulator, samples: int) -> list[float]:
    """Toggle port 1 with maxsmart and wait for its adaptive poll; latencies in seconds."""
    from maxsmart import MaxSmartDevice

    device = MaxSmartDevice(HOST, protocol="http", sn=emulator.serial)
    latencies: list[float] = []
    expected: list[int] = []
    seen = asyncio.Event()
    seen_at = 0.0

    def on_poll(poll: dict[str, Any]) -> None:
        nonlocal seen_at
        switch = poll.get("device_data", {}).get("switch")
        if expected and switch and switch[PORT - 1] == expected[0] and not seen.is_set():
            seen_at = time.perf_counter()
            seen.set()

    rng = random.Random(1)
    try:
        async with asyncio.timeout(60):
            await device.initialize_device()
        device.register_poll_callback("benchmark", on_poll)
        await device.start_adaptive_polling()
        await asyncio.sleep(0.5)
        for index in range(samples):
            # Land anywhere in the normal polling cycle.
            await asyncio.sleep(rng.uniform(0.0, device.NORMAL_INTERVAL))
            target = 0 if emulator.switch[PORT - 1] else 1
            expected[:] = [target]
            seen.clear()
            started = time.perf_counter()
            async with asyncio.timeout(30):
                if target:
                    await device.turn_on(PORT)
                else:
                    await device.turn_off(PORT)
                await seen.wait()
            latencies.append(seen_at - started)
            assert emulator.switch[PORT - 1] is bool(target), index
    finally:
        device.unregister_poll_callback("benchmark")
        await device.close()
    return latencies


async def main_async(samples: int, baseline_samples: int) -> bool:
    """Run both paths against one emulator, print the table; True if the goals are met."""
    emulator = MaxSmartEmulator(
        HOST,
        HTTP_PORT,
        UDP_PORT,
        serial=SERIAL,
        name="Bench",
        port_count=6,
        firmware="1.30",
        mac="bc:2b:00:00:90:01",
        port_names=["Lamp", "B", "C", "D", "E", "F"],
    )
    try:
        await emulator.start()
    except OSError as err:
        reason = "in use" if err.errno == errno.EADDRINUSE else "needs root or CAP_NET_BIND_SERVICE"
        raise SystemExit(
            f"cannot bind {HOST}:{HTTP_PORT} / UDP {UDP_PORT} ({reason}): {err}"
        ) from err
    try:
        async with asyncio.timeout(RUN_TIMEOUT):
            ours = await run_switchboard(emulator, samples)
            baseline = await run_baseline(emulator, baseline_samples)
    finally:
        await emulator.stop()

    rows = [
        ("switchboard: switch service -> entity state", ours),
        ("baseline: maxsmart 2.1.0 adaptive polling (5 s / 2 s)", baseline),
    ]
    base_p95 = percentile(baseline, 95)
    print(
        f"MaxSmart command latency, emulated strip on {HOST}:{HTTP_PORT} (loopback), "
        f"port {PORT} toggled; baseline limited to {len(baseline)} samples "
        f"(each takes up to 5 s), command at a random point of its 5 s cycle."
    )
    print()
    print("| path | n | p50 ms | p95 ms | ratio vs baseline |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, values in rows:
        p50 = percentile(values, 50) * 1000
        p95 = percentile(values, 95) * 1000
        print(f"| {name} | {len(values)} | {p50:.1f} | {p95:.1f} | {p95 / 1000 / base_p95:.4f} |")
    print()
    print("Ratio = p95 of the row / p95 of the baseline (lower is better).")
    our_p95 = percentile(ours, 95) * 1000
    ratio = base_p95 * 1000 / our_p95
    under = our_p95 < GOAL_P95_MS
    better = ratio >= GOAL_RATIO
    print(
        f"Goals: p95 {our_p95:.1f} ms < {GOAL_P95_MS:.0f} ms: {'met' if under else 'NOT met'}; "
        f"{ratio:.0f}x better than the baseline p95 (>= {GOAL_RATIO:.0f}x): "
        f"{'met' if better else 'NOT met'}."
    )
    return under and better


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--samples", type=int, default=50, help="Switchboard toggles (50)")
    parser.add_argument(
        "--baseline-samples", type=int, default=10, help="maxsmart toggles (10, ~5 s each)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    with contextlib.suppress(KeyboardInterrupt):
        met = asyncio.run(main_async(args.samples, args.baseline_samples))
        sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
