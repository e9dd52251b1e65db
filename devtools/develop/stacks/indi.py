"""The INDI stack: the real ``indiserver`` with its simulators."""

import asyncio
import time
from typing import override

from devtools.develop.hass import HassClient, expect_entry
from devtools.develop.report import CheckFailed, CheckReport
from devtools.develop.stack import Stack, StackContext, StackError, fixed_or_free, wait_state
from emulators.indiserver import (
    SIMULATOR_DEVICES as INDI_DEVICES,
    IndiServer,
    IndiServerError,
    indiserver_missing,
)

INDI_PORT = 7624


class IndiStack(Stack):
    """The real ``indiserver`` with the telescope, CCD, focuser and filter wheel simulators.

    Interactive: port 7624 (INDI's default) if free, else a free port; ``--check``: a free
    port. indiserver runs in its own process group, which :meth:`stop` terminates (the driver
    processes with it).
    """

    name = "INDI"

    def __init__(self) -> None:
        """Nothing runs before :meth:`start`."""
        self.server: IndiServer | None = None
        self.port = 0

    @override
    def unavailable(self) -> str | None:
        if missing := indiserver_missing():
            return f"{', '.join(missing)} not on PATH (Debian package indi-bin)"
        return None

    @override
    async def start(self, context: StackContext) -> None:
        """Spawn indiserver and wait until it accepts connections (10 s)."""
        self.port = fixed_or_free(INDI_PORT, context.check)
        self.server = IndiServer(self.port)
        try:
            await asyncio.to_thread(self.server.start)
        except IndiServerError as err:
            self.server = None
            raise StackError(f"INDI: {err}") from err
        self.port = self.server.port

    @override
    async def stop(self) -> None:
        """SIGTERM indiserver's process group, SIGKILL after 5 s."""
        server, self.server = self.server, None
        if server is not None:
            await asyncio.to_thread(server.stop)

    @override
    def describe(self) -> list[str]:
        """Host and port to enter."""
        return [
            "INDI: Add integration > Switchboard > INDI server: host 127.0.0.1, "
            f"port {self.port} ({', '.join(INDI_DEVICES)})",
        ]

    @override
    async def check(self, hass: HassClient, report: CheckReport) -> None:
        """Add the server over REST, find the simulators, connect the telescope."""
        known = await hass.integration_entities("switchboard")
        async with report.step("INDI: add server") as step:
            flow_id, _ = await hass.flow_menu("indi")
            result = await hass.flow_step(flow_id, {"host": "127.0.0.1", "port": self.port})
            if result.get("step_id") != "indi_devices":
                raise CheckFailed(f"expected the device choice, got {result}")
            found = result.get("description_placeholders", {}).get("found", "")
            result = await hass.flow_step(flow_id, {"devices": []})
            expect_entry(result)
            step.detail = f"entry {result.get('title')!r}; found {found}"
        async with report.step("INDI: entities") as step:
            switch = await _wait_connection_switch(hass, known, "Telescope Simulator")
            entities = await hass.integration_entities("switchboard") - known
            states = await hass.states()
            names = {str(states[e]["attributes"].get("friendly_name", "")) for e in entities}
            devices = [d for d in INDI_DEVICES if any(n.startswith(d) for n in names)]
            if len(devices) != len(INDI_DEVICES):
                raise CheckFailed(f"entities only for {devices}")
            step.detail = f"{len(entities)} entities for {len(devices)} simulators"
        async with report.step(f"INDI: connect the telescope ({switch})") as step:
            before = (await hass.state(switch))["state"]
            await hass.call_service("switch", "turn_on", {"entity_id": switch})
            state = await wait_state(hass, switch, "on", 10)
            step.detail = f"{before} -> {state}"


async def _wait_connection_switch(hass: HassClient, known: set[str], device: str) -> str:
    """The CONNECTION switch of INDI ``device`` (friendly name ``<device> Connection``)."""
    deadline = time.monotonic() + 15
    while True:
        entities = await hass.integration_entities("switchboard") - known
        states = await hass.states()
        for entity in sorted(entities):
            name = str(states.get(entity, {}).get("attributes", {}).get("friendly_name", ""))
            if entity.startswith("switch.") and name.lower() == f"{device} connection".lower():
                return entity
        if time.monotonic() > deadline:
            raise CheckFailed(f"no '{device} Connection' switch among {sorted(entities)}")
        await asyncio.sleep(0.2)
