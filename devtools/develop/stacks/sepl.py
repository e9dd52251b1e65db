"""The SEPL stack: the emulated SEPL platform connector with one account."""

import asyncio
import json
import time
from typing import override

from devtools.develop.hass import HassClient, expect_entry
from devtools.develop.report import CheckFailed, CheckReport
from devtools.develop.stack import (
    Stack,
    StackContext,
    StackError,
    fixed_or_free,
    stop_quietly,
    wait_state,
)
from devtools.develop.stacks.maxsmart import MAXSMART_MANUFACTURER
from emulators.sepl import SeplPlatform

SEPL_PORT = 8093
"""The platform connector's port in the client library's default configuration."""
SEPL_USER = "switchboard"
SEPL_PASSWORD = "switchboard-sepl"  # noqa: S105 - the emulated account of the dev stack


class SeplStack(Stack):
    """The emulated SEPL platform connector with one account (``emulators/sepl.py``).

    Interactive: ``ws://127.0.0.1:8093`` if free, else a free port; ``--check``: a free port.
    Its check runs after the MaxSmart stack's (a strip's switches exist): the connector entry
    is added through the config flow, a platform command switches a MaxSmart port off and on,
    and the port's state events arrive on the platform.
    """

    name = "SEPL"

    def __init__(self) -> None:
        """Nothing runs before :meth:`start`."""
        self.platform: SeplPlatform | None = None

    @override
    async def start(self, context: StackContext) -> None:
        """Start the platform emulator with the account."""
        port = fixed_or_free(SEPL_PORT, context.check)
        self.platform = SeplPlatform(users={SEPL_USER: SEPL_PASSWORD}, port=port)
        try:
            await self.platform.start()
        except OSError as err:
            self.platform = None
            raise StackError(f"SEPL: cannot listen: {err}") from err

    @override
    async def stop(self) -> None:
        """Stop the platform emulator."""
        platform, self.platform = self.platform, None
        await stop_quietly(platform)

    @override
    def describe(self) -> list[str]:
        """What to enter; the device types are preloaded."""
        url = self.platform.url if self.platform else "?"
        return [
            "SEPL: Add integration > Switchboard > SEPL platform connector: "
            f"URL {url}, user {SEPL_USER}, password {SEPL_PASSWORD} (device types preloaded; "
            "every Switchboard entity becomes a platform device)",
        ]

    @override
    async def check(self, hass: HassClient, report: CheckReport) -> None:
        """Connect Home Assistant, switch a MaxSmart port from the platform, see its events."""
        platform = self.platform
        assert platform is not None
        async with report.step("SEPL: add the platform connector") as step:
            flow_id, _ = await hass.flow_menu("sepl")
            result = await hass.flow_step(
                flow_id,
                {
                    "url": platform.url,
                    "username": SEPL_USER,
                    "password": SEPL_PASSWORD,
                    "verify_ssl": True,
                },
            )
            expect_entry(result)
            step.detail = f"entry {result.get('title')!r}"
        async with report.step("SEPL: devices synchronised") as step:
            uri, entity = await self._maxsmart_port(hass, platform)
            step.detail = f"{len(platform.devices)} platform devices; {entity} is {uri}"
        for service, expected in (("turn_off", "off"), ("turn_on", "on")):
            async with report.step(f"SEPL: platform command {service} for {entity}") as step:
                started = time.monotonic()
                response = await platform.async_command(SEPL_USER, uri, service, within=15)
                outputs = response["outputs"]
                if outputs.get("status") != 200:
                    raise CheckFailed(f"response {outputs}")
                state = await wait_state(hass, entity, expected, 10)
                event = await _wait_sepl_event(platform, uri, expected)
                step.detail = (
                    f"status 200 in {1000 * (time.monotonic() - started):.0f} ms, "
                    f"Home Assistant state {state}, platform event {event}"
                )

    @staticmethod
    async def _maxsmart_port(hass: HassClient, platform: SeplPlatform) -> tuple[str, str]:
        """The uri and entity id of a MaxSmart port switch once the platform listens to it."""
        deadline = time.monotonic() + 30
        while True:
            states = await hass.states()
            names = {
                str(state["attributes"].get("friendly_name")): entity_id
                for entity_id, state in states.items()
                if entity_id.startswith("switch.")
            }
            for (_user, uri), device in sorted(platform.devices.items()):
                entity = names.get(device.name)
                listened = any(uri in session.listening for session in platform.sessions)
                if (
                    entity is not None
                    and listened
                    and device.tags.get("domain") == "switch"
                    and device.tags.get("manufacturer") == MAXSMART_MANUFACTURER
                    and not entity.endswith("_all_ports")
                    and states[entity]["state"] == "on"
                ):
                    return uri, entity
            if time.monotonic() > deadline:
                raise CheckFailed(
                    f"no MaxSmart port switch among {len(platform.devices)} platform devices"
                )
            await asyncio.sleep(0.25)


async def _wait_sepl_event(platform: SeplPlatform, uri: str, state: str) -> str:
    """Until the platform received a ``state`` event of ``uri`` with that state."""
    deadline = time.monotonic() + 10
    while True:
        for event in reversed(platform.events):
            if event.get("uri") == uri and event["value"].get("state", {}).get("state") == state:
                return json.dumps(event["value"]["state"])
        if time.monotonic() > deadline:
            raise CheckFailed(f"no state event {state!r} for {uri}")
        await asyncio.sleep(0.1)
