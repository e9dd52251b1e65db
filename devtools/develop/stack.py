"""What every stack of the development run is, and the helpers the stacks share.

A *stack* is everything one family needs besides Home Assistant (emulators, servers). The
stacks themselves are in :mod:`devtools.develop.stacks`, one module per family.

Adding a stack (the hook for other families)
--------------------------------------------
Subclass :class:`Stack` and append the class to
:data:`devtools.develop.stacks.STACKS`::

    class IndiStack(Stack):
        name = "INDI"

        def unavailable(self) -> str | None:
            return None if shutil.which("indiserver") else "indiserver is not installed"

        async def start(self, context: StackContext) -> None:
            ...  # spawn indiserver with simulators; context.check selects private ports

        async def stop(self) -> None:
            ...  # must be idempotent and must not raise

        def describe(self) -> list[str]:
            return ["INDI: Add integration > Switchboard > INDI, host 127.0.0.1:7624"]

        async def check(self, hass: HassClient, report: CheckReport) -> None:
            async with report.step("INDI: add server") as step:
                ...  # drive hass; raise CheckFailed("why") to fail; set step.detail

* ``start`` runs before Home Assistant starts (files may be written into
  ``context.config_dir``); it raises :class:`StackError` with a readable message if the stack
  cannot run. Stacks are started in :data:`~devtools.develop.stacks.STACKS` order and stopped
  in reverse order.
* ``describe`` returns the lines printed once Home Assistant answers: what a user sees and
  what they must enter (addresses, ports, credentials).
* ``check`` (optional; the default does nothing) runs after onboarding in ``--check`` mode.
  A step that raises fails and ends that stack's check; the other stacks still run.
* ``unavailable`` returns a reason to skip the stack (printed as ``skip``), or None.
* A stack running a mosquitto broker subclasses :class:`MosquittoStack` (skipped without
  mosquitto; :meth:`MosquittoStack.stop_broker` stops it).
"""

from abc import ABC, abstractmethod
import asyncio
import contextlib
from dataclasses import dataclass
from pathlib import Path
import socket
import time
from typing import ClassVar, Protocol, override

from devtools.develop.hass import HassClient
from devtools.develop.report import CheckFailed, CheckReport
from emulators.mosquitto import Mosquitto, mosquitto_available


class StackError(Exception):
    """A stack cannot start; the message tells the user why and what to do."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StackContext:
    """What a stack knows when it starts.

    ``check`` is True for ``--check`` and ``--isolated`` (possibly next to an interactive run:
    use addresses, ports and identities that cannot collide with it); ``isolated`` tells
    ``--isolated`` from ``--check`` where fixed private addresses must differ between the two
    (MaxSmart's loopback hosts); ``config_dir`` is the Home Assistant configuration directory in
    use; ``hass_url`` where Home Assistant will answer.
    """

    check: bool
    config_dir: Path
    hass_url: str
    isolated: bool = False


class Stack(ABC):
    """Everything one family needs besides Home Assistant; see the module docstring."""

    name: ClassVar[str]

    def unavailable(self) -> str | None:
        """Return why this stack cannot run here (it is skipped), or None."""
        return None

    @abstractmethod
    async def start(self, context: StackContext) -> None:
        """Start emulators/servers before Home Assistant starts; StackError if impossible."""

    @abstractmethod
    async def stop(self) -> None:
        """Stop everything started; idempotent, never raises."""

    @abstractmethod
    def describe(self) -> list[str]:
        """Lines telling a user what they will see and what to enter."""

    async def check(self, hass: HassClient, report: CheckReport) -> None:
        """Drive Home Assistant through this stack's devices in ``--check`` (optional)."""


class _Stoppable(Protocol):
    async def stop(self) -> None: ...


async def stop_quietly(*servers: _Stoppable | None) -> None:
    """Stop each server that is not ``None``, ignoring its errors.

    A stack's ``stop`` runs in teardown, also after a failed start: one emulator that cannot
    stop cleanly must not keep the others running or hide the error that ended the run.
    """
    for server in servers:
        if server is not None:
            with contextlib.suppress(Exception):
                await server.stop()


class MosquittoStack(Stack):
    """A stack that runs a mosquitto broker (the Meross cloud's, the MQTT bridge's).

    Skipped where mosquitto is not installed; ``broker`` is set by the subclass's
    :meth:`start` and stopped by :meth:`stop_broker`.
    """

    broker: Mosquitto | None = None

    @override
    def unavailable(self) -> str | None:
        return (
            None if mosquitto_available() else "mosquitto is not installed (apt install mosquitto)"
        )

    async def stop_broker(self) -> None:
        """Stop the broker (its process and files); idempotent, never raises."""
        broker, self.broker = self.broker, None
        if broker is not None:
            with contextlib.suppress(Exception):
                await broker.close()


def fixed_or_free(port: int, check: bool, *, udp: bool = False) -> int:
    """``port`` for an interactive run when it is free on this machine, else 0 (a free port).

    ``--check`` and ``--isolated`` (``check``) always take a free port, so they run beside an
    interactive run. TCP ports are probed on 127.0.0.1, UDP ports (``udp``) on 0.0.0.0.
    """
    if check:
        return 0
    kind, host = (socket.SOCK_DGRAM, "0.0.0.0") if udp else (socket.SOCK_STREAM, "127.0.0.1")
    with socket.socket(socket.AF_INET, kind) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return 0
    return port


async def wait_entity(hass: HassClient, known: set[str], prefix: str, name: str) -> str:
    """The new entity of the integration with ``prefix`` and friendly name ``name`` (15 s)."""
    deadline = time.monotonic() + 15
    while True:
        entities = await hass.integration_entities("switchboard") - known
        states = await hass.states()
        found = [
            e
            for e in entities
            if e.startswith(prefix)
            and e in states
            and states[e]["attributes"].get("friendly_name") == name
            and states[e]["state"] != "unavailable"
        ]
        if found:
            return found[0]
        if time.monotonic() > deadline:
            raise CheckFailed(f"no {prefix}* named {name!r} among {sorted(entities)}")
        await asyncio.sleep(0.2)


async def wait_state(hass: HassClient, entity_id: str, expected: str, limit: float) -> str:
    """Poll ``entity_id`` until its state is ``expected``; CheckFailed after ``limit`` s."""
    deadline = time.monotonic() + limit
    while True:
        state = (await hass.state(entity_id))["state"]
        if state == expected:
            return str(state)
        if time.monotonic() > deadline:
            raise CheckFailed(f"{entity_id} is {state!r} after {limit:.0f} s, expected {expected}")
        await asyncio.sleep(0.02)
