"""INDI test peers: the real indiserver with the C++ simulators, and our indipydriver emulator."""

import asyncio
from collections.abc import AsyncGenerator, Callable, Generator
import contextlib
from dataclasses import dataclass

import pytest

from custom_components.switchboard.vendors.indi.client import IndiEvent
from emulators.indi import IndiEmulator
from emulators.indiserver import (
    IndiServer,
    IndiServerError,
    indiserver_missing,
)


@dataclass(frozen=True)
class IndiServerAddress:
    """Where a test peer listens."""

    host: str
    port: int


@contextlib.contextmanager
def run_indiserver() -> Generator[int]:
    """Run the real `indiserver` with the four C++ simulators on a free port; yield the port.

    Skips the test when indi-bin is not installed; fails it when the server does not accept
    connections within 10 s. The server and its drivers are killed on exit.
    """
    if missing := indiserver_missing():
        pytest.skip(f"{', '.join(missing)} not installed (Debian package indi-bin)")
    server = IndiServer()
    try:
        server.start()
    except IndiServerError as err:
        pytest.fail(str(err))
    try:
        yield server.port
    finally:
        server.stop()


@pytest.fixture
def indiserver(socket_enabled: None) -> Generator[IndiServerAddress]:
    """The real `indiserver` with four C++ simulators on a free port (fresh per test).

    Starting takes ~20 ms and every test gets simulators in their initial state (disconnected),
    so no test depends on another's leftovers.
    """
    with run_indiserver() as port:
        yield IndiServerAddress("127.0.0.1", port)


@pytest.fixture
async def indi_emulator(socket_enabled: None) -> AsyncGenerator[IndiEmulator]:
    """Our indipydriver devices under indipyserver, behind the fault-injecting front."""
    emulator = IndiEmulator("127.0.0.1", 0, command_delay=0.05)
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


class EventRecorder:
    """Collects client events; `wait_for` waits until a predicate over them holds."""

    def __init__(self) -> None:
        self.events: list[IndiEvent] = []
        self._changed = asyncio.Event()

    def __call__(self, event: IndiEvent) -> None:
        self.events.append(event)
        self._changed.set()

    def of[T](self, kind: type[T]) -> list[T]:
        return [event for event in self.events if isinstance(event, kind)]

    async def wait_for[R](self, predicate: Callable[[], R], timeout: float = 5.0) -> R:
        """Re-check on every event, and every 20 ms for state outside the client (peers)."""
        async with asyncio.timeout(timeout):
            while not (result := predicate()):
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.02):
                        await self._changed.wait()
        return result


@pytest.fixture
def recorder() -> EventRecorder:
    """A fresh event recorder."""
    return EventRecorder()
