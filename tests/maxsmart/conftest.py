"""Fixtures: MaxSmart emulators on 127.0.0.1 (free ports) and an aiohttp session for the client."""

from collections.abc import AsyncGenerator
from typing import Any

import aiohttp
import pytest

from emulators.maxsmart import MaxSmartEmulator

STRIP_SERIAL = "SWP6023002003697"
PLUG_SERIAL = "SPL1023002003698"
STRIP_PORT_NAMES = ["TV", "Lamp", "Router", "Printer", "Fridge", "Spare"]


def strip_kwargs() -> dict[str, Any]:
    """Keyword arguments of the 6-port strip on firmware 1.30 (string floats, W / kWh)."""
    return {
        "serial": STRIP_SERIAL,
        "name": "Desk",
        "port_count": 6,
        "firmware": "1.30",
        "mac": "BC:2B:00:00:00:01",
        "port_names": STRIP_PORT_NAMES,
    }


def plug_kwargs() -> dict[str, Any]:
    """Keyword arguments of the 1-port plug on firmware 2.11 (integers, mW / Wh)."""
    return {
        "serial": PLUG_SERIAL,
        "name": "Kettle",
        "port_count": 1,
        "firmware": "2.11",
        "mac": "bc-2b-00-00-00-02",
        "port_names": ["Kettle"],
    }


@pytest.fixture
async def strip(socket_enabled: None) -> AsyncGenerator[MaxSmartEmulator]:
    """A running 6-port 1.30 strip on 127.0.0.1 (HTTP and UDP on free ports)."""
    emulator = MaxSmartEmulator("127.0.0.1", **strip_kwargs())
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
async def plug(socket_enabled: None) -> AsyncGenerator[MaxSmartEmulator]:
    """A running 1-port 2.11 plug on 127.0.0.1 (HTTP and UDP on free ports)."""
    emulator = MaxSmartEmulator("127.0.0.1", **plug_kwargs())
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture(params=["strip-1.30", "plug-2.11"])
async def device(
    request: pytest.FixtureRequest, socket_enabled: None
) -> AsyncGenerator[MaxSmartEmulator]:
    """Each firmware in turn: the 1.30 strip, then the 2.11 plug."""
    kwargs = strip_kwargs() if request.param == "strip-1.30" else plug_kwargs()
    emulator = MaxSmartEmulator("127.0.0.1", **kwargs)
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
async def session(socket_enabled: None) -> AsyncGenerator[aiohttp.ClientSession]:
    """A caller-owned aiohttp session, closed after the test."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session
