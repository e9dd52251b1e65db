"""Soak: Switchboard under random faults and random commands for a long time.

One run starts, on loopback only, what ``benchmarks/scale.py`` starts (its helpers are reused):
``--strips`` emulated MaxSmart strips, a Meross cloud with ``--meross`` plugs on a TLS mosquitto,
an INDI server (``emulators.indi``, the fault-injecting front), a plain mosquitto for Home
Assistant's ``mqtt`` integration with the Switchboard MQTT bridge on for every entry, and Home
Assistant in its own process with ``benchmarks/scale_probe`` loaded. Then, for ``--duration``
seconds:

* a fault injector picks a random fault every ``--fault-interval`` seconds (on average), holds
  it 1-6 s and clears it, with the fault matrix's switches (``tests/reliability``): a strip's
  HTTP faults (no answer, garbage, half a reply then a stall, connection closed mid-reply, late
  answer, restart), a Meross plug's (silent, garbage replies, late answer, off its broker), INDI
  garbage between elements or a server restart, a restart of the Meross broker or of the
  bridge's broker;
* a client toggles a random available switch about once a second (``scale_probe.command``):
  each command is confirmed (the state reached the target), failed with an error, or lost.

At the end every fault is cleared, all entities must be available again, and the summary is
printed. Criteria (exit status 1 when one fails): no command lost; resident memory grew by at
most 10 %; asyncio tasks and open sockets of Home Assistant equal at start and end; no
error-level log line that an injected fault does not explain (a line is explained when it
names a device or broker under a fault, or cleared less than ``GRACE`` s ago, and carries no
traceback).

Not yet in the run: the Midea family and the SEPL connector (their emulators exist; their
entries are not added here yet).

Usage: ``python benchmarks/soak.py [--duration 1800] [--quick]``; ``--quick``: 120 s, 3 strips,
2 plugs.
"""

import argparse
import asyncio
import contextlib
from dataclasses import dataclass, field
import os
from pathlib import Path
import random
import re
import sys
import tempfile
import time

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import aiohttp  # noqa: E402
from aiohttp.test_utils import unused_port  # noqa: E402
from scale import (  # noqa: E402
    add_entries,
    call_probe,
    count_available,
    emulated_strips,
    onboard_with_meross,
    prepare,
    proc_rss_mb,
    running_hass,
    start_meross_cloud,
    stop_emulators,
    stored_entries,
    wait_api,
)

from devtools.develop.hass import HassClient  # noqa: E402
from emulators.indi import IndiEmulator  # noqa: E402
from emulators.meross import MerossCloudEmulator  # noqa: E402
from emulators.mosquitto import Mosquitto  # noqa: E402
from tests.reliability.faults import (  # noqa: E402
    IndiFaults,
    PeerFaults,
    PlugFaults,
    StripFaults,
)

GRACE = 30.0
"""Seconds after a fault is cleared during which its error lines are still its own."""
MEMORY_GROWTH = 0.10
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ (\w+) ")


@dataclass
class Fault:
    """One injected fault: what, on which target, the names its log lines would carry."""

    target: str
    kind: str
    names: tuple[str, ...]
    cleared_at: float | None = None


@dataclass
class Tally:
    """What the run counted."""

    issued: int = 0
    confirmed: int = 0
    failed: int = 0
    lost: int = 0
    lost_detail: list[str] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    faults: dict[str, int] = field(default_factory=dict)
    explained_errors: int = 0
    unexplained: list[str] = field(default_factory=list)


class BrokerFaults(PeerFaults):
    """A mosquitto's restart: stopped by ``inject``, started again (same port) by ``clear``."""

    faults = frozenset({"restart"})

    def __init__(self, broker: Mosquitto) -> None:
        """Faults of ``broker``."""
        self.broker = broker

    async def inject(self, fault: str) -> None:
        """Stop the broker."""
        await self.broker.stop()

    async def clear(self, fault: str) -> None:
        """Start it again."""
        await self.broker.start()


class LogWatcher:
    """Reads Home Assistant's log as it grows and sorts error entries by the faults active then."""

    def __init__(self, path: Path, tally: Tally) -> None:
        """Start reading at the log's current end."""
        self.path = path
        self.tally = tally
        self.offset = path.stat().st_size if path.exists() else 0
        self.active: list[Fault] = []
        self._entry: list[str] = []
        self._entry_names: set[str] = set()

    def _names(self) -> set[str]:
        return {name for fault in self.active for name in fault.names}

    def poll(self) -> None:
        """Read what was appended; judge each complete entry against the active faults."""
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            data = handle.read()
        end = data.rfind(b"\n") + 1
        self.offset += end
        for line in data[:end].decode(errors="replace").splitlines():
            if LOG_LINE.match(line):
                if self._entry:
                    self._judge(self._entry)
                # Judged against the faults active when its first line was read (the entry
                # ends only when the next one starts, which can be minutes later).
                self._entry, self._entry_names = [], self._names()
            self._entry.append(line)
        now = time.monotonic()
        self.active = [f for f in self.active if f.cleared_at is None or now - f.cleared_at < GRACE]

    def finish(self) -> None:
        """Judge the last entry."""
        self.poll()
        if self._entry:
            self._judge(self._entry)
            self._entry = []

    def _judge(self, entry: list[str]) -> None:
        match = LOG_LINE.match(entry[0])
        if match is None or match.group(1) not in ("ERROR", "CRITICAL"):
            return
        text = "\n".join(entry)
        traceback = "Traceback (most recent call last)" in text
        if not traceback and any(name in text for name in self._entry_names):
            self.tally.explained_errors += 1
        else:
            self.tally.unexplained.append(text[:2000])


async def sample_resources(hass: HassClient) -> tuple[int, int]:
    """(asyncio tasks, open sockets) of Home Assistant: the least of five samples 1 s apart.

    A poll or a command in flight adds a task and a socket for a moment; the least of a few
    samples is the steady count.
    """
    samples = []
    for _ in range(5):
        found = await call_probe(hass, "resources", {})
        samples.append((int(found["tasks"]), int(found["sockets"])))
        await asyncio.sleep(1)
    return min(s[0] for s in samples), min(s[1] for s in samples)


async def wait_all_available(hass: HassClient, limit: float) -> tuple[int, int]:
    """Wait until every Switchboard entity is available (at most ``limit`` s)."""
    deadline = time.monotonic() + limit
    while True:
        total, available = await count_available(hass, "switchboard")
        if (total and total == available) or time.monotonic() > deadline:
            return total, available
        await asyncio.sleep(1)


async def soak(args: argparse.Namespace, tmp: Path) -> bool:
    """Start everything, soak, print the summary; return whether every criterion holds."""
    config_dir = tmp / "soak"
    config_dir.mkdir()
    port = unused_port()
    prepare(config_dir, port)
    url = f"http://127.0.0.1:{port}"
    rng = random.Random(args.seed)
    strips = emulated_strips(args.strips, first_host=40, name="Soak Strip", mac_group=1)
    meross_broker = Mosquitto(tls=True, allow_anonymous=False, anonymous_tls_listener=True)
    ha_broker = Mosquitto(tls=False)
    indi = IndiEmulator("127.0.0.1", 0, command_delay=0.05)
    cloud: MerossCloudEmulator | None = None
    tally = Tally()
    tasks: list[asyncio.Task[None]] = []
    try:
        for strip in strips:
            await strip.start()
        await indi.start()
        await meross_broker.start()
        await ha_broker.start()
        cloud, plugs = await start_meross_cloud(meross_broker, args.meross, "Soak Plug")
        log = config_dir / "hass-console.log"
        async with aiohttp.ClientSession() as session:
            hass = HassClient(session, url)
            await onboard_with_meross(hass, session, config_dir, log, cloud.url)
            add_entries(config_dir, stored_entries(ha_broker.port, indi.port, strips))
            async with running_hass(config_dir, log) as process:
                await process.start()
                assert process.process is not None
                pid = process.process.pid
                await wait_api(hass, process, limit=300)
                total, available = await wait_all_available(hass, 120)
                if not total or total != available:
                    raise RuntimeError(f"{total - available} of {total} entities unavailable")
                await asyncio.sleep(args.settle)
                switches = sorted(
                    e
                    for e in await hass.integration_entities("switchboard")
                    if e.startswith("switch.")
                )
                rss_start = proc_rss_mb(pid)
                tasks_start, sockets_start = await sample_resources(hass)
                watcher = LogWatcher(config_dir / "home-assistant.log", tally)
                indi_faults = IndiFaults(indi)
                stop = asyncio.Event()
                strip_names = {strip.name for strip in strips}
                ends = time.monotonic() + args.duration

                def choose() -> tuple[Fault, PeerFaults]:
                    """A random fault: what and where, and the peer's switches."""
                    roll = rng.random()
                    peer: PeerFaults
                    if roll < 0.6:
                        strip = rng.choice(strips)
                        peer = StripFaults(strip)
                        fault = Fault(strip.name, "", (strip.name, strip.host))
                    elif roll < 0.75:
                        names = ("INDI", "Switchboard Plug", "Switchboard Lamp", str(indi.port))
                        peer = indi_faults
                        fault = Fault("INDI", "", names)
                    elif roll < 0.85:
                        plug = rng.choice(plugs)
                        peer = PlugFaults(plug)
                        fault = Fault("Meross plug", "", (plug.name, "Meross"))
                    elif roll < 0.92:
                        peer = BrokerFaults(meross_broker)
                        names = ("Meross", "meross", "Soak Plug", str(meross_broker.port))
                        fault = Fault("Meross broker", "", names)
                    else:
                        peer = BrokerFaults(ha_broker)
                        fault = Fault("bridge broker", "", ("mqtt", "MQTT", str(ha_broker.port)))
                    fault.kind = rng.choice(sorted(peer.faults))
                    return fault, peer

                async def injector() -> None:
                    while time.monotonic() < ends:
                        await asyncio.sleep(rng.uniform(0.5, 1.5) * args.fault_interval)
                        if time.monotonic() >= ends:
                            break
                        fault, peer = choose()
                        family = "MaxSmart strip" if fault.target in strip_names else fault.target
                        key = f"{family} {fault.kind}"
                        tally.faults[key] = tally.faults.get(key, 0) + 1
                        watcher.active.append(fault)
                        await peer.inject(fault.kind)
                        await asyncio.sleep(rng.uniform(1, 6))
                        await peer.clear(fault.kind)
                        fault.cleared_at = time.monotonic()

                async def client() -> None:
                    while time.monotonic() < ends:
                        await asyncio.sleep(rng.uniform(0.5, 1.5))
                        states = await hass.states()
                        ready = [
                            e for e in switches if states.get(e, {}).get("state") in ("on", "off")
                        ]
                        if not ready:
                            continue
                        entity_id = rng.choice(ready)
                        tally.issued += 1
                        result = await call_probe(
                            hass, "command", {"entity_id": entity_id, "timeout": 20}
                        )
                        if result["outcome"] == "confirmed":
                            tally.confirmed += 1
                        elif result["outcome"] == "error":
                            tally.failed += 1
                            tally.errors[result["error"]] = tally.errors.get(result["error"], 0) + 1
                        else:
                            tally.lost += 1
                            tally.lost_detail.append(f"{entity_id}: {result}")

                async def reader() -> None:
                    while not stop.is_set():
                        watcher.poll()
                        await asyncio.sleep(0.5)

                tasks = [asyncio.create_task(c()) for c in (injector, client, reader)]
                await asyncio.gather(tasks[0], tasks[1])
                total, available = await wait_all_available(hass, 120)
                await asyncio.sleep(args.settle)
                rss_end = proc_rss_mb(pid)
                tasks_end, sockets_end = await sample_resources(hass)
                stop.set()
                await tasks[2]
                watcher.finish()
    finally:
        for task in tasks:
            task.cancel()
        await stop_emulators(cloud, strips, (meross_broker, ha_broker))
        with contextlib.suppress(Exception):
            await indi.stop()

    growth = (rss_end - rss_start) / rss_start
    print(
        f"Soak: {args.duration:g} s; {args.strips} MaxSmart strips, {args.meross} Meross plugs, "
        f"1 INDI server (2 devices), MQTT bridge on every entry; a fault every "
        f"~{args.fault_interval:g} s, a command every ~1 s; {os.cpu_count()} CPUs"
    )
    print("faults injected: " + ", ".join(f"{k} {n}" for k, n in sorted(tally.faults.items())))
    print(
        f"commands issued {tally.issued}, confirmed {tally.confirmed}, "
        f"failed with an error {tally.failed}, lost {tally.lost}"
    )
    if tally.errors:
        print("errors: " + ", ".join(f"{k} {n}" for k, n in sorted(tally.errors.items())))
    for line in tally.lost_detail[:10]:
        print(f"  lost: {line}")
    print(f"entities at the end: {available} of {total} available")
    print(f"RSS (MiB) start {rss_start:.1f}, end {rss_end:.1f} ({growth * 100:+.1f} %)")
    print(f"asyncio tasks start {tasks_start}, end {tasks_end}")
    print(f"open sockets start {sockets_start}, end {sockets_end}")
    print(
        f"error log entries: {tally.explained_errors} explained by an injected fault, "
        f"{len(tally.unexplained)} not"
    )
    for text in tally.unexplained[:10]:
        print("  unexplained: " + text.replace("\n", "\n    "))
    criteria = [
        ("no command lost", tally.lost == 0 and tally.issued > 0),
        ("every entity available again", total == available and total > 0),
        (f"RSS grew <= {MEMORY_GROWTH * 100:g} %", growth <= MEMORY_GROWTH),
        ("asyncio tasks equal", tasks_start == tasks_end),
        ("open sockets equal", sockets_start == sockets_end),
        ("no unexplained error log entry", not tally.unexplained),
    ]
    for text, met in criteria:
        print(f"criterion: {text}: {'met' if met else 'FAILED'}")
    return all(met for _, met in criteria)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=float, default=1800.0, help="seconds of soak")
    parser.add_argument("--quick", action="store_true", help="120 s with fewer devices")
    parser.add_argument("--strips", type=int, default=10)
    parser.add_argument("--meross", type=int, default=5)
    parser.add_argument("--fault-interval", type=float, default=5.0, help="mean s between faults")
    parser.add_argument("--settle", type=float, default=15.0, help="s before each measurement")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    if args.quick:
        args.duration, args.strips, args.meross = 120.0, 3, 2
    keep = bool(os.environ.get("SOAK_KEEP"))
    with tempfile.TemporaryDirectory(prefix="switchboard-soak-", delete=not keep) as tmp:
        if keep:
            print(f"config directory kept in {tmp}", file=sys.stderr)
        ok = asyncio.run(soak(args, Path(tmp)))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
