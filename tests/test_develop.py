"""``scripts/develop --check``: the development stack end to end, as a subprocess.

The check starts the emulated strips and a real Home Assistant (in a temporary config) and
drives it over HTTP; this test process itself opens no socket. The subprocess runs in its
own session, which is killed (SIGTERM, then SIGKILL) if it does not finish in time, so no
process outlives the test; Home Assistant dies with the orchestrator (parent-death signal).
"""

import asyncio
import contextlib
from pathlib import Path
import re
import shutil

import pytest

from devtools.develop.hass import terminate_process_group

pytestmark = pytest.mark.stack

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "develop"
LIMIT = 150.0
"""Seconds before the test gives up (the check's own limit is 180 s; it takes about 10 s)."""

INDI_AVAILABLE = shutil.which("indiserver") is not None
STACK_PORTS = (
    r"^       email .*API URL http://127\.0\.0\.1:(\d+),.*\(broker 127\.0\.0\.1:(\d+),",
    r"^     INDI: .*port (\d+) ",
    r"^     SEPL: .*URL ws://127\.0\.0\.1:(\d+),",
)
"""Ports of the Meross cloud and broker, indiserver and the SEPL platform: none listens after."""

INDI_EXPECTED = (
    r"^ok   INDI: add server: entry 'INDI 127\.0\.0\.1:\d+'; "
    r"found CCD Simulator, Filter Simulator, Focuser Simulator, Telescope Simulator",
    r"^ok   INDI: entities: \d+ entities for 4 simulators",
    r"^ok   INDI: connect the telescope \(switch\.telescope_simulator_connection\): off -> on",
)

EXPECTED = (
    r"^ok   SEPL: add the platform connector: entry 'SEPL switchboard@127\.0\.0\.1:\d+'",
    r"^ok   SEPL: platform command turn_off for switch\.\w+: status 200 in \d+ ms, "
    r"Home Assistant state off, platform event \{\"state\": \"off\"",
    r"^ok   SEPL: platform command turn_on for switch\.\w+: status 200 in \d+ ms, "
    r"Home Assistant state on, platform event \{\"state\": \"on\"",
    r"^ok   home assistant started: ",
    r"^ok   onboarding: ",
    r"^ok   MaxSmart: config flow menu: ",
    r"^ok   MaxSmart: discovery: 2 of our strips listed",
    r"^ok   MaxSmart: add Desk \(fw 1\.30\) ",
    r"^ok   MaxSmart: turn_off switch\.desk_monitor: state off at once",
    r"^ok   MaxSmart: power sensor\.desk_monitor_power while off: 0",
    r"^ok   MaxSmart: power sensor\.desk_monitor_power while on: \d",
    r"^ok   MaxSmart: add Rack \(fw 2\.11\) by address ",
    r"^ok   MaxSmart: turn_on switch\.rack_router: state on at once",
    r"^ok   MaxSmart: power sensor\.rack_router_power while on: \d",
    r"^ok   Meross: add account: entry 'Meross m\*\*\*@example\.com' loaded",
    r"^ok   Meross: plug switch: switch\.meross_plug is off",
    r"^ok   Meross: turn_on switch\.meross_plug: state on at once, emulated plug on",
    r"^ok   Meross: push from the plug: button press off -> switch\.meross_plug off after \d+ ms",
    r"^ok   Midea: add account: entry 'Midea c\*\*\*@example\.com' with 2 appliances",
    r"^ok   Midea: dehumidifier target humidity: humidifier\.cellar humidity 45 at once",
    r"^ok   Midea: air conditioner mode: climate\.bedroom cool at once",
    r"^ok   MQTT: add Home Assistant's MQTT integration: broker 127\.0\.0\.1:\d+",
    r"^ok   MQTT: bridge on for a MaxSmart strip: entry 'Desk'",
    r"^ok   MQTT: the bridge publishes: first message on switchboard/",
    r"^check passed: \d+ ok, 0 failed",
)


async def stop_session(process: asyncio.subprocess.Process, grace: float = 45) -> None:
    """SIGTERM the subprocess's session (the orchestrator stops Home Assistant), then SIGKILL.

    Also used by the browser test's ``scripts/develop --isolated``.
    """
    await terminate_process_group(process, grace)


def _listening_sockets(port: int) -> set[int]:
    """Inodes of the sockets listening on ``port`` (from /proc/net/tcp, no socket opened).

    The inode names the socket itself: once the stack closed its socket, another process
    (another test, another engineer's server) may listen on the same port number with a
    socket of its own, which is not a socket the stack left open.
    """
    inodes: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # LISTEN
                    inodes.add(int(fields[9]))
    return inodes


async def _read_output(
    process: asyncio.subprocess.Process, stack_sockets: dict[int, set[int]]
) -> str:
    """The check's whole output; ``stack_sockets`` gets the listening sockets of each port
    the stacks describe, read while they run (the lines come after every stack started)."""
    assert process.stdout is not None
    lines: list[str] = []
    async for raw in process.stdout:
        line = raw.decode(errors="replace")
        lines.append(line)
        for pattern in STACK_PORTS:
            if match := re.search(pattern, line):
                for port in match.groups():
                    stack_sockets[int(port)] = _listening_sockets(int(port))
    await process.wait()
    return "".join(lines)


async def test_develop_check() -> None:
    """The check passes every step, ends, and leaves none of the stacks' sockets listening
    (``LIMIT`` is a safety net against a hang, not a measurement: how fast the stack starts is
    not asserted, a loaded machine is slow)."""
    process = await asyncio.create_subprocess_exec(
        str(SCRIPT),
        "--check",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    stack_sockets: dict[int, set[int]] = {}
    try:
        async with asyncio.timeout(LIMIT):
            text = await _read_output(process, stack_sockets)
    finally:
        if process.returncode is None:
            await stop_session(process)
    assert process.returncode == 0, text
    assert "FAIL" not in text, text
    expected = EXPECTED + (INDI_EXPECTED if INDI_AVAILABLE else (r"^skip INDI: ",))
    for pattern in expected:
        assert re.search(pattern, text, re.MULTILINE), f"{pattern!r} missing in:\n{text}"
    ports = [
        int(port)
        for pattern in STACK_PORTS
        for match in re.finditer(pattern, text, re.MULTILINE)
        for port in match.groups()
    ]
    assert len(ports) == (4 if INDI_AVAILABLE else 3), text
    assert all(stack_sockets[port] for port in ports), f"not listening while up: {stack_sockets}"
    left = {
        port: inodes & _listening_sockets(port)
        for port, inodes in stack_sockets.items()
        if inodes & _listening_sockets(port)
    }
    assert not left, f"still listening after the check (port: socket inodes): {left}"
