"""Soak: Switchboard under random faults and random commands for a long time.

One run starts, on loopback only, what ``benchmarks/scale.py`` starts (its helpers are reused):
``--strips`` emulated MaxSmart strips, a Meross cloud with ``--meross`` plugs on a TLS mosquitto,
an INDI server (``emulators.indi``, the fault-injecting front), the Midea family's emulated
dehumidifier and air conditioner with their discovery and NetHome Plus cloud (the development
stack's ``MideaStack``, account entry), the emulated SEPL platform with a platform connector
entry exporting every Switchboard entity, a plain mosquitto for Home Assistant's ``mqtt``
integration with the Switchboard MQTT bridge on for every family entry, and Home Assistant in its
own process with ``benchmarks/scale_probe`` loaded. Then, for ``--duration`` seconds:

* a fault injector picks a random fault every ``--fault-interval`` seconds (on average), holds
  it 1-6 s and clears it, with the fault matrix's switches (``tests/reliability/faults.py``): a
  strip's HTTP faults (no answer, garbage, half a reply then a stall, connection closed
  mid-reply, late answer, restart), a Meross plug's (silent, garbage replies, late answer, off
  its broker), INDI garbage between elements, half an element then a restart, or a restart, a
  Midea appliance's LAN faults (all six), the SEPL platform's (all six), a restart of the
  Meross broker or of the bridge's broker;
* three clients issue random commands, each to its own devices (so they never race each other):
  **services** (about one a second through Home Assistant, ``scale_probe.command``): a
  switch of every third strip and of odd plugs, and INDI, toggled; the Midea dehumidifier's
  target humidity; the air conditioner's mode (it runs throughout: never ``off``, which makes
  its louvre-angle and power-limit selects unavailable by design). **bridge** (about one every
  2 s): JSON commands
  ``{"action", "args", "id"}`` published on the bridge's command topic (``docs/bridge.md``) for
  a port of the next third of the strips and a channel of even plugs, matched to its result by
  ``id`` (resent with the same id every 10 s until a result arrives, as the bridge documents).
  **SEPL** (about one every 2 s): platform commands ``turn_on`` / ``turn_off`` to the exported
  switches of the last third of the strips. Each command is confirmed (its result, or the
  state reached the target), failed with an error (a translated error, an error result, or a
  platform that had no connection to send it on), or lost (no result and no state change).

At the end every fault is cleared, all entities must be available again, and the summary is
printed. Criteria (exit status 1 when one fails): no command lost; resident memory grew by at
most 10 %; asyncio tasks and open sockets of Home Assistant equal at start and end; no
error-level log line that an injected fault does not explain (a line is explained when it
names a device or broker under a fault, or cleared less than ``GRACE`` s ago, and carries no
traceback nor another mark of an unhandled exception: :data:`UNHANDLED`).

Usage: ``python benchmarks/soak.py [--duration 1800] [--quick]``; ``--quick``: 120 s, 3 strips,
2 plugs.
"""

import argparse
import asyncio
import contextlib
from dataclasses import dataclass, field
import json
import os
from pathlib import Path
import random
import re
import sys
import tempfile
import threading
import time
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import aiohttp  # noqa: E402
from aiohttp.test_utils import unused_port  # noqa: E402
from scale import (  # noqa: E402
    BASE_TOPIC,
    add_entries,
    bridge_options,
    call_probe,
    count_available,
    emulated_strips,
    onboard_with_meross,
    prepare,
    proc_rss_mb,
    running_hass,
    start_meross_cloud,
    stop_emulators,
    storage_entry,
    stored_entries,
    wait_api,
)

from custom_components.switchboard.vendors.midea.client import ApplianceConfig  # noqa: E402
from custom_components.switchboard.vendors.midea.cloud import account_title  # noqa: E402
from custom_components.switchboard.vendors.midea.const import DEFAULT_CLOUD  # noqa: E402
from devtools.develop.hass import HassClient  # noqa: E402
from devtools.develop.stack import StackContext  # noqa: E402
from devtools.develop.stacks.midea import MIDEA_ACCOUNT, MIDEA_PASSWORD, MideaStack  # noqa: E402
from devtools.develop.stacks.sepl import SEPL_PASSWORD, SEPL_USER  # noqa: E402
from emulators.indi import IndiEmulator  # noqa: E402
from emulators.meross import MerossCloudEmulator  # noqa: E402
from emulators.mosquitto import Mosquitto  # noqa: E402
from emulators.sepl import SeplPlatform  # noqa: E402
from tests.reliability.faults import (  # noqa: E402
    ApplianceFaults,
    IndiFaults,
    PeerFaults,
    PlatformFaults,
    PlugFaults,
    StripFaults,
)

GRACE = 30.0
"""Seconds after a fault is cleared during which its error lines are still its own."""
MEMORY_GROWTH = 0.10
UNHANDLED = (
    "Traceback (most recent call last)",
    "Error doing job:",
    "exception was never retrieved",
    "exception in shielded future",
)
"""Marks of an exception that no code handled (asyncio's and Home Assistant's reports)."""
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ (\w+) ")


@dataclass
class Fault:
    """One injected fault: what, on which target, the names its log lines would carry."""

    target: str
    kind: str
    names: tuple[str, ...]
    cleared_at: float | None = None


@dataclass
class Counts:
    """Commands of one path and what became of them."""

    issued: int = 0
    confirmed: int = 0
    failed: int = 0
    lost: int = 0
    state_only: int = 0
    """Confirmed by the state only: the path's own result never came (bridge, SEPL)."""


@dataclass
class Tally:
    """What the run counted."""

    paths: dict[str, Counts] = field(default_factory=dict)
    lost_detail: list[str] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    faults: dict[str, int] = field(default_factory=dict)
    explained_errors: int = 0
    unexplained: list[str] = field(default_factory=list)

    def count(self, path: str, outcome: str, detail: str = "") -> None:
        """One command of ``path``: ``confirmed``, ``state_only``, ``error`` or ``lost``."""
        counts = self.paths.setdefault(path, Counts())
        counts.issued += 1
        if outcome == "confirmed":
            counts.confirmed += 1
        elif outcome == "state_only":
            counts.confirmed += 1
            counts.state_only += 1
        elif outcome == "error":
            counts.failed += 1
            self.errors[f"{path}: {detail}"] = self.errors.get(f"{path}: {detail}", 0) + 1
        else:
            counts.lost += 1
            self.lost_detail.append(f"{path}: {detail}")

    @property
    def total(self) -> Counts:
        """Every path together."""
        total = Counts()
        for counts in self.paths.values():
            total.issued += counts.issued
            total.confirmed += counts.confirmed
            total.failed += counts.failed
            total.lost += counts.lost
            total.state_only += counts.state_only
        return total


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
        # An exception nobody handled is a defect whatever fault was active.
        unhandled = any(mark in text for mark in UNHANDLED)
        if not unhandled and any(name in text for name in self._entry_names):
            self.tally.explained_errors += 1
        else:
            self.tally.unexplained.append(text[:2000])


RESOURCE_SAMPLES = 20
"""Samples 1 s apart: longer than aiohttp's 15 s keep-alive of an idle pooled connection."""


async def sample_resources(hass: HassClient) -> tuple[int, int]:
    """(asyncio tasks, open sockets) of Home Assistant: the least of 20 samples 1 s apart.

    A poll or a command in flight adds a task and a socket for a moment, and an HTTP connection
    the set-up used (the Meross cloud's sign-in and device list) stays pooled for aiohttp's
    15 s keep-alive; the least of samples over a longer span is the steady count (a quick run
    once counted such a connection at the start, 12 sockets against 11 at the end).
    """
    samples = []
    for _ in range(RESOURCE_SAMPLES):
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


STRIP_ENTITY = re.compile(r"^switch\.soak_strip_(\d+)_")
PLUG_ENTITY = re.compile(r"^switch\.soak_plug_(\d+)")
BRIDGE_TARGET = re.compile(
    rf"^({BASE_TOPIC}/[^/]+/soak_(strip|plug)_(\d+)(?:_[0-9a-f]{{12}})?)/"
    r"(port_([1-6])_on|channel_(\d+)_on|on)$"
)
MIDEA_NAMES = ("cellar", "bedroom")
"""Object ids of the Midea appliances' entities (the emulated dehumidifier and AC).

Of Midea, the client commands the dehumidifier's target humidity and the AC's mode only: the
emulated AC does not model every switch midea-local sets (its display toggle, a ``0x41`` query,
is answered with the status unchanged; smart eye is not kept), so a toggle of those would count
the emulator's gap as a lost command (a first run found both)."""
PATHS = ("services", "bridge", "sepl")
"""Who commands a strip: strip n goes to ``PATHS[(n - 1) % 3]``; odd plugs to services, even
plugs to the bridge. Each device has one commander, so no client races another's command."""
BRIDGE_RESEND = 10.0
"""Seconds after which a bridge command without a result is sent again with the same id."""
RESULT_WAIT = 40.0
"""Seconds a bridge or SEPL command may take to get its result."""


class BridgeClient:
    """A user of the MQTT bridge: a paho client (own thread) on the bridge's broker.

    Subscribed to ``<base>/#`` (again after every reconnect): keeps the latest payload of every
    state topic and the first result of every command ``id``; :meth:`command` publishes one
    command (QoS 1) on ``<root>/command``.
    """

    def __init__(self, port: int) -> None:
        """Connect to ``127.0.0.1:port`` in the background (reconnects by itself)."""
        import paho.mqtt.client as paho
        from paho.mqtt.enums import CallbackAPIVersion

        self.values: dict[str, str] = {}
        self.results: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv311)
        self.client.on_connect = lambda c, *_: c.subscribe(f"{BASE_TOPIC}/#", qos=1)
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 2)
        self.client.connect_async("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, _client: Any, _userdata: Any, msg: Any) -> None:
        payload = msg.payload.decode(errors="replace")
        with self.lock:
            if not msg.topic.endswith("/command/result"):
                self.values[msg.topic] = payload
                return
            with contextlib.suppress(ValueError):
                result = json.loads(payload)
                if isinstance(result, dict) and isinstance(result.get("id"), str):
                    self.results.setdefault(result["id"], result)

    def targets(self) -> list[tuple[str, str, str, int]]:
        """Switchable attributes of bridged strips and plugs: (root, attribute, kind, number)."""
        with self.lock:
            values = dict(self.values)
        found = []
        for topic, payload in values.items():
            match = BRIDGE_TARGET.match(topic)
            if match and payload in ("true", "false"):
                root = match.group(1)
                if values.get(f"{root}/availability") == "online":
                    found.append((root, match.group(4), match.group(2), int(match.group(3))))
        return sorted(found)

    def value(self, topic: str) -> str | None:
        """The latest payload of ``topic``."""
        with self.lock:
            return self.values.get(topic)

    def result(self, command_id: str) -> dict[str, Any] | None:
        """The result of command ``command_id``, once it arrived."""
        with self.lock:
            return self.results.get(command_id)

    def command(self, root: str, payload: dict[str, Any]) -> None:
        """Publish ``payload`` as JSON on ``<root>/command`` (QoS 1; queued while offline)."""
        self.client.publish(f"{root}/command", json.dumps(payload), qos=1)

    def stop(self) -> None:
        """Disconnect and end the thread."""
        self.client.disconnect()
        self.client.loop_stop()


def midea_entry(stack: MideaStack) -> dict[str, Any]:
    """The Midea account entry (both appliances), as its config flow stores it; bridge on."""
    assert stack.cloud is not None
    assert stack.relay is not None
    appliances = {
        str(server.appliance.appliance_id): ApplianceConfig(
            appliance_id=server.appliance.appliance_id,
            device_type=server.appliance.device_type,
            name=server.appliance.name,
            host=server.host,
            port=server.port,
            protocol=server.appliance.protocol,
            token=server.appliance.token,
            key=server.appliance.key,
            serial=server.appliance.serial,
            model=server.appliance.model,
            mac=server.appliance.mac,
            firmware=server.appliance.firmware,
        ).as_dict()
        for server in stack.servers
    }
    return storage_entry(
        "switchboard",
        account_title(MIDEA_ACCOUNT),
        {
            "family": "midea",
            "account": MIDEA_ACCOUNT,
            "password": MIDEA_PASSWORD,
            "cloud": DEFAULT_CLOUD,
            "api_url": stack.cloud.url,
            "discovery_port": stack.relay.port,
            "appliances": appliances,
        },
        unique_id=f"{DEFAULT_CLOUD}:{MIDEA_ACCOUNT}",
        options=bridge_options(),
    )


def sepl_entry(platform: SeplPlatform) -> dict[str, Any]:
    """The SEPL platform connector entry (every Switchboard entity exported)."""
    unique_id = f"{SEPL_USER}@127.0.0.1:{platform.port}"
    return storage_entry(
        "switchboard",
        f"SEPL {unique_id}",
        {
            "exporter": "sepl",
            "url": platform.url,
            "username": SEPL_USER,
            "password": SEPL_PASSWORD,
            "verify_ssl": True,
            "gateway_id": "",
        },
        unique_id=unique_id,
    )


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
    midea = MideaStack()
    sepl = SeplPlatform(users={SEPL_USER: SEPL_PASSWORD})
    cloud: MerossCloudEmulator | None = None
    bridge: BridgeClient | None = None
    tally = Tally()
    tasks: list[asyncio.Task[None]] = []
    try:
        for strip in strips:
            await strip.start()
        await indi.start()
        await meross_broker.start()
        await ha_broker.start()
        await midea.start(StackContext(check=True, config_dir=config_dir, hass_url=url))
        if midea.air_conditioner is not None:
            # Running, as in a home: switched off, its louvre-angle and power-limit selects are
            # unavailable by design, which the availability checks would count as a fault.
            midea.air_conditioner.power = True
        await sepl.start()
        appliances = len(midea.servers)
        cloud, plugs = await start_meross_cloud(meross_broker, args.meross, "Soak Plug")
        log = config_dir / "hass-console.log"
        async with aiohttp.ClientSession() as session:
            hass = HassClient(session, url)
            await onboard_with_meross(hass, session, config_dir, log, cloud.url)
            add_entries(
                config_dir,
                [
                    *stored_entries(ha_broker.port, indi.port, strips),
                    midea_entry(midea),
                    sepl_entry(sepl),
                ],
            )
            async with running_hass(config_dir, log) as process:
                await process.start()
                assert process.process is not None
                pid = process.process.pid
                await wait_api(hass, process, limit=300)
                total, available = await wait_all_available(hass, 120)
                if not total or total != available:
                    raise RuntimeError(f"{total - available} of {total} entities unavailable")
                bridge = BridgeClient(ha_broker.port)
                await asyncio.sleep(args.settle)
                entities = sorted(await hass.integration_entities("switchboard"))
                commanded: dict[str, list[str]] = {path: [] for path in PATHS}
                for entity_id in entities:
                    if match := STRIP_ENTITY.match(entity_id):
                        commanded[PATHS[(int(match.group(1)) - 1) % 3]].append(entity_id)
                    elif match := PLUG_ENTITY.match(entity_id):
                        if int(match.group(1)) % 2:
                            commanded["services"].append(entity_id)
                    elif entity_id.startswith(("humidifier.", "climate.")):
                        commanded["services"].append(entity_id)  # Midea
                    elif entity_id.startswith("switch.") and not entity_id.startswith(
                        tuple(f"switch.{name}_" for name in MIDEA_NAMES)
                    ):
                        commanded["services"].append(entity_id)  # INDI
                if not all(commanded.values()):
                    raise RuntimeError(f"a client has nothing to command: {commanded}")
                rss_start = proc_rss_mb(pid)
                tasks_start, sockets_start = await sample_resources(hass)
                watcher = LogWatcher(config_dir / "home-assistant.log", tally)
                indi_faults = IndiFaults(indi)
                sepl_faults = PlatformFaults(sepl)
                stop = asyncio.Event()
                strip_names = {strip.name for strip in strips}
                ends = time.monotonic() + args.duration

                def choose() -> tuple[Fault, PeerFaults]:
                    """A random fault: what and where, and the peer's switches."""
                    roll = rng.random()
                    peer: PeerFaults
                    if roll < 0.45:
                        strip = rng.choice(strips)
                        peer = StripFaults(strip)
                        fault = Fault(strip.name, "", (strip.name, strip.host))
                    elif roll < 0.57:
                        names = ("INDI", "Switchboard Plug", "Switchboard Lamp", str(indi.port))
                        peer = indi_faults
                        fault = Fault("INDI", "", names)
                    elif roll < 0.67:
                        plug = rng.choice(plugs)
                        peer = PlugFaults(plug)
                        fault = Fault("Meross plug", "", (plug.name, "Meross"))
                    elif roll < 0.79:
                        server = rng.choice(midea.servers)
                        peer = ApplianceFaults(server)
                        names = (server.appliance.name, server.host, "Midea")
                        fault = Fault("Midea appliance", "", names)
                    elif roll < 0.88:
                        peer = sepl_faults
                        fault = Fault("SEPL platform", "", ("SEPL", "sepl", str(sepl.port)))
                    elif roll < 0.94:
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

                def service_command(entity_id: str, state: dict[str, Any]) -> dict[str, Any]:
                    """The probe's command: a new target humidity, another mode, or a toggle."""
                    attributes = state.get("attributes", {})
                    if entity_id.startswith("humidifier."):
                        low = int(attributes.get("min_humidity", 35))
                        high = int(attributes.get("max_humidity", 85))
                        humidity = rng.choice(
                            [h for h in range(low, high + 1, 5) if h != attributes.get("humidity")]
                        )
                        return {
                            "service": "humidifier.set_humidity",
                            "data": {"humidity": humidity},
                            "attribute": "humidity",
                            "target": humidity,
                        }
                    if entity_id.startswith("climate."):
                        # Never "off": it would leave three selects unavailable by design.
                        modes = attributes.get("hvac_modes", [])
                        mode = rng.choice([m for m in modes if m not in (state["state"], "off")])
                        return {
                            "service": "climate.set_hvac_mode",
                            "data": {"hvac_mode": mode},
                            "target": mode,
                        }
                    return {}

                async def services_client() -> None:
                    while time.monotonic() < ends:
                        await asyncio.sleep(rng.uniform(0.5, 1.5))
                        states = await hass.states()
                        ready = [
                            e
                            for e in commanded["services"]
                            if states.get(e, {}).get("state") not in (None, "unavailable")
                        ]
                        midea_ready = [e for e in ready if not e.startswith("switch.")]
                        if not ready:
                            continue
                        # A quarter of the commands to Midea (two entities among many switches).
                        entity_id = rng.choice(
                            midea_ready if midea_ready and rng.random() < 0.25 else ready
                        )
                        command = service_command(entity_id, states[entity_id])
                        try:
                            result = await call_probe(
                                hass, "command", {"entity_id": entity_id, "timeout": 20, **command}
                            )
                        except Exception as err:
                            result = {"outcome": "lost", "probe": repr(err)}
                        if result["outcome"] == "error":
                            tally.count("services", "error", str(result["error"]))
                        else:
                            tally.count("services", result["outcome"], f"{entity_id}: {result}")

                async def bridge_client() -> None:
                    assert bridge is not None
                    strips_of = {
                        int(m.group(1)) for e in commanded["bridge"] if (m := STRIP_ENTITY.match(e))
                    }
                    number = 0
                    while time.monotonic() < ends:
                        await asyncio.sleep(rng.uniform(1, 3))
                        mine = [
                            target
                            for target in bridge.targets()
                            if (target[2] == "strip" and target[3] in strips_of)
                            or (target[2] == "plug" and target[3] % 2 == 0)
                        ]
                        if not mine:
                            continue
                        root, attribute, _kind, _n = rng.choice(mine)
                        topic = f"{root}/{attribute}"
                        on = bridge.value(topic) != "true"
                        args_ = {}
                        if match := re.match(r"(port|channel)_(\d+)_on", attribute):
                            args_ = {match.group(1): int(match.group(2))}
                        number += 1
                        command_id = f"soak-{number}"
                        payload = {
                            "action": "turn_on" if on else "turn_off",
                            "args": args_,
                            "id": command_id,
                        }
                        sent = resent = time.monotonic()
                        bridge.command(root, payload)
                        while (result := bridge.result(command_id)) is None:
                            if time.monotonic() - sent > RESULT_WAIT:
                                break
                            await asyncio.sleep(0.2)
                            if time.monotonic() - resent > BRIDGE_RESEND:
                                resent = time.monotonic()
                                bridge.command(root, payload)  # the same id: answered once
                        if result is None:
                            reached = bridge.value(topic) == ("true" if on else "false")
                            detail = f"{topic} {payload}: no result, value {bridge.value(topic)}"
                            tally.count("bridge", "state_only" if reached else "lost", detail)
                        elif result.get("status") == "ok":
                            tally.count("bridge", "confirmed")
                        else:
                            tally.count("bridge", "error", str(result.get("error")))

                async def sepl_client() -> None:
                    while time.monotonic() < ends:
                        await asyncio.sleep(rng.uniform(1, 3))
                        states = await hass.states()
                        names = {
                            states[e]["attributes"].get("friendly_name"): e
                            for e in commanded["sepl"]
                            if states.get(e, {}).get("state") in ("on", "off")
                        }
                        ready = sorted(
                            (uri, names[device.name])
                            for (user, uri), device in sepl.devices.items()
                            if user == SEPL_USER and device.name in names
                        )
                        if not ready:
                            continue
                        uri, entity_id = rng.choice(ready)
                        target = "off" if states[entity_id]["state"] == "on" else "on"
                        record = await sepl.async_send_command(SEPL_USER, uri, f"turn_{target}")
                        if not record.sessions:
                            tally.count("sepl", "error", "not_connected (no session to send on)")
                            continue
                        with contextlib.suppress(TimeoutError):
                            async with asyncio.timeout(RESULT_WAIT):
                                await record.arrived.wait()
                        if record.responses:
                            status = record.responses[0]["outputs"].get("status")
                            if status == 200:
                                tally.count("sepl", "confirmed")
                            else:
                                tally.count("sepl", "error", f"status {status}")
                            continue
                        state = (await hass.state(entity_id))["state"]
                        detail = f"{entity_id} turn_{target}: no response, state {state}"
                        tally.count("sepl", "state_only" if state == target else "lost", detail)

                async def reader() -> None:
                    while not stop.is_set():
                        watcher.poll()
                        await asyncio.sleep(0.5)

                tasks = [
                    asyncio.create_task(c())
                    for c in (injector, services_client, bridge_client, sepl_client, reader)
                ]
                await asyncio.gather(*tasks[:-1])
                total, available = await wait_all_available(hass, 120)
                await asyncio.sleep(args.settle)
                rss_end = proc_rss_mb(pid)
                tasks_end, sockets_end = await sample_resources(hass)
                stop.set()
                await tasks[-1]
                watcher.finish()
    finally:
        for task in tasks:
            task.cancel()
        if bridge is not None:
            bridge.stop()
        await stop_emulators(cloud, strips, (meross_broker, ha_broker))
        for stopper in (indi.stop, midea.stop, sepl.stop):
            with contextlib.suppress(Exception):
                await stopper()

    growth = (rss_end - rss_start) / rss_start
    print(
        f"Soak: {args.duration:g} s; {args.strips} MaxSmart strips, {args.meross} Meross plugs, "
        f"1 INDI server (2 devices), {appliances} Midea appliances (1 account), "
        f"the SEPL connector, MQTT bridge on every family entry; a fault every "
        f"~{args.fault_interval:g} s; commands through services, the bridge's command topic "
        f"and SEPL platform commands; {os.cpu_count()} CPUs"
    )
    print("faults injected: " + ", ".join(f"{k} {n}" for k, n in sorted(tally.faults.items())))
    counts = tally.total
    print(
        f"commands issued {counts.issued}, confirmed {counts.confirmed}, "
        f"failed with an error {counts.failed}, lost {counts.lost}"
    )
    for path in PATHS:
        c = tally.paths.get(path, Counts())
        print(
            f"  via {path}: issued {c.issued}, confirmed {c.confirmed} "
            f"({c.state_only} by the state only), failed {c.failed}, lost {c.lost}"
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
        (
            "no command lost",
            counts.lost == 0 and all(tally.paths.get(path, Counts()).issued for path in PATHS),
        ),
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
