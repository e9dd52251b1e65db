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
* ``sensor: - platform: scale_probe`` with ``entities: N``: N plain sensors that never change
  (the baseline: Home Assistant idle with as many entities).
"""

import asyncio
import os
import statistics
import time
from typing import Any

from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import (
    Event,
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)

DOMAIN = "scale_probe"
INTERVAL = 0.1


class LagMonitor:
    """How late a repeating 100 ms timer fires, in ms."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.samples: list[float] = []
        self._due = 0.0
        self._handle: asyncio.TimerHandle | None = None

    def start(self) -> None:
        self._due = self.loop.time() + INTERVAL
        self._handle = self.loop.call_at(self._due, self._fire)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()

    def _fire(self) -> None:
        now = self.loop.time()
        self.samples.append((now - self._due) * 1000)
        self._due = now + INTERVAL
        self._handle = self.loop.call_at(self._due, self._fire)


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
    monitor = LagMonitor(hass.loop)
    monitor.start()
    hass.bus.async_listen_once("homeassistant_stop", lambda _: monitor.stop())

    async def report(call: ServiceCall) -> ServiceResponse:
        samples = monitor.samples
        result = {
            "samples": len(samples),
            "lag_p50": _percentile(samples, 50),
            "lag_p99": _percentile(samples, 99),
            "lag_max": max(samples) if samples else None,
        }
        if call.data.get("reset"):
            monitor.samples = []
        return result

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
    hass.services.async_register(DOMAIN, "report", report, supports_response=SupportsResponse.ONLY)
    hass.services.async_register(
        DOMAIN, "command_latency", command_latency, supports_response=SupportsResponse.ONLY
    )
    return True
