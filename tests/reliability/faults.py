"""The fault switches of each family's peer, by the fault matrix's names: one definition.

``tests/reliability/test_fault_matrix.py`` (one fault at a time, in-process Home Assistant) and
``benchmarks/soak.py`` (random faults for a long time, Home Assistant in its own process) put the
same emulators through the same faults with these classes. A class per peer: :attr:`faults`
lists what it can produce; :meth:`inject` starts a fault, :meth:`clear` ends it (the peer
behaves again, on the same address).

Faults (:data:`FAULTS`): the peer does not answer, answers garbage, answers half a message and
stalls, closes the connection mid-reply, answers after the client's timeout, restarts (gone
from ``inject`` until ``clear``; INDI: a server restart of 1 s, awaited by ``clear``).
"""

import asyncio
from typing import ClassVar

from custom_components.switchboard.export.sepl.client import REQUEST_TIMEOUT as SEPL_TIMEOUT
from custom_components.switchboard.vendors.meross.source import REQUEST_TIMEOUT
from custom_components.switchboard.vendors.midea.client import MideaApplianceClient
from emulators.indi import IndiEmulator
from emulators.maxsmart import MaxSmartEmulator
from emulators.meross import MerossPlug
from emulators.midea import MideaLanServer
from emulators.sepl import SeplPlatform

FAULTS = ("no_answer", "garbage", "half_then_stall", "close_mid_reply", "late_answer", "restart")


class PeerFaults:
    """How one peer is put through a fault; see the module docstring."""

    faults: ClassVar[frozenset[str]]

    async def inject(self, fault: str) -> None:
        """Start ``fault`` (one of :attr:`faults`)."""
        raise NotImplementedError

    async def clear(self, fault: str) -> None:
        """End ``fault``: the peer behaves again."""
        raise NotImplementedError


class StripFaults(PeerFaults):
    """A MaxSmart strip's HTTP faults (the client gives up after 5 s)."""

    faults = frozenset(FAULTS)

    def __init__(self, strip: MaxSmartEmulator) -> None:
        """Faults of ``strip``."""
        self.strip = strip

    async def inject(self, fault: str) -> None:
        """HTTP faults of the emulator; a restart is the strip going away until cleared."""
        faults = self.strip.faults
        if fault == "no_answer":
            faults.timeout = True
        elif fault == "garbage":
            faults.garbage_json = True
        elif fault == "half_then_stall":
            faults.stall_mid_reply = True
        elif fault == "close_mid_reply":
            faults.drop_connection = True
        elif fault == "late_answer":
            faults.delay = 6.0  # the client waits 5 s
        elif fault == "restart":
            await self.strip.stop()

    async def clear(self, fault: str) -> None:
        """Every fault off; a restarted strip comes back on the same address."""
        if fault == "restart":
            await self.strip.start()
        self.strip.faults.clear()


class IndiFaults(PeerFaults):
    """An INDI server's stream faults (push over TCP; the client reconnects by itself)."""

    faults = frozenset({"garbage", "close_mid_reply", "restart"})

    def __init__(self, server: IndiEmulator) -> None:
        """Faults of ``server``."""
        self.server = server
        self._restart: asyncio.Task[None] | None = None

    async def inject(self, fault: str) -> None:
        """Garbage between elements; half an element then the server drops everyone."""
        if fault == "garbage":
            self.server.inject_raw(b"<<not xml & >> </setNumberVector> <defTextVector")
            self.server.inject_raw(b' device="x">\n')
        elif fault == "close_mid_reply":
            self.server.inject_raw(b'<setSwitchVector device="Switchboard Plug" name="POW')
            self._restart = asyncio.create_task(self.server.restart(downtime=1.0))
        elif fault == "restart":
            self._restart = asyncio.create_task(self.server.restart(downtime=1.0))

    async def clear(self, fault: str) -> None:
        """Wait for a restart to finish."""
        restart, self._restart = self._restart, None
        if restart is not None:
            await restart


class PlugFaults(PeerFaults):
    """A Meross plug's faults. MQTT carries whole messages: no half reply, no close mid-reply."""

    faults = frozenset({"no_answer", "garbage", "late_answer", "restart"})

    def __init__(self, plug: MerossPlug) -> None:
        """Faults of ``plug``."""
        self.plug = plug

    async def inject(self, fault: str) -> None:
        """The plug stays connected to the broker but goes silent, babbles or answers late;
        a restart is the plug off its broker until cleared (no offline push: the cloud's
        notice can be late or missing)."""
        if fault == "no_answer":
            self.plug.online = False
        elif fault == "garbage":
            self.plug.garbage_replies = True
        elif fault == "late_answer":
            self.plug.reply_delay = REQUEST_TIMEOUT + 1
        elif fault == "restart":
            await self.plug.stop()

    async def clear(self, fault: str) -> None:
        """The plug behaves again; a restarted plug reconnects (and the cloud says online)."""
        self.plug.online = True
        self.plug.garbage_replies = False
        self.plug.reply_delay = 0.0
        if fault == "restart":
            await self.plug.start(self.plug.broker_host, self.plug.broker_port)


class ApplianceFaults(PeerFaults):
    """A Midea appliance's V3 LAN faults (midea-local's thread; polled)."""

    faults = frozenset(FAULTS)

    def __init__(self, server: MideaLanServer) -> None:
        """Faults of the appliance ``server`` serves."""
        self.server = server

    async def inject(self, fault: str) -> None:
        """The emulator's fault switches; a restart is the appliance off until cleared."""
        faults = self.server.appliance.faults
        if fault == "no_answer":
            faults.silent = True
        elif fault == "garbage":
            faults.garbage = True
        elif fault == "half_then_stall":
            faults.truncated = True
        elif fault == "close_mid_reply":
            faults.drop_connection = True
        elif fault == "late_answer":
            faults.delay = MideaApplianceClient.reply_timeout + 1
        elif fault == "restart":
            await self.server.stop()

    async def clear(self, fault: str) -> None:
        """Every switch off; a restarted appliance comes back on the same address."""
        faults = self.server.appliance.faults
        faults.silent = faults.garbage = faults.truncated = faults.drop_connection = False
        faults.delay = 0.0
        if fault == "restart":
            await self.server.start()


class PlatformFaults(PeerFaults):
    """The SEPL platform's faults, as the connector (its client) meets them.

    No answer: no handshake reply, no reply to any request and no pong (the request handling
    hangs; the client's keepalive ends the session); garbage: a non-JSON text frame and an
    unsolicited 400 (skipped: the session lives); half then stall: every open session gets half
    a websocket frame and nothing more, and so does every handshake reply until cleared;
    closed mid-reply: every open session gets half a frame, then its TCP connection is cut;
    late: every handshake reply, reply and pong ``timeout`` + 1 s late (default: the client's
    request timeout); restart: the platform down until cleared (same port, state kept).
    Platform commands reach every session not stuck mid-frame throughout (they come from the
    process engine, not from the request handling).
    """

    faults = frozenset(FAULTS)

    def __init__(self, platform: SeplPlatform, timeout: float = SEPL_TIMEOUT) -> None:
        """Faults of ``platform``; ``timeout``: the client's request and keepalive timeout (s)."""
        self.platform = platform
        self.timeout = timeout

    async def inject(self, fault: str) -> None:
        """The platform's fault switches and injections."""
        faults = self.platform.faults
        if fault == "no_answer":
            faults.silent = True
        elif fault == "garbage":
            await self.platform.send_raw("<<not json>>")
            await self.platform.send_unsolicited_error()
        elif fault == "half_then_stall":
            faults.half_frames = True
            await self.platform.cut_sessions(close=False)
        elif fault == "close_mid_reply":
            # Only the open sessions: a close during the handshake reply cannot be told from a
            # refusal of the credentials (README, Reliability: known limitations).
            await self.platform.cut_sessions(close=True)
        elif fault == "late_answer":
            faults.delay_all = self.timeout + 1
        elif fault == "restart":
            await self.platform.stop()

    async def clear(self, fault: str) -> None:
        """Every switch off; a stopped platform starts again on its port."""
        self.platform.faults.clear_peer_faults()
        if fault == "restart":
            await self.platform.start()
