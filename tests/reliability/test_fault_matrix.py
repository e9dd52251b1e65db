"""The fault matrix: every family through the same faults, against its emulator.

Faults: the peer does not answer, answers garbage, answers half a message and stalls, closes the
connection mid-reply, answers after the timeout, restarts. For each (family, fault):

* the device's entities go unavailable, and the coordinator logs that once;
* no error-level record carries a traceback;
* a command issued during the fault ends, within a bound, with the device-confirmed state or a
  translated ``HomeAssistantError`` (none hangs, none is silently dropped);
* once the fault is gone the entry recovers by itself (its own scheduled polls or reconnects).

A family takes part through a :class:`Peer` (start its emulator and entry, inject and clear a
fault, let one poll/reconnect cycle pass). A fault a peer cannot produce is listed in its
``faults`` and skipped with the reason (see ``UNSUPPORTED``). Midea and the SEPL connector are
added by writing their ``Peer`` and listing them in ``PEERS``.
"""

import asyncio
from collections.abc import Callable
import contextlib
from datetime import timedelta
import logging
from typing import Any, ClassVar

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.switchboard.const import CONF_FAMILY, DOMAIN
from emulators.indi import PLUG, IndiEmulator
from emulators.maxsmart import MaxSmartEmulator
from tests.maxsmart.conftest import strip_kwargs
from tests.maxsmart.integration import setup_entry
from tests.meross.conftest import meross_account, meross_broker
from tests.meross.test_integration import _setup as setup_meross_entry
from tests.midea.conftest import setup_account_entry, start_stack, stop_stack
from tests.reliability.faults import (
    FAULTS,
    ApplianceFaults,
    IndiFaults,
    PeerFaults,
    PlugFaults,
    StripFaults,
)

COMMAND_BOUND = 30.0
"""Seconds within which a command issued during a fault must end (it must not hang)."""
RECOVERY_BOUND = 60.0
"""Seconds of (fired) time within which the entry must recover by itself."""


class Peer:
    """One family's emulator and config entry, and how to put it through each fault."""

    key: ClassVar[str]
    faults: ClassVar[frozenset[str]]
    """The faults this peer can produce."""
    stays_available: ClassVar[frozenset[str]] = frozenset()
    """Faults under which the device stays available by design."""
    device_name: ClassVar[str]
    """The device's name, as the unavailability log line names it."""
    command_domain: ClassVar[str] = "switch"
    """The domain of :attr:`entity_id` (its ``toggle`` service is the command)."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Bind to Home Assistant; nothing runs until :meth:`async_start`."""
        self.hass = hass
        self.entry: MockConfigEntry | None = None

    async def async_start(self) -> None:
        """Start the emulator and set up the entry (loaded, entities available)."""
        raise NotImplementedError

    async def async_stop(self) -> None:
        """Unload the entry and stop the emulator."""
        raise NotImplementedError

    @property
    def entity_id(self) -> str:
        """A switch of the device under test."""
        raise NotImplementedError

    switches: PeerFaults
    """The peer's fault switches (``tests/reliability/faults.py``, shared with the soak)."""

    async def async_inject(self, fault: str) -> None:
        """Start ``fault``."""
        await self.switches.inject(fault)

    async def async_clear(self, fault: str) -> None:
        """End ``fault``: the peer behaves again."""
        await self.switches.clear(fault)

    async def async_tick(self) -> None:
        """Let one poll / reconnect cycle happen by itself (time is fired, not refreshed)."""
        coordinators = self.entry.runtime_data.runtime.coordinators.values() if self.entry else ()
        interval = max(
            (c.update_interval for c in coordinators if c.update_interval),
            default=timedelta(seconds=5),
        )
        async_fire_time_changed(self.hass, dt_util.utcnow() + interval)
        await asyncio.sleep(0.1)
        await self.hass.async_block_till_done(wait_background_tasks=False)

    async def async_tick_polls(self) -> None:
        """Let each coordinator's scheduled poll come due, and nothing else.

        For a peer polled slowly (Meross every 10 min while push is up, Midea every 60 s),
        firing Home Assistant's clock by the interval also runs every other timer of the loop
        that is due by then, with ``time.monotonic`` moved on: paho's keepalive check (which
        then closes a healthy MQTT connection: "connection lost"), the clients' reply timeouts,
        and this module's own bounds (a 60 s tick ends the 60 s recovery wait at once).
        """
        assert self.entry is not None
        for coordinator in self.entry.runtime_data.runtime.coordinators.values():
            cancel = coordinator._unsub_refresh  # the poll's TimerHandle.cancel
            handle = getattr(cancel, "__self__", None)
            if isinstance(handle, asyncio.TimerHandle) and not handle.cancelled():
                handle._run()
                handle.cancel()
        await asyncio.sleep(0.1)
        await self.hass.async_block_till_done(wait_background_tasks=False)


class MaxSmartPeer(Peer):
    """A MaxSmart strip over HTTP (polled; the client gives up after 5 s)."""

    key = "maxsmart"
    faults = StripFaults.faults
    device_name = "Desk"

    async def async_start(self) -> None:
        """Start the strip emulator and its entry."""
        self.emulator = MaxSmartEmulator("127.0.0.1", **strip_kwargs())
        self.switches = StripFaults(self.emulator)
        await self.emulator.start()
        self.entry = await setup_entry(self.hass, self.emulator)

    async def async_stop(self) -> None:
        """Unload, stop."""
        assert self.entry is not None
        await self.hass.config_entries.async_unload(self.entry.entry_id)
        await self.emulator.stop()

    @property
    def entity_id(self) -> str:
        """Port 1 (``TV``)."""
        return "switch.desk_tv"


class IndiPeer(Peer):
    """An INDI server (push over TCP; the client reconnects by itself)."""

    key = "indi"
    faults = IndiFaults.faults
    stays_available = frozenset({"garbage"})  # malformed elements are skipped, the link lives
    device_name = "Switchboard Plug"

    async def async_start(self) -> None:
        """Start the indipydriver emulator and an entry for the server."""
        self.emulator = IndiEmulator("127.0.0.1", 0, command_delay=0.05)
        self.switches = IndiFaults(self.emulator)
        await self.emulator.start()
        self.entry = MockConfigEntry(
            domain=DOMAIN,
            title=f"INDI 127.0.0.1:{self.emulator.port}",
            unique_id=f"127.0.0.1:{self.emulator.port}",
            data={
                CONF_FAMILY: "indi",
                "host": "127.0.0.1",
                "port": self.emulator.port,
                "devices": [],
            },
        )
        self.entry.add_to_hass(self.hass)
        assert await self.hass.config_entries.async_setup(self.entry.entry_id)
        await self.hass.async_block_till_done()

    async def async_stop(self) -> None:
        """Unload, stop."""
        assert self.entry is not None
        await self.hass.config_entries.async_unload(self.entry.entry_id)
        await self.emulator.stop()

    @property
    def entity_id(self) -> str:
        """The plug's POWER switch."""
        assert self.entry is not None
        entity_id = er.async_get(self.hass).async_get_entity_id(
            "switch", DOMAIN, f"127.0.0.1:{self.emulator.port}/{PLUG}_POWER"
        )
        assert entity_id is not None
        return entity_id


class MerossPeer(Peer):
    """A Meross plug on the emulated cloud's TLS mosquitto (push, polled every 10 min).

    The device talks to the broker, the broker to us: MQTT carries whole messages only, so a
    half message or a connection closed mid-reply never reaches the integration.
    """

    key = "meross"
    faults = PlugFaults.faults
    device_name = "Desk plug"

    async def async_start(self) -> None:
        """Start mosquitto, the emulated cloud and its devices, and the account's entry."""
        self._stack = contextlib.AsyncExitStack()
        broker = await self._stack.enter_async_context(meross_broker())
        self.env = await self._stack.enter_async_context(meross_account(broker))
        self.plug = self.env.plug
        self.switches = PlugFaults(self.plug)
        self.entry = await setup_meross_entry(self.hass, self.env)  # type: ignore[assignment]

    async def async_stop(self) -> None:
        """Unload, stop the cloud and the broker."""
        assert self.entry is not None
        await self.hass.config_entries.async_unload(self.entry.entry_id)
        await self._stack.aclose()

    @property
    def entity_id(self) -> str:
        """The plug's switch."""
        entity_id = er.async_get(self.hass).async_get_entity_id(
            "switch", DOMAIN, f"{self.plug.uuid}_channel_0"
        )
        assert entity_id is not None
        return entity_id

    async def async_tick(self) -> None:
        """Only the coordinators' polls come due (see :meth:`Peer.async_tick_polls`)."""
        await self.async_tick_polls()


class MideaPeer(Peer):
    """A Midea dehumidifier over its V3 LAN protocol (midea-local's thread; polled)."""

    key = "midea"
    faults = ApplianceFaults.faults
    device_name = "Cellar"
    command_domain = "humidifier"

    async def async_start(self) -> None:
        """Start the emulated appliances, discovery and cloud, and the account's entry."""
        self.stack = await start_stack()
        self.appliance = self.stack.dehumidifier
        self.switches = ApplianceFaults(self.stack.dehumidifier_server)
        self.entry = await setup_account_entry(self.hass, self.stack)

    async def async_stop(self) -> None:
        """Unload, stop."""
        assert self.entry is not None
        await self.hass.config_entries.async_unload(self.entry.entry_id)
        await stop_stack(self.stack)

    @property
    def entity_id(self) -> str:
        """The dehumidifier."""
        return "humidifier.cellar"

    async def async_tick(self) -> None:
        """Only the coordinator's poll comes due (see :meth:`Peer.async_tick_polls`)."""
        await self.async_tick_polls()


PEERS: dict[str, type[Peer]] = {
    peer.key: peer for peer in (MaxSmartPeer, IndiPeer, MerossPeer, MideaPeer)
}
UNSUPPORTED = {
    "meross": "MQTT carries whole messages: the broker never forwards half a device's reply "
    "or a connection the device closed mid-reply (the device's own link is the broker's)",
    "indi": "the INDI emulator cannot go silent or delay its stream; the client's snoop "
    "timeout (silence) is tested in tests/indi",
}


KNOWN_DEFECTS: dict[tuple[str, str], str] = {}


def _cases() -> list[Any]:
    cases = []
    for key, peer in PEERS.items():
        for fault in FAULTS:
            marks = []
            if fault not in peer.faults:
                marks.append(pytest.mark.skip(reason=UNSUPPORTED[key]))
            if (key, fault) in KNOWN_DEFECTS:
                marks.append(pytest.mark.xfail(reason=KNOWN_DEFECTS[key, fault], strict=False))
            cases.append(pytest.param(key, fault, marks=marks, id=f"{key}-{fault}"))
    return cases


async def _until(
    peer: Peer, predicate: Callable[[], bool], bound: float, tick: bool = True
) -> None:
    async with asyncio.timeout(bound):
        while not predicate():
            if tick:
                await peer.async_tick()
            await asyncio.sleep(0.05)


@pytest.mark.parametrize(("family", "fault"), _cases())
async def test_fault(
    hass: HomeAssistant,
    socket_enabled: None,
    caplog: pytest.LogCaptureFixture,
    family: str,
    fault: str,
) -> None:
    """One family through one fault: unavailable once, no traceback, commands end, recovery."""
    caplog.set_level(logging.DEBUG)
    peer = PEERS[family](hass)
    await peer.async_start()
    try:
        entity_id = peer.entity_id
        state = lambda: hass.states.get(entity_id).state  # noqa: E731
        await _until(peer, lambda: state() != STATE_UNAVAILABLE, 20)
        caplog.clear()

        await peer.async_inject(fault)
        # A command during the fault ends with the confirmed state or a translated error.
        before = state()
        error: HomeAssistantError | None = None
        try:
            async with asyncio.timeout(COMMAND_BOUND):
                await await_command(hass, peer.command_domain, entity_id)
        except HomeAssistantError as err:
            error = err
        if error is not None:
            assert error.translation_key, f"untranslated error: {error!r}"
        else:
            assert state() not in (before, STATE_UNAVAILABLE)
        if fault in peer.stays_available:
            # By design the device stays available (e.g. a skipped malformed element).
            assert state() != STATE_UNAVAILABLE
        else:
            await _until(peer, lambda: state() == STATE_UNAVAILABLE, RECOVERY_BOUND)

        await peer.async_clear(fault)
        await _until(peer, lambda: state() != STATE_UNAVAILABLE, RECOVERY_BOUND)

        went = [
            r.getMessage()
            for r in caplog.records
            if r.levelno >= logging.INFO
            and peer.device_name in r.getMessage()
            and (" is unavailable" in r.getMessage() or r.getMessage().startswith("Error fetching"))
        ]
        assert len(went) == (0 if fault in peer.stays_available else 1), went
        tracebacks = [
            r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info
        ]
        assert tracebacks == []
    finally:
        await peer.async_stop()


async def await_command(hass: HomeAssistant, domain: str, entity_id: str) -> None:
    """Toggle the entity (blocking, as a user's action)."""
    await hass.services.async_call(domain, "toggle", {"entity_id": entity_id}, blocking=True)


async def test_maxsmart_other_strip_at_the_address(
    hass: HomeAssistant, socket_enabled: None, caplog: pytest.LogCaptureFixture
) -> None:
    """The strip goes away and another strip comes back at its address (a new DHCP lease).

    The entry is not attached to the other strip: unavailable (logged once), a command
    switches nothing on the other strip, a translated repair issue names
    the address and the strip found there; the right strip back clears both by itself.
    """
    caplog.set_level(logging.DEBUG)
    peer = MaxSmartPeer(hass)
    await peer.async_start()
    emulator, entry = peer.emulator, peer.entry
    assert entry is not None
    issues = ir.async_get(hass)
    issue = ("switchboard", f"maxsmart_other_device_{entry.entry_id}")
    try:
        entity_id = peer.entity_id
        state = lambda: hass.states.get(entity_id).state  # noqa: E731
        caplog.clear()

        await emulator.stop()
        await peer.async_tick()  # the old strip is gone: this poll fails
        own_serial = emulator.serial
        emulator.serial = "SWP6023002009999"
        await emulator.start()
        await _until(peer, lambda: issues.async_get_issue(*issue) is not None, RECOVERY_BOUND)
        assert state() == STATE_UNAVAILABLE
        found = issues.async_get_issue(*issue)
        assert found is not None
        assert found.translation_key == "maxsmart_other_device"
        assert found.translation_placeholders is not None
        assert found.translation_placeholders["serial"] == "SWP6023002009999"
        switched = list(emulator.switch)
        # Home Assistant does not call an unavailable entity's service; polls go on.
        await await_command(hass, "switch", entity_id)
        await peer.async_tick()
        assert emulator.switch == switched  # nothing was sent to the other strip
        assert state() == STATE_UNAVAILABLE

        await emulator.stop()
        emulator.serial = own_serial
        await emulator.start()
        await _until(peer, lambda: state() != STATE_UNAVAILABLE, RECOVERY_BOUND)
        assert issues.async_get_issue(*issue) is None
        went = [
            r.getMessage()
            for r in caplog.records
            if r.levelno >= logging.INFO
            and "Desk" in r.getMessage()
            and (" is unavailable" in r.getMessage() or r.getMessage().startswith("Error fetching"))
        ]
        assert len(went) == 1, went
        assert [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info] == []
    finally:
        await peer.async_stop()
