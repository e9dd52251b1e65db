"""The MaxSmart stack: two emulated strips of different firmware and the broadcast relay."""

import asyncio
from dataclasses import dataclass
import math
import os
import time
from typing import Any, override

from devtools.develop.hass import HassClient, expect_entry
from devtools.develop.report import CheckFailed, CheckReport
from devtools.develop.stack import Stack, StackContext, StackError, stop_quietly
from emulators.maxsmart import MaxSmartBroadcastRelay, MaxSmartEmulator

MAXSMART_MANUFACTURER = "Max Hauri / Revogi"
"""The manufacturer MaxSmart devices carry (the SEPL platform device's ``manufacturer`` tag)."""


@dataclass(frozen=True, slots=True)
class StripSpec:
    """One emulated strip of the MaxSmart stack."""

    name: str
    interactive_host: str
    check_host: str
    isolated_host: str
    serial: str
    firmware: str
    port_count: int
    mac: str
    port_names: tuple[str, ...]


DESK_PORTS = ("Monitor", "Desk lamp", "Laptop", "Speakers", "Printer", "Charger")
RACK_PORTS = ("Router", "NAS", "Switch", "Modem", "Camera hub", "Fan")
"""The emulated strips' own port names (a strip's names are shown by Home Assistant)."""


class MaxSmartStack(Stack):
    """Two emulated MaxSmart strips of different firmware plus the broadcast relay.

    Interactive: ``Desk`` (6 ports, firmware 1.30) on 127.0.0.2 and ``Rack`` (6 ports,
    firmware 2.11) on 127.0.0.3, HTTP on port 80 and UDP discovery on 8888 like real strips,
    and a relay on 0.0.0.0:8888 so that the config flow's broadcast to 127.255.255.255 finds
    both. ``--check`` uses 127.0.0.4/127.0.0.5 (``--isolated`` 127.0.0.6/127.0.0.7) and serials
    derived from its process id, so it
    never collides with an interactive run (or another check). If port 80 or 8888 cannot be
    bound (not root, or taken), the strips get free high ports and :meth:`describe` shows the
    ``host:port`` and discovery port to enter by hand.
    """

    name = "MaxSmart"

    def __init__(self) -> None:
        """Nothing runs before :meth:`start`."""
        self.emulators: list[MaxSmartEmulator] = []
        self.relay: MaxSmartBroadcastRelay | None = None
        self.fallback: list[str] = []
        self.check_mode = False

    def _specs(self, check: bool) -> list[StripSpec]:
        # Serials must be unique per run in --check, because discovery (UDP 8888) is shared
        # with any other run on this machine and entries are keyed by serial.
        tag = os.getpid() % 10**6 if check else 0
        return [
            StripSpec(
                name="Desk",
                interactive_host="127.0.0.2",
                check_host="127.0.0.4",
                isolated_host="127.0.0.6",
                serial=f"SWP6023{tag:06d}001",
                firmware="1.30",
                port_count=6,
                mac="BC:2B:00:00:00:02",
                port_names=DESK_PORTS,
            ),
            StripSpec(
                name="Rack",
                interactive_host="127.0.0.3",
                check_host="127.0.0.5",
                isolated_host="127.0.0.7",
                serial=f"SWP6023{tag:06d}002",
                firmware="2.11",
                port_count=6,
                mac="BC:2B:00:00:00:03",
                port_names=RACK_PORTS,
            ),
        ]

    @override
    async def start(self, context: StackContext) -> None:
        """Start both strips (port 80/8888, else free ports) and the relay on UDP 8888.

        Raises StackError if even free ports cannot be bound (e.g. 127.0.0.2 unusable).
        """
        self.check_mode = context.check
        for spec in self._specs(context.check):
            host = spec.interactive_host
            if context.check:
                host = spec.isolated_host if context.isolated else spec.check_host
            kwargs: dict[str, Any] = {
                "serial": spec.serial,
                "name": spec.name,
                "port_count": spec.port_count,
                "firmware": spec.firmware,
                "mac": spec.mac,
                "port_names": spec.port_names,
            }
            emulator = MaxSmartEmulator(host, 80, 8888, **kwargs)
            try:
                await emulator.start()
            except OSError as err:
                self.fallback.append(f"port 80/8888 on {host} unavailable ({err.strerror or err})")
                emulator = MaxSmartEmulator(host, 0, 0, **kwargs)
                try:
                    await emulator.start()
                except OSError as err2:
                    raise StackError(f"MaxSmart: cannot bind {host}: {err2}") from err2
            self.emulators.append(emulator)
        relay = MaxSmartBroadcastRelay(8888)
        try:
            await relay.start()
        except OSError as err:
            self.fallback.append(f"broadcast relay on UDP 8888 unavailable ({err}); no discovery")
        else:
            self.relay = relay
            for emulator in self.emulators:
                relay.register(emulator)

    @override
    async def stop(self) -> None:
        """Stop the relay and the strips."""
        if self.relay is not None:
            await self.relay.stop()
            self.relay = None
        await stop_quietly(*self.emulators)

    @staticmethod
    def address(emulator: MaxSmartEmulator) -> str:
        """What a user enters as Host: ``host`` on port 80, else ``host:port``."""
        port = emulator.http_port
        return emulator.host if port == 80 else f"{emulator.host}:{port}"

    @override
    def describe(self) -> list[str]:
        """Where the strips are and how to add them."""
        lines = [
            "MaxSmart: Settings > Devices & services > Add integration > Switchboard > "
            "MaxSmart / Revogi lists:"
        ]
        for emulator in self.emulators:
            lines.append(
                f"  {emulator.name} ({emulator.host}, {emulator.serial}) "
                f"{emulator.port_count} ports, firmware {emulator.firmware}: "
                f"host {self.address(emulator)}, discovery port {emulator.udp_port}"
            )
        if self.fallback:
            lines.append(
                f"  note: {'; '.join(self.fallback)}; choose 'manual' and enter the host above, "
                "with the discovery port under Advanced"
            )
        return lines

    # ---------------------------------------------------------------- --check

    @override
    async def check(self, hass: HassClient, report: CheckReport) -> None:
        """Add the first strip through discovery, the second by address; toggle and measure."""
        first, second = self.emulators
        known = await hass.integration_entities("switchboard")
        async with report.step("MaxSmart: config flow menu") as step:
            flow = await hass.flow_start("switchboard")
            if flow.get("type") != "menu" or "maxsmart" not in flow.get("menu_options", []):
                raise CheckFailed(f"expected a menu offering maxsmart, got {flow}")
            step.detail = f"options {', '.join(flow['menu_options'])}"
        await self._add_via_discovery(hass, report, flow["flow_id"], first)
        known = await self._exercise(hass, report, first, known)
        await self._add_manually(hass, report, second)
        await self._exercise(hass, report, second, known)

    async def _add_via_discovery(
        self, hass: HassClient, report: CheckReport, flow_id: str, emulator: MaxSmartEmulator
    ) -> None:
        """Pick ``emulator`` from the discovery list (by address if it is not selectable)."""
        label = f"{emulator.name} (fw {emulator.firmware})"
        async with report.step("MaxSmart: discovery") as step:
            result = await hass.flow_step(flow_id, {"next_step_id": "maxsmart"})
            listed = (
                _select_options(result, "device") if result.get("step_id") == "maxsmart" else {}
            )
            ours = [serial for serial in listed if serial in {e.serial for e in self.emulators}]
            step.detail = f"{len(ours)} of our strips listed: " + "; ".join(
                listed[serial] for serial in ours
            )
        use_discovery = emulator.serial in listed and emulator.http_port == 80
        if not use_discovery:
            report.note(
                "MaxSmart: discovery",
                f"{emulator.name} not selectable there; adding it by address instead",
            )
        async with report.step(f"MaxSmart: add {label} via discovery") as step:
            if use_discovery:
                result = await hass.flow_step(flow_id, {"device": emulator.serial})
            else:
                if result.get("step_id") == "maxsmart":
                    result = await hass.flow_step(flow_id, {"device": "manual"})
                result = await hass.flow_step(flow_id, self._manual_input(emulator))
                step.name = f"MaxSmart: add {label} by address"
            step.detail = _expect_entry(result, emulator)

    async def _add_manually(
        self, hass: HassClient, report: CheckReport, emulator: MaxSmartEmulator
    ) -> None:
        """Add ``emulator`` through the address form (``host[:port]`` + discovery port)."""
        address = self.address(emulator)
        label = f"{emulator.name} (fw {emulator.firmware})"
        async with report.step(f"MaxSmart: add {label} by address {address}") as step:
            flow_id, result = await hass.flow_menu("maxsmart")
            if result.get("step_id") == "maxsmart":
                result = await hass.flow_step(flow_id, {"device": "manual"})
            if result.get("step_id") not in {"maxsmart_manual", "maxsmart_none_found"}:
                raise CheckFailed(f"expected the address form, got {result}")
            result = await hass.flow_step(flow_id, self._manual_input(emulator))
            step.detail = _expect_entry(result, emulator)

    def _manual_input(self, emulator: MaxSmartEmulator) -> dict[str, Any]:
        return {"host": self.address(emulator), "advanced": {"discovery_port": emulator.udp_port}}

    async def _exercise(
        self,
        hass: HassClient,
        report: CheckReport,
        emulator: MaxSmartEmulator,
        known: set[str],
    ) -> set[str]:
        """Find the new strip's entities, toggle port 1 off and on, read its power."""
        async with report.step(f"MaxSmart: {emulator.name} entities") as step:
            entities: set[str] = set()
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                entities = await hass.integration_entities("switchboard") - known
                if any(entity.startswith("switch.") for entity in entities):
                    break
                await asyncio.sleep(0.25)
            states = await hass.states()
            switch, power = _port_entities(states, entities, emulator.port_names[0])
            step.detail = (
                f"{sum(e.startswith('switch.') for e in entities)} switches, "
                f"{sum(e.startswith('sensor.') for e in entities)} sensors; "
                f"port 1 is {switch}, its power {power}"
            )
        for target, service in ((False, "turn_off"), (True, "turn_on")):
            async with report.step(f"MaxSmart: {service} {switch}") as step:
                await hass.call_service("switch", service, {"entity_id": switch})
                state = (await hass.state(switch))["state"]
                expected = "on" if target else "off"
                if state != expected:
                    raise CheckFailed(f"state right after {service} is {state!r}")
                if emulator.switch[0] != target:
                    raise CheckFailed(f"the emulated port 1 is still {not target}")
                step.detail = f"state {state} at once, emulated port 1 {expected}"
            async with report.step(f"MaxSmart: power {power} while {expected}") as step:
                step.detail = await _wait_power(hass, power, emulator, on=target)
        return known | entities


def _select_options(result: dict[str, Any], field_name: str) -> dict[str, str]:
    """The ``{value: label}`` options of a select field of a flow form."""
    for item in result.get("data_schema") or []:
        if item.get("name") == field_name:
            options = item.get("selector", {}).get("select", {}).get("options", [])
            return {
                str(option["value"]): str(option.get("label", option["value"]))
                for option in options
                if isinstance(option, dict)
            }
    return {}


def _expect_entry(result: dict[str, Any], emulator: MaxSmartEmulator) -> str:
    """Return a summary of a created entry; CheckFailed for anything else."""
    entry = expect_entry(result)
    title = entry.get("title") or result.get("title")
    if title != emulator.name:
        raise CheckFailed(f"entry titled {title!r}, expected {emulator.name!r}")
    return f"entry {title!r} ({emulator.serial}) {entry.get('state', '')}".rstrip()


def _port_entities(
    states: dict[str, dict[str, Any]], entities: set[str], port_name: str
) -> tuple[str, str]:
    """The switch of the port named ``port_name`` on the strip and its power sensor.

    Found among ``entities`` by friendly name: ``<strip> <port name>`` and
    ``<strip> <port name> power``, the names a user sees.
    """
    names = {
        entity: str(states[entity]["attributes"].get("friendly_name", ""))
        for entity in entities
        if entity in states
    }
    switches = [
        e for e, n in names.items() if e.startswith("switch.") and n.endswith(f" {port_name}")
    ]
    if len(switches) != 1:
        raise CheckFailed(f"no single {port_name!r} switch among {sorted(entities)}")
    switch = switches[0]
    power_name = f"{names[switch]} power"
    sensors = [e for e, n in names.items() if e.startswith("sensor.") and n == power_name]
    if len(sensors) != 1:
        raise CheckFailed(f"no sensor named {power_name!r} among {sorted(entities)}")
    return switch, sensors[0]


async def _wait_power(
    hass: HassClient, sensor: str, emulator: MaxSmartEmulator, *, on: bool, limit: float = 10
) -> str:
    """Poll ``sensor`` until it shows the power of port 1 (> 0 near its load when on, else 0).

    Returns a summary; raises CheckFailed with the last value after ``limit`` seconds.
    """
    load = emulator.loads[0]
    started = time.monotonic()
    value: float | None = None
    shown = "?"
    while True:
        state = await hass.state(sensor)
        shown = f"{state['state']} {state['attributes'].get('unit_of_measurement', '')}".strip()
        try:
            value = float(state["state"])
        except ValueError:
            value = None
        if value is not None and math.isfinite(value):
            good = abs(value - load) <= 0.2 * load + 1 if on else value == 0
            if good:
                waited = time.monotonic() - started
                return f"{shown} after {waited:.1f} s (emulated load {load:.1f} W)"
        if time.monotonic() - started > limit:
            expected = f"about {load:.1f} W" if on else "0"
            raise CheckFailed(f"shows {shown} after {limit:.0f} s, expected {expected}")
        await asyncio.sleep(0.2)
