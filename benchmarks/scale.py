"""Scale benchmark: a home's worth of Switchboard devices on one Home Assistant event loop.

One run starts, on loopback only:

* ``--strips`` emulated MaxSmart strips (6 ports each, each on its own address 127.0.0.x,
  polled at the default 5 s), in this process;
* a mosquitto broker with TLS, the emulated Meross cloud and one account with ``--meross``
  plugs, each pushing an Electricity or ToggleX change once every 30 s on average;
* ``--midea`` emulated Midea appliances (dehumidifiers and air conditioners in turn, protocol
  V3, each on 127.0.0.1 with its own TCP port, polled at the family's default), in this process;
* an INDI server (``indipydriver``/``indipyserver`` in a child process) with ``--indi``
  number properties, updating ``--indi-rate`` of them per second in total;
* a plain mosquitto broker for Home Assistant's ``mqtt`` integration, and the Switchboard
  MQTT bridge on for every entry;
* Home Assistant in its own process (``devtools.develop``'s launcher and REST client), with
  ``benchmarks/scale_probe`` loaded: it measures the event loop's lag (how late a 100 ms timer
  fires) and command -> state latency inside Home Assistant.

Phases: (1) Home Assistant starts once, is onboarded and gets the Meross account through the
config flow; (2) it is stopped, the MaxSmart, Midea, INDI and mqtt entries are added to its storage
(shaped as the config flows create them, bridge options on), and it starts again: the time
from the process start to every Switchboard entity available is measured, then the window
runs (CPU of the Home Assistant process from ``/proc``, loop lag, RSS, command -> state for a
strip port, 0.2 s apart, and a Meross plug, 2 s apart: ``COMMAND_SPACING``); (3) the
baseline: a fresh Home Assistant with the same number of plain, never-changing entities and no
device traffic, measured over the same window; (4) Home Assistant's floor for this load: a
fresh Home Assistant like the baseline, with the ``mqtt`` integration on a plain mosquitto of
its own, in which ``scale_probe`` replays without Switchboard and without devices what Home
Assistant itself must do for phase 2's load: the state writes phase 2's window counted
(``state_changed`` events of Switchboard entities), device by device on plain sensors, each
batch (a coordinator update, a push) at the moment phase 2 saw it, and the messages the
bridges published in that window (their ``stats.published``, shared among each entry's
batches by writes) through ``mqtt.async_publish`` (QoS 0, retained), with topics and payloads
of the same average length (phase 2's messages as a subscriber to the bridge's base topic saw
them). Its own window measures what it did.

The table shows the floor beside the baseline and "Switchboard above the floor" (CPU, loop
lag p99): what Switchboard itself costs beyond the work any integration producing these
changes would make Home Assistant do. Goals (exit status 1 when one is missed), against the
baseline as before: Switchboard adds < 5 % of one core over the baseline, loop lag p99 < 20
ms, every entity available within 30 s of start, command -> state p95 < 100 ms.
Usage: ``python benchmarks/scale.py [--window 600] [--quick]``; ``--quick``:
10 strips, 5 plugs, 2 Midea appliances, 100 INDI properties, 20 s windows (about 2 min in all).
"""

import argparse
import asyncio
from collections.abc import AsyncIterator
import contextlib
from dataclasses import dataclass, field
import json
import os
from pathlib import Path
import random
import shutil
import sys
import tempfile
import time
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from aiohttp.test_utils import unused_port  # noqa: E402
import aiomqtt  # noqa: E402

from benchmarks.midea_latency import switchboard_entry_data  # noqa: E402
from devtools.develop.hass import (  # noqa: E402
    HassClient,
    HomeAssistantProcess,
    prepare_config,
)
from emulators.maxsmart import MaxSmartEmulator  # noqa: E402
from emulators.meross import MerossCloudEmulator, MerossPlug  # noqa: E402
from emulators.midea import (  # noqa: E402
    AirConditioner,
    Dehumidifier,
    MideaAppliance,
    MideaLanServer,
)
from emulators.mosquitto import Mosquitto  # noqa: E402

PROBE_DIR = Path(__file__).resolve().parent / "scale_probe"
MEROSS_EMAIL = "scale@example.com"
MEROSS_PASSWORD = "scale-benchmark"
BASE_TOPIC = "switchboard"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
GOAL_CPU_ADDED = 5.0
GOAL_LAG_P99 = 20.0
GOAL_AVAILABLE = 30.0
GOAL_COMMAND_P95 = 100.0
INDI_VECTORS_PER_DEVICE = 100

CONFIGURATION = """\
# Written by benchmarks/scale.py: small on purpose (no default_config, no recorder), so the
# figures are Switchboard's and the entities', not other integrations'.
homeassistant:
  name: Switchboard scale
  unit_system: metric
  time_zone: Europe/Zurich
  country: CH
config:
scale_probe:
logger:
  default: warning
"""


# ----------------------------------------------------------------------------- INDI driver


def serve_indi(port: int, properties: int, rate: float) -> None:
    """Run the INDI driver (child process): ``properties`` number vectors, ``rate`` updates/s."""
    from indipydriver import Device, IPyDriver, NumberMember, NumberVector
    from indipyserver import IPyServer

    devices = max(1, properties // INDI_VECTORS_PER_DEVICE)
    per_device = properties // devices

    def build(index: int) -> Any:
        return Device(
            f"Scale {index}",
            [
                NumberVector(
                    f"V{v:03d}",
                    f"Value {v}",
                    "Main",
                    "ro",
                    "Ok",
                    [NumberMember("VALUE", "Value", "%.3f", 0, 1e6, 0, 0)],
                )
                for v in range(per_device)
            ],
        )

    class Driver(IPyDriver):  # type: ignore[misc]
        async def hardware(self) -> None:
            rng = random.Random(7)
            interval = 1 / rate
            next_at = time.monotonic()
            while True:
                next_at += interval
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                device = self[f"Scale {rng.randrange(devices)}"]
                vector = device[f"V{rng.randrange(per_device):03d}"]
                vector["VALUE"] = f"{rng.uniform(0, 1000):.3f}"
                await vector.send_setVector(state="Ok")

    driver = Driver(*(build(i) for i in range(devices)))
    server = IPyServer(driver, host="127.0.0.1", port=port, maxconnections=5)
    asyncio.run(server.asyncrun())


# ----------------------------------------------------------------------------- helpers


@dataclass
class Figures:
    """What one Home Assistant run measured."""

    entities: int = 0
    cpu_percent: float = 0.0
    lag_p50: float | None = None
    lag_p99: float | None = None
    rss_mb: float = 0.0
    available_s: float | None = None
    unavailable: int = 0
    commands: dict[str, dict[str, Any]] = field(default_factory=dict)
    elapsed: float = 0.0
    """Seconds the window lasted."""
    probe: dict[str, Any] = field(default_factory=dict)
    """``scale_probe.report`` at the window's end: lag, ``activity`` and ``published``."""
    messages: MessageSizes | None = None
    """The MQTT messages a subscriber saw in the window (Switchboard and floor runs)."""

    def writes_per_s(self, platform: str) -> float:
        """``state_changed`` events per second of ``platform``'s entities in the window."""
        writes = self.probe.get("activity", {}).get(platform, {}).get("writes", 0)
        return float(writes) / self.elapsed if self.elapsed else 0.0

    def busiest_share(self, platform: str, period: float = 5.0, width: float = 0.5) -> float:
        """Share (%) of ``platform``'s state writes that fall in the busiest ``width`` s of a
        ``period`` s cycle (the strips' poll interval), from the batches' offsets: 10 % when
        the writes are spread evenly over 5 s, 100 % when every batch is in one half second.
        """
        bins = [0.0] * round(period / 0.1)
        groups = self.probe.get("activity", {}).get(platform, {}).get("groups", [])
        for group in groups:
            for offset, writes in group["schedule"]:
                bins[int(offset % period / 0.1) % len(bins)] += writes
        total = sum(bins)
        span = round(width / 0.1)
        busiest = max(
            sum(bins[(start + i) % len(bins)] for i in range(span)) for start in range(len(bins))
        )
        return busiest / total * 100 if total else 0.0

    def publishes_per_s(self) -> float:
        """Messages published per second in the window (the bridges' and the floor load's)."""
        published = self.probe.get("published", {})
        total = sum(published.get("bridges", {}).values()) + published.get("floor", 0)
        return float(total) / self.elapsed if self.elapsed else 0.0


@dataclass
class MessageSizes:
    """Live (not retained) messages under a topic filter: count and lengths in characters."""

    count: int = 0
    topic_chars: int = 0
    payload_bytes: int = 0

    @property
    def topic_length(self) -> float:
        """Average topic length (characters)."""
        return self.topic_chars / self.count if self.count else 0.0

    @property
    def payload_length(self) -> float:
        """Average payload length (bytes)."""
        return self.payload_bytes / self.count if self.count else 0.0


class MessageObserver:
    """A subscriber to ``<base topic>/#`` on Home Assistant's broker, in this process.

    It counts the live messages (a retained message sent because of the subscription has its
    retain flag set; live ones have not) and their sizes; ``reset()`` starts a new count.
    Its CPU is this process's and the broker's, not Home Assistant's.
    """

    def __init__(self, broker: Mosquitto, topic_filter: str) -> None:
        self.broker = broker
        self.topic_filter = topic_filter
        self.sizes = MessageSizes()
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    async def start(self) -> None:
        """Connect and subscribe (within 30 s)."""
        self._task = asyncio.create_task(self._run())
        async with asyncio.timeout(30):
            await self._subscribed.wait()

    async def _run(self) -> None:
        async with aiomqtt.Client("127.0.0.1", self.broker.port) as client:
            await client.subscribe(self.topic_filter)
            self._subscribed.set()
            async for message in client.messages:
                if message.retain:
                    continue
                sizes = self.sizes
                sizes.count += 1
                sizes.topic_chars += len(message.topic.value)
                payload = message.payload
                sizes.payload_bytes += len(payload) if isinstance(payload, bytes | str) else 0

    def reset(self) -> MessageSizes:
        """Return the count so far and start a new one."""
        sizes, self.sizes = self.sizes, MessageSizes()
        return sizes

    async def stop(self) -> None:
        """Disconnect."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await self._task


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads) from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def proc_rss_mb(pid: int) -> float:
    """Resident memory of a process in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def storage_entry(
    domain: str,
    title: str,
    data: dict[str, Any],
    *,
    unique_id: str | None,
    options: dict[str, Any] | None = None,
    version: int = 1,
    minor_version: int = 1,
) -> dict[str, Any]:
    """A config entry as Home Assistant stores it in ``.storage/core.config_entries``."""
    from homeassistant.util.ulid import ulid_now

    now = "2026-01-01T00:00:00+00:00"
    return {
        "created_at": now,
        "data": data,
        "disabled_by": None,
        "discovery_keys": {},
        "domain": domain,
        "entry_id": ulid_now(),
        "minor_version": minor_version,
        "modified_at": now,
        "options": options or {},
        "pref_disable_new_entities": False,
        "pref_disable_polling": False,
        "source": "user",
        "subentries": [],
        "title": title,
        "unique_id": unique_id,
        "version": version,
    }


BRIDGE = True
"""``--no-bridge`` turns the MQTT bridge off in every entry (to see what the bridge costs)."""


def bridge_options() -> dict[str, Any]:
    """Switchboard options with the MQTT bridge on at its defaults (discovery off).

    With discovery on, this same Home Assistant would subscribe to the configs and mirror
    every device as MQTT entities: discovery is for another Home Assistant.
    """
    return {"mqtt_bridge": {"enabled": BRIDGE, "base_topic": BASE_TOPIC, "discovery": False}}


def add_entries(config_dir: Path, entries: list[dict[str, Any]]) -> None:
    """Append ``entries`` to the stored config entries (Home Assistant must be stopped)."""
    path = config_dir / ".storage" / "core.config_entries"
    stored = json.loads(path.read_text())
    stored["data"]["entries"].extend(entries)
    path.write_text(json.dumps(stored))


async def add_meross_account(
    hass: HassClient, session: aiohttp.ClientSession, cloud_url: str
) -> None:
    """The Meross account entry through the config flow, then the bridge on in its options."""
    flow = await hass.flow_start("switchboard")
    await hass.flow_step(flow["flow_id"], {"next_step_id": "meross"})
    # Not HassClient.flow_step: its 30 s limit is too short for an account of
    # 50 devices, whose entry is set up before the flow answers.
    async with session.post(
        f"{hass.base_url}/api/config/config_entries/flow/{flow['flow_id']}",
        headers={"Authorization": f"Bearer {hass.token}"},
        timeout=aiohttp.ClientTimeout(total=600),
        json={
            "email": MEROSS_EMAIL,
            "password": MEROSS_PASSWORD,
            "advanced": {"api_base_url": cloud_url, "verify_ssl": False},
        },
    ) as response:
        result = await response.json()
    if result.get("type") != "create_entry":
        raise RuntimeError(f"Meross entry not created: {result}")
    entry_id = result["result"]["entry_id"]
    options = await hass.request(
        "POST",
        "/api/config/config_entries/options/flow",
        json_body={"handler": entry_id},
    )
    await hass.request(
        "POST",
        f"/api/config/config_entries/options/flow/{options['flow_id']}",
        json_body=bridge_options(),
    )


def emulated_strips(
    count: int, *, first_host: int, name: str, mac_group: int
) -> list[MaxSmartEmulator]:
    """``count`` MaxSmart strips (not started), each on 127.0.0.<first_host + i>, free ports.

    Named ``"<name> <i + 1>"``; serials ``SWP6023<i>`` and MACs ``bc:2b:00:<mac_group>:..`` are
    unique within a run (give each run's strips their own ``first_host`` and ``mac_group``).
    """
    return [
        MaxSmartEmulator(
            f"127.0.0.{first_host + i}",
            0,
            0,
            serial=f"SWP6023{i:09d}",
            name=f"{name} {i + 1}",
            mac=f"bc:2b:00:{mac_group:02x}:{i // 256:02x}:{i % 256:02x}",
        )
        for i in range(count)
    ]


async def start_meross_cloud(
    broker: Mosquitto, count: int, name: str
) -> tuple[MerossCloudEmulator, list[MerossPlug]]:
    """The emulated Meross cloud on ``broker`` (started) with ``count`` plugs ``"<name> <i>"``."""
    cloud = MerossCloudEmulator(broker)
    account = cloud.add_account(MEROSS_EMAIL, MEROSS_PASSWORD)
    plugs = [
        await cloud.add_device(account, MerossPlug(name=f"{name} {i + 1}")) for i in range(count)
    ]
    await cloud.start()
    return cloud, plugs


async def stop_emulators(
    cloud: MerossCloudEmulator | None,
    strips: list[MaxSmartEmulator],
    brokers: tuple[Mosquitto, ...],
) -> None:
    """Stop the Meross cloud, the strips and close the brokers; a failure stops nothing else."""
    if cloud is not None:
        with contextlib.suppress(Exception):
            await cloud.stop()
    for strip in strips:
        with contextlib.suppress(Exception):
            await strip.stop()
    for broker in brokers:
        with contextlib.suppress(Exception):
            await broker.close()


async def wait_stored(config_dir: Path, limit: float = 60) -> None:
    """Wait until Home Assistant has written a Switchboard entry to its storage.

    It writes config entries after a short delay; stopped before that (a slow, busy machine
    can exceed the stop's grace period and be killed), the entry would be lost.
    """
    path = config_dir / ".storage" / "core.config_entries"
    deadline = time.monotonic() + limit
    while not (path.exists() and '"switchboard"' in path.read_text()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"Home Assistant did not store the Meross entry in {limit:.0f} s")
        await asyncio.sleep(0.5)


async def onboard_with_meross(
    hass: HassClient,
    session: aiohttp.ClientSession,
    config_dir: Path,
    log: Path,
    cloud_url: str,
    limit: float = 180,
) -> None:
    """First start of Home Assistant: onboarding, the Meross account (flow), stored; stopped.

    ``limit``: seconds Home Assistant may take to answer. Afterwards the other entries can be
    written to storage (:func:`add_entries`) before the next start.
    """
    async with running_hass(config_dir, log) as process:
        await process.start()
        await hass.wait_until_up(lambda: process.alive, limit)
        await hass.onboard()
        await add_meross_account(hass, session, cloud_url)
        await wait_stored(config_dir)


def stored_entries(
    mqtt_port: int,
    indi_port: int,
    strips: list[MaxSmartEmulator],
    midea: list[MideaAppliance] | None = None,
) -> list[dict[str, Any]]:
    """Home Assistant's ``mqtt`` entry, an INDI entry, one entry per strip and one per Midea
    appliance (the single-appliance flow's shape), every Switchboard entry with the bridge on."""
    entries = [
        storage_entry(
            "mqtt",
            "MQTT",
            {"broker": "127.0.0.1", "port": mqtt_port, "protocol": "3.1.1"},
            unique_id=None,
            minor_version=2,
        ),
        storage_entry(
            "switchboard",
            f"INDI 127.0.0.1:{indi_port}",
            {"family": "indi", "host": "127.0.0.1", "port": indi_port, "devices": []},
            unique_id=f"127.0.0.1:{indi_port}",
            options=bridge_options(),
        ),
    ]
    entries += [
        storage_entry(
            "switchboard",
            strip.name,
            {
                "family": "maxsmart",
                "host": strip.host,
                "port": strip.http_port,
                "discovery_port": strip.udp_port,
                "serial": strip.serial,
                "mac": strip.mac.lower(),
            },
            unique_id=strip.serial,
            options=bridge_options(),
        )
        for strip in strips
    ]
    entries += [
        storage_entry(
            "switchboard",
            appliance.name,
            switchboard_entry_data(appliance, appliance.name),
            unique_id=str(appliance.appliance_id),
            options=bridge_options(),
        )
        for appliance in midea or []
    ]
    return entries


def emulated_midea(count: int) -> list[MideaAppliance]:
    """``count`` Midea appliances (not served yet): dehumidifiers and air conditioners in turn.

    Each gets its own id, serial and MAC; each is served on 127.0.0.1 with its own TCP port
    (:class:`MideaLanServer`), which is how the emulator keeps several behind one address.
    Each is switched on (in use, as in a home): an air conditioner that is off shows its
    louvre-angle and power-limit selects unavailable by design, which "start -> all entities
    available" would count as never available.
    """
    appliances: list[MideaAppliance] = []
    for i in range(count):
        kind: type[MideaAppliance] = Dehumidifier if i % 2 == 0 else AirConditioner
        appliance = kind(
            appliance_id=150633093300000 + i,
            serial=f"000000P0000000Q1{i:04X}C29C96000000",
            name=f"Midea {i + 1}",
            mac=f"88:c2:9c:97:{i // 256:02x}:{i % 256:02x}",
        )
        appliance.power = True
        appliances.append(appliance)
    return appliances


async def call_probe(hass: HassClient, service: str, data: dict[str, Any]) -> dict[str, Any]:
    """Call a ``scale_probe`` service and return its response.

    Up to 300 s (not ``HassClient.request``'s default 30 s): 50 commands to a Meross plug wait
    for the account's request limiter (60 a minute) once its burst is spent.
    """
    result = await hass.request(
        "POST",
        f"/api/services/scale_probe/{service}?return_response",
        json_body=data,
        limit=300,
    )
    return dict(result["service_response"])


async def count_available(hass: HassClient, domain: str) -> tuple[int, int]:
    """(entities of ``domain`` in the state machine, of which not unavailable)."""
    rendered = await hass.template(
        "{% set e = integration_entities('" + domain + "') %}"
        "{{ [e | count, e | reject('is_state', 'unavailable') | list | count] | tojson }}"
    )
    total, available = json.loads(rendered)
    return int(total), int(available)


async def wait_api(hass: HassClient, process: HomeAssistantProcess, limit: float = 120) -> None:
    """Wait until Home Assistant reports RUNNING (every integration set up) over REST."""
    deadline = time.monotonic() + limit
    while True:
        if not process.alive:
            raise RuntimeError("Home Assistant exited while starting (see its log)")
        with contextlib.suppress(Exception):
            if (await hass.request("GET", "/api/config")).get("state") == "RUNNING":
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"no answer on {hass.base_url} after {limit:.0f} s")
        await asyncio.sleep(0.25)


@contextlib.asynccontextmanager
async def running_hass(config_dir: Path, log: Path) -> AsyncIterator[HomeAssistantProcess]:
    """Home Assistant in its own process for the duration of the block."""
    process = HomeAssistantProcess(config_dir, log)
    try:
        yield process
    except BaseException:
        for path in (config_dir / "home-assistant.log", log):
            with contextlib.suppress(OSError):
                tail = path.read_text(errors="replace").splitlines()[-40:]
                print(f"---- {path.name} ----", *tail, sep="\n", file=sys.stderr)
        raise
    finally:
        await process.stop()


def prepare(config_dir: Path, port: int, *, probe_entities: int = 0) -> None:
    """Configuration, the development stack's storage files and the probe component."""
    prepare_config(config_dir, port)
    text = CONFIGURATION
    if probe_entities:
        text += f"sensor:\n  - platform: scale_probe\n    entities: {probe_entities}\n"
    (config_dir / "configuration.yaml").write_text(text)
    link = config_dir / "custom_components" / "scale_probe"
    if not link.exists():
        link.symlink_to(PROBE_DIR, target_is_directory=True)


COMMAND_SPACING: dict[str, tuple[float, int]] = {"meross": (2.0, 30)}
"""Seconds between commands and most commands, by switch (others: 0.2 s, ``--samples``).

A Meross account's requests go through its limiter (60 a minute after a burst of 20: the
cloud's rate limit, ``vendors/meross/limiter.py``), and each command is followed by the
family's 3 burst polls 2 s apart: commands 2 s apart keep the plug's traffic at the 1 a second
the limiter allows, as a user's would. At 0.2 s (5 a second) the later commands wait in the
limiter for the account's budget (p95 about 800 ms in docs/benchmarks.md): that is the limit
working, not latency.
"""


async def measure_window(
    hass: HassClient,
    pid: int,
    window: float,
    commands: dict[str, str],
    samples: int,
    observer: MessageObserver | None = None,
    *,
    profile: bool = False,
) -> Figures:
    """CPU, lag, RSS and the probe's activity over ``window`` seconds; command latencies in its
    second half; the observer's messages over the window; a py-spy profile when ``profile``
    and ``SCALE_PY_SPY`` are set."""
    figures = Figures()
    profiler = None
    if (py_spy := os.environ.get("SCALE_PY_SPY")) and profile:
        # Development aid: a py-spy binary here records Home Assistant over the window
        # (py-spy's raw format, in the temporary directory); it is not part of the figures.
        output = Path(tempfile.gettempdir()) / f"scale-{pid}.txt"
        print(f"py-spy profile of Home Assistant (pid {pid}): {output}", file=sys.stderr)
        profiler = await asyncio.create_subprocess_exec(
            py_spy,
            "record",
            "-p",
            str(pid),
            "-d",
            str(int(window)),
            "-r",
            "50",
            "-f",
            "raw",
            "-o",
            str(output),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
    await call_probe(hass, "report", {"reset": True})
    if observer is not None:
        observer.reset()
    cpu_start, wall_start = proc_cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(window / 2)
    for name, entity_id in commands.items():
        pause, count = COMMAND_SPACING.get(name, (0.2, samples))
        figures.commands[name] = await call_probe(
            hass,
            "command_latency",
            {"entity_id": entity_id, "samples": min(samples, count), "pause": pause},
        )
    await asyncio.sleep(max(0.0, window - (time.monotonic() - wall_start)))
    cpu = proc_cpu_seconds(pid) - cpu_start
    figures.elapsed = time.monotonic() - wall_start
    figures.cpu_percent = cpu / figures.elapsed * 100
    if observer is not None:
        figures.messages = observer.reset()
    figures.probe = lag = await call_probe(hass, "report", {"reset": True})
    figures.lag_p50, figures.lag_p99 = lag["lag_p50"], lag["lag_p99"]
    if late := lag.get("late"):
        # SCALE_PROBE_LATE_MS (development aid): what ran while the lag timer was late.
        print(
            f"late lag samples (>= {late['late_ms']} ms): {late['late_samples']}; "
            "callbacks that ran meanwhile, heaviest first (count, total ms, max ms):",
            *(
                f"  {c['count']:6} {c['total_ms']:9.1f} {c['max_ms']:7.1f}  {c['name']}"
                for c in late["callbacks"]
            ),
            f"garbage collections by generation (count, total ms, max ms): "
            f"{late['garbage_collections']}",
            sep="\n",
            file=sys.stderr,
        )
    figures.rss_mb = proc_rss_mb(pid)
    if profiler is not None:
        await profiler.wait()
    return figures


# ----------------------------------------------------------------------------- the run


@dataclass
class Load:
    """Sizes of one run."""

    strips: int
    meross: int
    midea: int
    indi: int
    indi_rate: float
    window: float
    samples: int


async def run_switchboard(load: Load, tmp: Path) -> tuple[Figures, dict[str, int]]:
    """Phases 1 and 2: set up, restart, time to available, the measured window."""
    config_dir = tmp / "switchboard"
    config_dir.mkdir()
    port = unused_port()
    prepare(config_dir, port)
    url = f"http://127.0.0.1:{port}"
    log = config_dir / "hass-console.log"
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    strips = emulated_strips(load.strips, first_host=10, name="Strip", mac_group=0)
    meross_broker = Mosquitto(tls=True, allow_anonymous=False, anonymous_tls_listener=True)
    ha_broker = Mosquitto(tls=False)
    indi_port = unused_port()
    indi = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve-indi",
        str(indi_port),
        "--indi",
        str(load.indi),
        "--indi-rate",
        str(load.indi_rate),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    cloud: MerossCloudEmulator | None = None
    midea = [MideaLanServer(appliance) for appliance in emulated_midea(load.midea)]
    try:
        for strip in strips:
            await strip.start()
        for server in midea:
            await server.start()
        await meross_broker.start()
        await ha_broker.start()
        cloud, plugs = await start_meross_cloud(meross_broker, load.meross, "Plug")

        async with aiohttp.ClientSession() as session:
            hass = HassClient(session, url)
            # Phase 1: onboarding and the Meross account through the config flow.
            await onboard_with_meross(hass, session, config_dir, log, cloud.url)
            # Phase 2: every other entry in storage, then a measured start.
            entries = stored_entries(
                ha_broker.port, indi_port, strips, [server.appliance for server in midea]
            )
            add_entries(config_dir, entries)

            async def meross_pushes() -> None:
                rng = random.Random(11)
                interval = 30 / max(1, len(plugs))
                while not stop.is_set():
                    await asyncio.sleep(rng.expovariate(1 / interval))
                    plug = rng.choice(plugs)
                    with contextlib.suppress(Exception):
                        if rng.random() < 0.5:
                            await plug.set_power(rng.uniform(5, 200))
                        else:
                            await plug.push_toggle(not plug.onoff[0])

            async with running_hass(config_dir, log) as process:
                started = time.monotonic()
                await process.start()
                assert process.process is not None
                pid = process.process.pid
                await wait_api(hass, process, limit=300)
                available_s: float | None = None
                stable_since = 0.0
                last = (-1, -1)
                # Every entity available, then 5 s without change (at most 120 s after RUNNING).
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    counts = await count_available(hass, "switchboard")
                    now = time.monotonic() - started
                    if counts != last:
                        last, stable_since = counts, now
                        if counts[0] and counts[0] == counts[1]:
                            available_s = now
                    if (
                        counts[0] == counts[1] > 0
                        and now - stable_since > 5
                        and available_s is not None
                    ):
                        break
                    await asyncio.sleep(0.5)
                tasks.append(asyncio.create_task(meross_pushes()))
                states = await hass.states()
                switchboard = await hass.integration_entities("switchboard")
                commands = {
                    name: found
                    for name, prefix in (("strip", "switch.strip_1_"), ("meross", "switch.plug_1"))
                    if (
                        found := next(
                            (
                                entity
                                for entity in sorted(switchboard)
                                if entity.startswith(prefix)
                                and states[entity]["state"] in ("on", "off")
                            ),
                            None,
                        )
                    )
                }
                observer = MessageObserver(ha_broker, f"{BASE_TOPIC}/#")
                await observer.start()
                try:
                    figures = await measure_window(
                        hass, pid, load.window, commands, load.samples, observer, profile=True
                    )
                finally:
                    await observer.stop()
                figures.available_s = available_s
                figures.entities = last[0]
                figures.unavailable = last[0] - last[1]
                for name in ("strip", "meross"):
                    figures.commands.setdefault(
                        name, {"p50": None, "p95": None, "failed": 0, "errors": ["no entity"]}
                    )
                devices = {
                    "MaxSmart strips": load.strips,
                    "Meross plugs": load.meross,
                    "Midea appliances": load.midea,
                    "INDI devices": max(1, load.indi // INDI_VECTORS_PER_DEVICE),
                }
                return figures, devices
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await stop_emulators(cloud, strips, (meross_broker, ha_broker))
        for server in midea:
            with contextlib.suppress(Exception):
                await server.stop()
        with contextlib.suppress(ProcessLookupError):  # it may have ended (the error above)
            indi.terminate()
        await indi.wait()


@contextlib.asynccontextmanager
async def plain_hass(
    config_dir: Path, entities: int, entries: list[dict[str, Any]] | None = None
) -> AsyncIterator[tuple[HassClient, int, int]]:
    """A Home Assistant with ``entities`` plain sensors and no Switchboard, running and
    onboarded, for the block: yields its REST client, process id and plain entity count.

    ``entries``: config entries stored before it starts (the floor's ``mqtt`` entry). Raises
    RuntimeError when a plain entity is unavailable.
    """
    port = unused_port()
    prepare(config_dir, port, probe_entities=entities)  # creates config_dir
    shutil.rmtree(config_dir / "custom_components" / "switchboard", ignore_errors=True)
    (config_dir / "custom_components" / "switchboard").unlink(missing_ok=True)
    if entries:
        from homeassistant.config_entries import STORAGE_KEY, STORAGE_VERSION, STORAGE_VERSION_MINOR

        stored = {
            "version": STORAGE_VERSION,
            "minor_version": STORAGE_VERSION_MINOR,
            "key": STORAGE_KEY,
            "data": {"entries": entries},
        }
        (config_dir / ".storage" / STORAGE_KEY).write_text(json.dumps(stored))
    async with aiohttp.ClientSession() as session:
        hass = HassClient(session, f"http://127.0.0.1:{port}")
        async with running_hass(config_dir, config_dir / "hass-console.log") as process:
            await process.start()
            assert process.process is not None
            await hass.wait_until_up(lambda: process.alive, 120)
            await hass.onboard()
            await wait_api(hass, process)
            total, available = await count_available(hass, "scale_probe")
            if total != available:
                raise RuntimeError(
                    f"{config_dir.name}: {total - available} plain entities unavailable"
                )
            yield hass, process.process.pid, total


async def run_baseline(entities: int, window: float, tmp: Path) -> Figures:
    """Phase 3: the same number of idle plain entities, no devices."""
    async with plain_hass(tmp / "baseline", entities) as (hass, pid, total):
        figures = await measure_window(hass, pid, window, {}, 0)
        figures.entities = total
    return figures


def floor_groups(sb: Figures) -> list[dict[str, Any]]:
    """Phase 2's load as ``scale_probe.floor_load`` groups: one per device, its batches at the
    moments phase 2's window saw them, each with its writes and its share of publishes.

    Each entry's published messages are shared among its devices' batches by their writes (a
    bridge publishes what its devices' coordinators changed, at once); an entry that published
    without a state write gets a group of single publishes spread evenly over the window.
    """
    activity = sb.probe.get("activity", {}).get("switchboard", {}).get("groups", [])
    published: dict[str, int] = dict(sb.probe.get("published", {}).get("bridges", {}))
    entry_writes: dict[str | None, int] = {}
    for group in activity:
        entry_writes[group["entry_id"]] = entry_writes.get(group["entry_id"], 0) + group["writes"]
    groups: list[dict[str, Any]] = []
    for group in activity:
        writes = entry_writes[group["entry_id"]]
        per_write = published.get(group["entry_id"] or "", 0) / writes if writes else 0.0
        schedule, debt = [], 0.0
        for offset, batch in group["schedule"]:
            debt += batch * per_write
            publishes = int(debt)
            debt -= publishes
            schedule.append([offset, batch, publishes])
        groups.append({"entities": group["entities"], "schedule": schedule})
    for entry_id, count in published.items():
        if count > 0 and not entry_writes.get(entry_id):
            schedule = [[i * sb.elapsed / count, 0, 1] for i in range(count)]
            groups.append({"entities": 1, "schedule": schedule})
    return groups


async def run_floor(entities: int, sb: Figures, tmp: Path) -> Figures:
    """Phase 4: Home Assistant's floor for phase 2's load (plain entities, ``mqtt``, no
    Switchboard), measured over a window as long as phase 2's."""
    broker = Mosquitto(tls=False)
    await broker.start()
    mqtt_entry = storage_entry(
        "mqtt",
        "MQTT",
        {"broker": "127.0.0.1", "port": broker.port, "protocol": "3.1.1"},
        unique_id=None,
        minor_version=2,
    )
    sizes = sb.messages or MessageSizes()
    try:
        async with plain_hass(tmp / "floor", entities, [mqtt_entry]) as (hass, pid, total):
            groups = floor_groups(sb)
            observer = MessageObserver(broker, f"{BASE_TOPIC}/#")
            await observer.start()
            try:
                # The replay starts with this call and the window right after it (one
                # request later), so both last phase 2's window.
                await hass.request(
                    "POST",
                    "/api/services/scale_probe/floor_load",
                    json_body={
                        "groups": groups,
                        "topic_length": round(sizes.topic_length),
                        "payload_length": round(sizes.payload_length),
                        "base_topic": BASE_TOPIC,
                    },
                )
                figures = await measure_window(hass, pid, sb.elapsed, {}, 0, observer, profile=True)
            finally:
                await observer.stop()
            figures.entities = total
    finally:
        await broker.close()
    return figures


def report(load: Load, sb: Figures, base: Figures, floor: Figures, devices: dict[str, int]) -> bool:
    """Print the table and the goals; return whether every goal is met."""
    count = sum(devices.values())

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}"

    print(
        f"Scale: {', '.join(f'{n} {k}' for k, n in devices.items())}; INDI {load.indi} "
        f"properties at {load.indi_rate:g} updates/s; Meross pushes every 30 s per plug; "
        f"commands {', '.join(f'{n} {p:g} s' for n, (p, _) in COMMAND_SPACING.items())} apart "
        "(others 0.2 s); "
        f"MQTT bridge {'on' if BRIDGE else 'off'}; window {load.window:g} s; {os.cpu_count()} CPUs"
    )
    widths = (13, 11, 10, 9)
    header = f"{'metric':<42}{'switchboard':>13}{'baseline':>11}{'added':>10}{'floor':>9}"
    print(header)
    print("-" * len(header))

    def sizes(figures: Figures) -> str:
        found = figures.messages
        return "-" if found is None else f"{found.topic_length:.0f}/{found.payload_length:.0f}"

    rows: list[tuple[str, ...]] = [
        ("entities", f"{sb.entities}", f"{base.entities}", "", f"{floor.entities}"),
        (
            "HA process CPU (% of one core)",
            f"{sb.cpu_percent:.1f}",
            f"{base.cpu_percent:.1f}",
            f"{sb.cpu_percent - base.cpu_percent:+.1f}",
            f"{floor.cpu_percent:.1f}",
        ),
        ("loop lag p50 (ms)", ms(sb.lag_p50), ms(base.lag_p50), "", ms(floor.lag_p50)),
        ("loop lag p99 (ms)", ms(sb.lag_p99), ms(base.lag_p99), "", ms(floor.lag_p99)),
        (
            "writes in the busiest 0.5 s of 5 s (%)",
            f"{sb.busiest_share('switchboard'):.1f}",
            "",
            "",
            f"{floor.busiest_share('scale_probe'):.1f}",
        ),
        (
            "start -> all entities available (s)",
            ms(sb.available_s),
            ms(base.available_s),
            f"{sb.unavailable} never" if sb.unavailable else "",
            "",
        ),
        (
            "RSS (MiB)",
            f"{sb.rss_mb:.0f}",
            f"{base.rss_mb:.0f}",
            f"{sb.rss_mb - base.rss_mb:+.0f}",
            f"{floor.rss_mb:.0f}",
        ),
        ("RSS per device (MiB)", f"{(sb.rss_mb - base.rss_mb) / count:.2f}", "", "", ""),
        (
            "state writes/s",
            f"{sb.writes_per_s('switchboard'):.1f}",
            f"{base.writes_per_s('scale_probe'):.1f}",
            "",
            f"{floor.writes_per_s('scale_probe'):.1f}",
        ),
        (
            "MQTT publishes/s",
            f"{sb.publishes_per_s():.1f}",
            "",
            "",
            f"{floor.publishes_per_s():.1f}",
        ),
        ("MQTT topic/payload (chars)", sizes(sb), "", "", sizes(floor)),
    ]
    for name, result in sb.commands.items():
        rows.append((f"command -> state p50, {name} (ms)", ms(result["p50"]), "", "", ""))
        rows.append(
            (
                f"command -> state p95, {name} (ms)",
                ms(result["p95"]),
                "",
                f"{result['failed']} failed"
                if result["failed"]
                else ("no entity" if result["p95"] is None else ""),
                "",
            )
        )
    above_lag = (
        "-" if sb.lag_p99 is None or floor.lag_p99 is None else f"{sb.lag_p99 - floor.lag_p99:+.1f}"
    )
    rows += [
        ("Switchboard above the floor, CPU (%)", f"{sb.cpu_percent - floor.cpu_percent:+.1f}"),
        ("Switchboard above the floor, lag p99 (ms)", above_lag),
    ]
    for name, *values in rows:
        cells = "".join(f"{v:>{w}}" for v, w in zip(values, widths, strict=False))
        print(f"{name:<42}{cells}".rstrip())
    goals = [
        (
            f"Switchboard adds < {GOAL_CPU_ADDED:g} % of one core",
            sb.cpu_percent - base.cpu_percent < GOAL_CPU_ADDED,
        ),
        (
            f"loop lag p99 < {GOAL_LAG_P99:g} ms",
            sb.lag_p99 is not None and sb.lag_p99 < GOAL_LAG_P99,
        ),
        (
            f"all entities available within {GOAL_AVAILABLE:g} s",
            sb.available_s is not None and sb.available_s < GOAL_AVAILABLE,
        ),
    ]
    goals += [
        (
            f"command -> state p95 < {GOAL_COMMAND_P95:g} ms ({name})",
            result["p95"] is not None and result["p95"] < GOAL_COMMAND_P95 and not result["failed"],
        )
        for name, result in sb.commands.items()
    ]
    for text, met in goals:
        print(f"goal: {text}: {'met' if met else 'MISSED'}")
    return all(met for _, met in goals)


async def main_async(load: Load) -> bool:
    keep = bool(os.environ.get("SCALE_KEEP"))  # keep the config dirs (and logs) to read
    with tempfile.TemporaryDirectory(prefix="switchboard-scale-", delete=not keep) as tmp:
        if keep:
            print(f"config directories kept in {tmp}", file=sys.stderr)
        sb, devices = await run_switchboard(load, Path(tmp))
        base = await run_baseline(sb.entities, load.window, Path(tmp))
        floor = await run_floor(sb.entities, sb, Path(tmp))
    return report(load, sb, base, floor, devices)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="1-minute run with fewer devices")
    parser.add_argument("--strips", type=int, default=100)
    parser.add_argument("--meross", type=int, default=50)
    parser.add_argument("--midea", type=int, default=10, help="Midea appliances")
    parser.add_argument("--indi", type=int, default=1000, help="INDI number properties")
    parser.add_argument("--indi-rate", type=float, default=20.0, help="INDI updates/s in total")
    parser.add_argument("--window", type=float, default=600.0, help="seconds measured per run")
    parser.add_argument("--samples", type=int, default=50, help="commands per switch")
    parser.add_argument(
        "--no-bridge", action="store_true", help="MQTT bridge off (what does it cost?)"
    )
    parser.add_argument("--serve-indi", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_indi:
        serve_indi(args.serve_indi, args.indi, args.indi_rate)
        return
    global BRIDGE  # noqa: PLW0603 - a command-line switch read by bridge_options
    BRIDGE = not args.no_bridge
    if args.quick:
        args.strips, args.meross, args.midea, args.indi = 10, 5, 2, 100
        args.window, args.samples = 20.0, 10
    load = Load(
        args.strips,
        args.meross,
        args.midea,
        args.indi,
        args.indi_rate,
        args.window,
        args.samples,
    )
    sys.exit(0 if asyncio.run(main_async(load)) else 1)


if __name__ == "__main__":
    main()
