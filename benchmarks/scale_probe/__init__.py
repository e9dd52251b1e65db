"""Measuring probe loaded into Home Assistant by ``benchmarks/scale.py`` (never shipped).

* Event-loop lag: a 100 ms timer re-armed forever; each firing records how late it fired (ms).
* ``scale_probe.report`` (response): lag p50/p99/max and the sample count since the last
  reset (``reset: true`` starts a new window).
* ``scale_probe.command_latency`` (response): toggles ``entity_id`` ``samples`` times with
  ``switch.turn_on``/``turn_off`` and returns each command -> state time in ms (from the
  service call to the ``state_changed`` event carrying the new state).
* ``scale_probe.command`` (response, for ``benchmarks/soak.py``): one command to ``entity_id``
  and its outcome: ``confirmed`` (the state reached the target within ``timeout`` s), ``error``
  (the call raised; ``error`` holds its translation key or repr) or ``lost`` (no error and no
  new state: a silently dropped command). Without ``service``: ``switch.turn_on`` / ``turn_off``
  (the opposite of its state). With ``service`` (``"<domain>.<service>"``), ``data`` (extra
  service data), ``attribute`` (or none: the state) and ``target``: that call, confirmed when
  the attribute (or state) equals ``target``.
* ``scale_probe.resources`` (response): asyncio tasks of Home Assistant's loop and the open
  sockets of the process (from ``/proc/self/fd``).
* ``SCALE_PROBE_LATE_MS`` (environment, a development aid like ``scale.py``'s
  ``SCALE_PY_SPY``): every loop callback is timed (:class:`CallbackTracer`); for each lag
  sample later than this many ms, the callbacks that ran while the timer was due are added up
  by name, and ``report`` returns the heaviest under ``late``. Costs about a microsecond a
  callback: not for the figures.
* ``sensor: - platform: scale_probe`` with ``entities: N``: N plain sensors that never change
  (the baseline: Home Assistant idle with as many entities).
* Activity, in ``report``'s response under ``activity`` (counted from the first report with
  ``reset: true`` on): the ``state_changed`` events of every registered entity since the last
  reset, grouped by platform and by device (an entity without a device is its own group): its
  config entry, writes, entities written and ``schedule``, one ``[offset, writes]`` per batch
  (offset in s from the reset); a *batch* is a run of a group's events less than
  ``BATCH_GAP`` s apart (a coordinator update writes its entities in one go).
  Under ``published``: the messages each Switchboard entry's exporters counted as published
  (their diagnostics' ``stats.published``, by entry id) and those the floor load published,
  since the last reset.
* ``scale_probe.floor_load``: Home Assistant's floor for a measured load, without Switchboard:
  each of ``groups`` (``{"entities": n, "schedule": [[offset, writes, publishes], ...]}``) gets
  its own ``n`` plain sensors; at each ``offset`` (s from the call) it writes ``writes`` of
  them with ``async_write_ha_state`` (new values, round robin) and publishes ``publishes``
  messages through ``mqtt.async_publish`` (QoS 0, retained, awaited in turn in one task per
  batch, as ``mqtt_statestream`` publishes a change), on topics of ``topic_length`` and
  payloads of ``payload_length`` characters under ``base_topic``. ``stop: true`` ends it.
"""

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
import gc
import os
import re
import statistics
import time
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import (
    Event,
    EventStateChangedData,
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.helpers import entity_registry as er
from homeassistant.util.hass_dict import HassKey

if TYPE_CHECKING:
    from .sensor import PlainSensor

DOMAIN = "scale_probe"
INTERVAL = 0.1
BATCH_GAP = 0.02
"""Seconds: a group's ``state_changed`` events closer than this belong to one batch."""
DATA_SENSORS: HassKey[list[PlainSensor]] = HassKey(f"{DOMAIN}_sensors")
"""The plain sensors of the ``sensor`` platform, for the floor load."""


class LagMonitor:
    """How late a repeating 100 ms timer fires, in ms."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, tracer: CallbackTracer | None = None
    ) -> None:
        self.loop = loop
        self.samples: list[float] = []
        self._due = 0.0
        self._handle: asyncio.TimerHandle | None = None
        self.tracer = tracer

    def start(self) -> None:
        self._due = self.loop.time() + INTERVAL
        self._handle = self.loop.call_at(self._due, self._fire)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        if self.tracer is not None:
            self.tracer.uninstall()

    def _fire(self) -> None:
        now = self.loop.time()
        lag_ms = (now - self._due) * 1000
        self.samples.append(lag_ms)
        if self.tracer is not None:
            self.tracer.late(time.perf_counter() - lag_ms / 1000, lag_ms)
        self._due = now + INTERVAL
        self._handle = self.loop.call_at(self._due, self._fire)


class CallbackTracer:
    """Times every callback of the loop (``asyncio.Handle._run``) into a short history; the
    lag monitor asks it what ran between a timer's due time and its late firing."""

    def __init__(self, late_ms: float) -> None:
        self.late_ms = late_ms
        self.history: deque[tuple[float, float, Any]] = deque(maxlen=4000)
        """(start, seconds, handle callback) of the recent callbacks that took > 0.1 ms."""
        self.blame: dict[str, list[float]] = {}
        """Name -> [count, total ms, max ms] over the late samples."""
        self.late_samples = 0
        self._run = asyncio.events.Handle._run
        self.collections: dict[int, list[float]] = {}
        """Garbage collector generation -> [count, total ms, max ms] since the last report."""
        self._collecting = 0.0

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._collecting = time.perf_counter()
            return
        took = time.perf_counter() - self._collecting
        _tally(self.collections, info["generation"], took * 1000)
        self.history.append((self._collecting, took, f"garbage collection {info['generation']}"))

    def install(self) -> None:
        """Wrap ``asyncio.Handle._run`` (every callback of every loop) and follow collections."""
        run, history, clock = self._run, self.history, time.perf_counter

        def timed_run(handle: asyncio.Handle) -> None:
            start = clock()
            run(handle)
            took = clock() - start
            if took > 0.0001:
                history.append((start, took, handle._callback))  # type: ignore[attr-defined]

        asyncio.events.Handle._run = timed_run  # type: ignore[method-assign]
        gc.callbacks.append(self._on_gc)

    def uninstall(self) -> None:
        """Restore ``asyncio.Handle._run`` and stop following collections."""
        asyncio.events.Handle._run = self._run  # type: ignore[method-assign]
        gc.callbacks.remove(self._on_gc)

    def late(self, due: float, lag_ms: float) -> None:
        """A timer due at ``due`` (``time.perf_counter`` s) fired ``lag_ms`` late."""
        if lag_ms < self.late_ms:
            return
        self.late_samples += 1
        for start, took, function in self.history:
            if start + took < due:
                continue
            _tally(self.blame, _callback_name(function), took * 1000)

    def report(self, top: int = 25) -> dict[str, Any]:
        """The ``top`` heaviest callbacks of the late samples and the collections, then reset.

        ``{"late_ms", "late_samples", "callbacks": [{"name", "count", "total_ms", "max_ms"}],
        "garbage_collections": {generation: [count, total ms, max ms]}}``.
        """
        heaviest = sorted(self.blame.items(), key=lambda item: -item[1][1])[:top]
        result = {
            "late_ms": self.late_ms,
            "late_samples": self.late_samples,
            "callbacks": [
                {
                    "name": name,
                    "count": count,
                    "total_ms": round(total, 1),
                    "max_ms": round(most, 1),
                }
                for name, (count, total, most) in heaviest
            ],
        }
        result["garbage_collections"] = {
            str(generation): [count, round(total, 1), round(most, 1)]
            for generation, (count, total, most) in sorted(self.collections.items())
        }
        self.blame = {}
        self.late_samples = 0
        self.collections = {}
        return result


def _tally[K](table: dict[K, list[float]], key: K, ms: float) -> None:
    """Add one duration of ``ms`` to ``table[key]``: [count, total ms, max ms]."""
    entry = table.setdefault(key, [0, 0.0, 0.0])
    entry[0] += 1
    entry[1] += ms
    entry[2] = max(entry[2], ms)


def _callback_name(callback: Any) -> str:
    """A task's coroutine and name, a transport's protocol, or the callback's qualified name."""
    if isinstance(callback, str):
        return callback
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, asyncio.Task):
        coro = owner.get_coro()
        name = getattr(coro, "__qualname__", None) or repr(coro)
        module = getattr(getattr(coro, "cr_code", None), "co_filename", "")
        task = re.sub(r"\d+", "N", owner.get_name())
        return f"task {name} ({_short(module)}) {task[:60]}"
    if owner is not None and hasattr(owner, "get_protocol"):
        protocol = owner.get_protocol()
        kind = type(protocol)
        method = getattr(callback, "__name__", "?")
        return f"{type(owner).__name__}.{method} -> {kind.__module__}.{kind.__qualname__}"
    function = getattr(callback, "func", callback)  # functools.partial
    name = getattr(function, "__qualname__", None) or repr(function)
    module = getattr(function, "__module__", None) or ""
    return f"{module}.{name}"


def _short(path: str) -> str:
    parts = path.split("/")
    return "/".join(parts[-3:])


@dataclass
class _Group:
    """State writes of one device (or one entity without a device) in the current window.

    ``schedule``: one ``[offset, writes]`` per batch, ``offset`` in s from the window's start.
    """

    entry_id: str | None
    writes: int = 0
    last: float = -1.0
    entities: set[str] = field(default_factory=set)
    schedule: list[list[float]] = field(default_factory=list)


class ActivityCounter:
    """``state_changed`` events by platform and device, and Switchboard's published messages.

    One dictionary look-up per event once the entity's registry entry is known.
    """

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass
        self._registry = er.async_get(hass)
        self._keys: dict[str, tuple[str, str | None, str] | None] = {}
        self.groups: dict[tuple[str, str], _Group] = {}
        self.floor_published = 0
        self._published_at_reset: dict[str, int] = {}
        self._since = hass.loop.time()

    @callback
    def on_state_changed(self, event: Event[EventStateChangedData]) -> None:
        """Count one event for its entity's group."""
        entity_id = event.data["entity_id"]
        if entity_id in self._keys:
            key = self._keys[entity_id]
        else:
            entry = self._registry.async_get(entity_id)
            key = self._keys[entity_id] = (
                None
                if entry is None
                else (entry.platform, entry.config_entry_id, entry.device_id or entity_id)
            )
        if key is None:
            return
        platform, entry_id, device = key
        group = self.groups.get((platform, device))
        if group is None:
            group = self.groups[platform, device] = _Group(entry_id)
        now = self.hass.loop.time()
        if now - group.last > BATCH_GAP:
            group.schedule.append([round(now - self._since, 4), 0])
        group.schedule[-1][1] += 1
        group.last = now
        group.writes += 1
        group.entities.add(entity_id)

    def _published(self) -> dict[str, int]:
        """Messages each loaded Switchboard entry's exporters have published since start."""
        published: dict[str, int] = {}
        for entry in self.hass.config_entries.async_entries("switchboard"):
            if entry.state is not ConfigEntryState.LOADED:
                continue
            for exporter in getattr(entry.runtime_data, "exporters", ()):
                count = exporter.diagnostics().get("stats", {}).get("published")
                if isinstance(count, int):
                    published[entry.entry_id] = published.get(entry.entry_id, 0) + count
        return published

    def report(self, *, reset: bool) -> dict[str, Any]:
        """Writes by platform and group, and messages published, since the last reset.

        Each group: ``{"entry_id", "writes", "entities", "schedule"}``.
        """
        by_platform: dict[str, dict[str, Any]] = {}
        for (platform, _), group in self.groups.items():
            found = by_platform.setdefault(platform, {"writes": 0, "groups": []})
            found["writes"] += group.writes
            found["groups"].append(
                {
                    "entry_id": group.entry_id,
                    "writes": group.writes,
                    "entities": len(group.entities),
                    "schedule": group.schedule,
                }
            )
        now = self._published()
        result = {
            "activity": by_platform,
            "published": {
                "bridges": {
                    entry_id: count - self._published_at_reset.get(entry_id, 0)
                    for entry_id, count in now.items()
                },
                "floor": self.floor_published,
            },
        }
        if reset:
            self.groups = {}
            self.floor_published = 0
            self._published_at_reset = now
            self._since = self.hass.loop.time()
        return result


class FloorLoad:
    """The floor's state writes and MQTT publishes (see ``scale_probe.floor_load``)."""

    def __init__(self, hass: HomeAssistant, counter: ActivityCounter, data: dict[str, Any]) -> None:
        self.hass = hass
        self.counter = counter
        sensors: list[PlainSensor] = hass.data.get(DATA_SENSORS, [])
        self.payload_length = max(1, int(data.get("payload_length", 1)))
        topic_length = int(data.get("topic_length", 0))
        base_topic = str(data.get("base_topic", "floor"))
        self._handles: list[asyncio.TimerHandle] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._value = 0
        self._sensors: list[list[PlainSensor]] = []
        self._topics: list[list[str]] = []
        self._next: list[int] = []
        start = hass.loop.time()
        first = 0
        for index, group in enumerate(data["groups"]):
            count = max(1, int(group["entities"]))
            self._sensors.append(
                [sensors[(first + i) % len(sensors)] for i in range(count)] if sensors else []
            )
            first += count
            topics = []
            for i in range(count):
                topic = f"{base_topic}/floor_{index}/v{i}"
                topics.append(topic + "_" * max(0, topic_length - len(topic)))
            self._topics.append(topics)
            self._next.append(0)
            self._handles += [
                hass.loop.call_at(start + offset, self._fire, index, int(writes), int(publishes))
                for offset, writes, publishes in group["schedule"]
            ]

    @callback
    def _fire(self, index: int, writes: int, publishes: int) -> None:
        """One batch of a group: its state writes now, its publishes in one task."""
        sensors, topics = self._sensors[index], self._topics[index]
        for _ in range(writes if sensors else 0):
            self._value += 1
            sensors[self._next[index] % len(sensors)].async_write_value(self._value % 100000 / 10)
            self._next[index] += 1
        if not publishes:
            return
        messages = []
        for i in range(publishes):
            self._value += 1
            payload = f"{self._value:0{self.payload_length}d}"[-self.payload_length :]
            messages.append((topics[(self._next[index] + i) % len(topics)], payload))
        task = self.hass.async_create_background_task(
            self._async_publish(messages), "scale_probe floor publish"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _async_publish(self, messages: list[tuple[str, str]]) -> None:
        """Publish ``messages`` in turn (QoS 0, retained); count those the client took."""
        # Imported here: the baseline, which never publishes, does not load mqtt.
        from homeassistant.components import mqtt

        for topic, payload in messages:
            await mqtt.async_publish(self.hass, topic, payload, 0, True)
            self.counter.floor_published += 1

    def stop(self) -> None:
        """Stop firing and cancel the publishes still pending."""
        for handle in self._handles:
            handle.cancel()
        for task in self._tasks:
            task.cancel()


def _percentile(values: list[float], q: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100)[q - 1]


def _open_sockets() -> int:
    """Open sockets of this process (``/proc/self/fd`` entries that are sockets)."""
    sockets = 0
    for name in os.listdir("/proc/self/fd"):
        try:
            sockets += os.readlink(f"/proc/self/fd/{name}").startswith("socket:")
        except OSError:  # closed while listing
            continue
    return sockets


async def async_setup(hass: HomeAssistant, config: dict[str, Any]) -> bool:
    """Start the lag monitor and register the two services."""
    tracer = None
    if late_ms := os.environ.get("SCALE_PROBE_LATE_MS"):
        tracer = CallbackTracer(float(late_ms))
        tracer.install()
    monitor = LagMonitor(hass.loop, tracer)
    monitor.start()
    hass.bus.async_listen_once("homeassistant_stop", lambda _: monitor.stop())
    counter = ActivityCounter(hass)
    # Counting starts with the first report that resets (a measured window), so a run that
    # never asks (benchmarks/soak.py, hours long) neither pays for it nor accumulates it.
    counting: list[Callable[[], None]] = []
    floor: list[FloorLoad] = []

    async def report(call: ServiceCall) -> ServiceResponse:
        samples = monitor.samples
        result: dict[str, Any] = {
            "samples": len(samples),
            "lag_p50": _percentile(samples, 50),
            "lag_p99": _percentile(samples, 99),
            "lag_max": max(samples) if samples else None,
        }
        result.update(counter.report(reset=bool(call.data.get("reset"))))
        if tracer is not None:
            result["late"] = tracer.report()
        if call.data.get("reset"):
            monitor.samples = []
            if not counting:
                counting.append(
                    hass.bus.async_listen(EVENT_STATE_CHANGED, counter.on_state_changed)
                )
        return result

    async def floor_load(call: ServiceCall) -> None:
        while floor:
            floor.pop().stop()
        if not call.data.get("stop"):
            floor.append(FloorLoad(hass, counter, dict(call.data)))

    async def command_latency(call: ServiceCall) -> ServiceResponse:
        entity_id: str = call.data["entity_id"]
        latencies: list[float] = []
        errors: list[str] = []
        for _ in range(int(call.data.get("samples", 20))):
            current = hass.states.get(entity_id)
            target = "off" if current is not None and current.state == "on" else "on"
            seen: asyncio.Future[float] = hass.loop.create_future()

            @callback
            def on_state(event: Event[Any], target: str = target, seen: Any = seen) -> None:
                new = event.data["new_state"]
                if (
                    event.data["entity_id"] == entity_id
                    and new is not None
                    and new.state == target
                    and not seen.done()
                ):
                    seen.set_result(time.perf_counter())

            unsubscribe = hass.bus.async_listen(EVENT_STATE_CHANGED, on_state)
            started = time.perf_counter()
            try:
                await hass.services.async_call(
                    "switch", f"turn_{target}", {"entity_id": entity_id}, blocking=True
                )
                async with asyncio.timeout(10):
                    done = await seen
                latencies.append((done - started) * 1000)
            except Exception as err:  # reported in the response, not raised
                errors.append(repr(err))
            finally:
                unsubscribe()
            await asyncio.sleep(float(call.data.get("pause", 0.2)))
        return {
            "latencies": latencies,
            "failed": len(errors),
            "errors": errors[:5],
            "p50": _percentile(latencies, 50),
            "p95": _percentile(latencies, 95),
        }

    async def command(call: ServiceCall) -> ServiceResponse:
        entity_id: str = call.data["entity_id"]
        attribute: str | None = call.data.get("attribute")
        if "service" in call.data:
            domain, service = str(call.data["service"]).split(".", 1)
            target = call.data["target"]
        else:
            current = hass.states.get(entity_id)
            target = "off" if current is not None and current.state == "on" else "on"
            domain, service = "switch", f"turn_{target}"
        seen: asyncio.Future[None] = hass.loop.create_future()

        @callback
        def on_state(event: Event[Any]) -> None:
            new = event.data["new_state"]
            if (
                event.data["entity_id"] == entity_id
                and new is not None
                and (new.attributes.get(attribute) if attribute else new.state) == target
                and not seen.done()
            ):
                seen.set_result(None)

        unsubscribe = hass.bus.async_listen(EVENT_STATE_CHANGED, on_state)
        try:
            try:
                await hass.services.async_call(
                    domain,
                    service,
                    {**call.data.get("data", {}), "entity_id": entity_id},
                    blocking=True,
                )
            except Exception as err:  # the outcome, not raised
                error = getattr(err, "translation_key", None) or repr(err)
                return {"outcome": "error", "error": error}
            try:
                async with asyncio.timeout(float(call.data.get("timeout", 15))):
                    await seen
            except TimeoutError:
                state = hass.states.get(entity_id)
                return {"outcome": "lost", "state": state.state if state else None}
        finally:
            unsubscribe()
        return {"outcome": "confirmed"}

    async def resources(call: ServiceCall) -> ServiceResponse:
        sockets = await hass.async_add_executor_job(_open_sockets)
        return {"tasks": len(asyncio.all_tasks(hass.loop)), "sockets": sockets}

    hass.services.async_register(
        DOMAIN, "command", command, supports_response=SupportsResponse.ONLY
    )
    hass.services.async_register(
        DOMAIN, "resources", resources, supports_response=SupportsResponse.ONLY
    )
    hass.services.async_register(DOMAIN, "floor_load", floor_load)
    hass.services.async_register(DOMAIN, "report", report, supports_response=SupportsResponse.ONLY)
    hass.services.async_register(
        DOMAIN, "command_latency", command_latency, supports_response=SupportsResponse.ONLY
    )
    return True
