"""SEPL platform connector benchmark, beside the MQTT bridge exporting the same entities.

One Home Assistant (``async_test_home_assistant``) with one Switchboard entry of the benchmark
family of ``benchmarks/mqtt_bridge.py`` (50 devices x 10 attributes: 9 numeric sensors and a
switch, so 500 entities), its MQTT bridge on (a real mosquitto, Debian's binary, and an
independent paho subscriber as in ``mqtt_bridge.py``), and one SEPL platform connector entry
exposing the same 500 entities to the emulated platform (``emulators/sepl.py``, in the same
event loop as Home Assistant: its JSON parsing and event formatting are counted in the run).

* **first synchronisation**: from setting the connector entry up until the platform committed
  the gateway hash of all 500 devices (handshake, ``clear``, 500 ``put``, ``commit``).
* **event rate**: every numeric attribute of every device changes at once (coordinator push,
  450 entity state changes); events per second until the platform accepted the last one,
  beside the bridge's messages per second until the subscriber received the last one.
* **command -> response p95**: a platform command ``turn_on`` / ``turn_off`` on a switch entity
  until its response arrives on the platform, beside the bridge's command -> result p95.

Goals (issue 10): synchronisation of 500 devices under 5 s, event rate at least the bridge's,
command -> response p95 under 50 ms. Exits non-zero when a goal is missed.
Usage: ``python benchmarks/sepl_connector.py [--devices 50] [--rounds 5] [--samples 200]``.
"""

import argparse
import asyncio
from pathlib import Path
import statistics
import sys
import time
from typing import cast

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.mqtt_bridge import (  # noqa: E402
    ATTRIBUTES,
    BASE,
    bench_fleet,
    bridge_command,
    p95,
    push_all,
    wait_until,
)

SYNC_GOAL_S = 5.0
COMMAND_GOAL_MS = 50.0
USER = "bench"
PASSWORD = "bench-password"


async def run(devices: int, rounds: int, samples: int) -> dict[str, tuple[float, float | None]]:
    from pytest_homeassistant_custom_component.common import MockConfigEntry

    from emulators.sepl import SeplPlatform

    results: dict[str, tuple[float, float | None]] = {}
    async with (
        SeplPlatform(users={USER: PASSWORD}) as platform,
        bench_fleet(devices) as fleet,
    ):
        hass, coordinator, subscriber = fleet.hass, fleet.coordinator, fleet.subscriber

        # First complete synchronisation of the connector.
        connector_entry = MockConfigEntry(
            domain="switchboard",
            data={
                "exporter": "sepl",
                "url": platform.url,
                "username": USER,
                "password": PASSWORD,
                "verify_ssl": True,
                "gateway_id": "",
            },
        )
        connector_entry.add_to_hass(hass)
        start = time.monotonic()
        assert await hass.config_entries.async_setup(connector_entry.entry_id)
        connector = connector_entry.runtime_data
        client = connector.client
        exposed = len(connector.exposed())

        def synced() -> bool:
            gateway = platform.gateways.get(client.gateway_id)
            return (
                client.ready
                and gateway is not None
                and len(gateway.devices) == exposed
                and gateway.hash == client.local_hash()
            )

        await wait_until(synced)
        results[f"first synchronisation of {exposed} devices (s)"] = (
            time.monotonic() - start,
            None,
        )
        await wait_until(lambda: len(platform.events) >= exposed)
        await asyncio.sleep(0.5)

        # Event rate vs the bridge's publish rate: every numeric attribute changes.
        total = devices * (ATTRIBUTES - 1)
        sepl_rates: list[float] = []
        bridge_rates: list[float] = []
        for value in range(1, rounds + 1):
            events_before = len(platform.events)
            messages_before = subscriber.count(BASE)
            start = time.monotonic()
            push_all(coordinator, value)
            await wait_until(lambda b=events_before: len(platform.events) - b >= total)
            sepl_rates.append(total / (time.monotonic() - start))
            await wait_until(lambda m=messages_before: subscriber.count(BASE) - m >= total)
            bridge_rates.append(total / (time.monotonic() - start))
            await asyncio.sleep(0.5)
        results["event rate (msg/s)"] = (
            statistics.median(sepl_rates),
            statistics.median(bridge_rates),
        )

        # Command -> response: platform command vs bridge command.
        uris = {
            entity_id: uri
            for entity_id, uri in connector.exposed().items()
            if entity_id.startswith("switch.")
        }
        switches = sorted(uris)
        sepl_latency: list[float] = []
        for n in range(samples):
            entity_id = switches[n % len(switches)]
            action = "turn_on" if (n // len(switches)) % 2 == 0 else "turn_off"
            start = time.monotonic()
            response = await platform.async_command(USER, uris[entity_id], action)
            sepl_latency.append(time.monotonic() - start)
            assert response["outputs"]["status"] == 200, response
        ids = sorted(coordinator.data)
        bridge_latency: list[float] = []
        for n in range(samples):
            device_id = ids[n % len(ids)]
            action = "turn_on" if (n // len(ids)) % 2 == 0 else "turn_off"
            start, result_at = await bridge_command(subscriber, device_id, action, f"s{n}")
            bridge_latency.append(result_at - start)
        results["command -> response p95 (ms)"] = (p95(sepl_latency), p95(bridge_latency))
        assert client.stats.error_replies == 0
        assert await hass.config_entries.async_unload(connector_entry.entry_id)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    results = asyncio.run(run(args.devices, args.rounds, args.samples))
    print(
        f"\n{args.devices} devices x {ATTRIBUTES} attributes = {args.devices * ATTRIBUTES} "
        "entities; baseline: the MQTT bridge exporting the same entities in the same run\n"
    )
    print(f"| {'metric':<40} | {'SEPL connector':>14} | {'MQTT bridge':>11} | {'ratio':>6} |")
    print(f"|{'-' * 42}|{'-' * 16}:|{'-' * 13}:|{'-' * 7}:|")
    for metric, (ours, baseline) in results.items():
        other = f"{baseline:>11.1f}" if baseline is not None else f"{'-':>11}"
        ratio = f"{ours / baseline:>6.2f}" if baseline else f"{'-':>6}"
        print(f"| {metric:<40} | {ours:>14.1f} | {other} | {ratio} |")
    sync = next(value for metric, (value, _) in results.items() if metric.startswith("first"))
    events, bridge_events = results["event rate (msg/s)"]
    command, _ = results["command -> response p95 (ms)"]
    missed = [
        text
        for text, ok in (
            (f"synchronisation {sync:.1f} s >= {SYNC_GOAL_S} s", sync < SYNC_GOAL_S),
            (
                f"event rate {events:.0f}/s below the bridge's {bridge_events:.0f}/s",
                events >= cast(float, bridge_events),
            ),
            (
                f"command -> response p95 {command:.1f} ms >= {COMMAND_GOAL_MS} ms",
                command < COMMAND_GOAL_MS,
            ),
        )
        if not ok
    ]
    print("\ngoals: " + ("all met" if not missed else "MISSED: " + "; ".join(missed)))
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
