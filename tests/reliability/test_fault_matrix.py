"""The fault matrix: every family through the same faults, against its emulator.

Faults: the peer does not answer, answers garbage, answers half a message and stalls, closes the
connection mid-reply, answers after the timeout, restarts. For each (family, fault):

* the device's entities go unavailable, and the coordinator logs that once;
* no error-level record carries a traceback;
* a command issued during the fault ends, within a bound, with the device-confirmed state or a
  translated ``HomeAssistantError`` (none hangs, none is silently dropped);
* once the fault is gone the entry recovers by itself (its own scheduled polls or reconnects).

A family takes part through a :class:`Peer` (start its emulator and entry, inject and clear a
fault, let one poll/reconnect cycle pass): MaxSmart, INDI, Meross, Midea and the SEPL connector
(whose entity is its connection sensor and whose command is a platform command, see
:class:`SeplPeer`). A fault a peer cannot produce is listed in its ``faults`` and skipped with
the reason (see ``UNSUPPORTED``).

The seventh fault, a different identity (another device at the address), has a test per family,
because what identity means differs: a MaxSmart strip's serial (UDP discovery), a Midea
appliance's id and TCP port (unicast discovery), the devices an INDI server serves, the SEPL
gateway id the platform hands out; for Meross a device's address is its uuid, so the test
asserts that another device never answers for it. Each, where it can happen, keeps the entry
off the other device (unavailable, logged once) and raises a translated repair issue that
clears itself when the right device is back.
"""

import asyncio
from collections.abc import Callable
import contextlib
from datetime import timedelta
import logging
from typing import Any, ClassVar

from homeassistant.const import (
    CONF_PASSWORD,
    CONF_URL,
    CONF_USERNAME,
    CONF_VERIFY_SSL,
    STATE_UNAVAILABLE,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    async_mock_service,
)

from custom_components.switchboard.const import CONF_FAMILY, DOMAIN
from custom_components.switchboard.export.sepl.client import SeplClient
from custom_components.switchboard.export.sepl.const import (
    CONF_EXPORTER,
    CONF_GATEWAY_ID,
    EXPORTER_SEPL,
)
from emulators.indi import LAMP, PLUG, IndiEmulator
from emulators.maxsmart import MaxSmartEmulator
from emulators.meross import MerossPlug
from emulators.midea import default_dehumidifier
from emulators.sepl import CommandRecord, SeplPlatform
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
    PlatformFaults,
    PlugFaults,
    StripFaults,
)
from tests.sepl.conftest import PASSWORD as SEPL_PASSWORD, USER as SEPL_USER, add_entity, until

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
    down_states: ClassVar[frozenset[str]] = frozenset({STATE_UNAVAILABLE})
    """States of :attr:`entity_id` that mean the device (or connection) is down."""

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

    async def async_command_during_fault(self) -> None:
        """Toggle the entity: it ends within a bound, confirmed or with a translated error."""
        state = self.hass.states.get(self.entity_id)
        before = state.state if state else None
        error: HomeAssistantError | None = None
        try:
            async with asyncio.timeout(COMMAND_BOUND):
                await await_command(self.hass, self.command_domain, self.entity_id)
        except HomeAssistantError as err:
            error = err
        if error is not None:
            assert error.translation_key, f"untranslated error: {error!r}"
        else:
            after = self.hass.states.get(self.entity_id)
            assert after is not None
            assert after.state not in (before, STATE_UNAVAILABLE)

    async def async_check_command_after_recovery(self) -> None:
        """What the command issued during the fault must show once recovered (nothing more)."""

    def logs_down(self, message: str) -> bool:
        """Whether a log line (INFO or above) says the device went down."""
        return self.device_name in message and (
            " is unavailable" in message or message.startswith("Error fetching")
        )

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


def _registered(hass: HomeAssistant, domain: str, unique_id: str) -> str:
    """The entity id of this integration's ``domain`` entity with ``unique_id``."""
    entity_id = er.async_get(hass).async_get_entity_id(domain, DOMAIN, unique_id)
    assert entity_id is not None
    return entity_id


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
        return _registered(self.hass, "switch", f"127.0.0.1:{self.emulator.port}/{PLUG}_POWER")


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
        return _registered(self.hass, "switch", f"{self.plug.uuid}_channel_0")

    async def async_tick(self) -> None:
        """Only the coordinators' polls come due (see :meth:`Peer.async_tick_polls`)."""
        await self.async_tick_polls()


class MideaPeer(Peer):
    """A Midea dehumidifier over its V3 LAN protocol (midea-local's thread; polled)."""

    key = "midea"
    faults = ApplianceFaults.faults
    device_name = "Cellar"
    command_domain = "humidifier"

    protocol = 3

    async def async_start(self) -> None:
        """Start the emulated appliances, discovery and cloud, and the account's entry."""
        self.stack = await start_stack(protocol=self.protocol)
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


class SeplPeer(Peer):
    """The SEPL platform (websocket) and a connector entry exposing one switch.

    The connector is the client: its connection sensor is the entity under test (down: any
    state but ``ready``); the command is a platform command for the exposed switch, which
    the platform sends again with the same task id after the reconnect when no response came
    (as the process engine retries a task): it must run exactly once and be answered with 200.
    The client's timings are shortened (keepalive, handshake and request timeouts 2 s, back-off
    at most 0.5 s) so that a fault is noticed within seconds, as it would be within 30 s. (At
    1 s, a pong or reply late on a loaded machine could end a healthy session: a second
    "disconnected" logged.)
    """

    key = "sepl"
    faults = frozenset(FAULTS)
    stays_available = frozenset({"garbage"})  # non-JSON frames are skipped, the session lives
    device_name = "SEPL"
    down_states = frozenset({"disconnected", "connecting", "synchronising", STATE_UNAVAILABLE})
    timeout = 2.0

    async def async_start(self) -> None:
        """Start the platform, expose one switch, set up the connector until synchronised."""
        self.platform = SeplPlatform(users={SEPL_USER: SEPL_PASSWORD})
        self.switches = PlatformFaults(self.platform, timeout=self.timeout)
        await self.platform.start()
        self.switch = add_entity(self.hass, "switch", "fault_lamp", "off")
        self.calls = async_mock_service(self.hass, "switch", "toggle")
        self.entry = MockConfigEntry(
            domain=DOMAIN,
            title="SEPL",
            unique_id=f"{SEPL_USER}@platform",
            data={
                CONF_EXPORTER: EXPORTER_SEPL,
                CONF_URL: self.platform.url,
                CONF_USERNAME: SEPL_USER,
                CONF_PASSWORD: SEPL_PASSWORD,
                CONF_VERIFY_SSL: True,
                CONF_GATEWAY_ID: "",
            },
        )
        self.entry.add_to_hass(self.hass)
        assert await self.hass.config_entries.async_setup(self.entry.entry_id)
        await self.hass.async_block_till_done()
        client = self.client
        await until(lambda: client.ready)
        client.keepalive = client.request_timeout = client.handshake_timeout = self.timeout
        client.sync_timeout = 2 * self.timeout
        client.backoff_base, client.backoff_max = 0.05, 0.5
        # The keepalive task slept with the old period: a new session starts with the new one.
        await self.platform.close_sessions()
        await until(lambda: self.platform.logins == 2 and client.ready)
        self.uri = self.entry.runtime_data.exposed()[self.switch]
        self.record: CommandRecord | None = None

    @property
    def client(self) -> SeplClient:
        """The connector's client."""
        assert self.entry is not None
        client = self.entry.runtime_data.client
        assert client is not None
        return client

    async def async_stop(self) -> None:
        """Unload, stop the platform."""
        assert self.entry is not None
        await self.hass.config_entries.async_unload(self.entry.entry_id)
        await self.platform.stop()

    @property
    def entity_id(self) -> str:
        """The connector's connection sensor."""
        assert self.entry is not None
        return _registered(self.hass, "sensor", f"{self.entry.entry_id}_sepl_connection")

    async def async_tick(self) -> None:
        """The client reconnects by itself (real time): let it run."""
        await asyncio.sleep(0.1)

    async def async_command_during_fault(self) -> None:
        """The platform sends a toggle for the exposed switch (to every listening session)."""
        self.record = await self.platform.async_send_command(
            SEPL_USER, self.uri, "toggle", task_id="fault-matrix-1"
        )

    async def async_check_command_after_recovery(self) -> None:
        """Answered, or sent again with the same task id and answered: run exactly once."""
        record = self.record
        assert record is not None
        if not record.responses:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2 * self.timeout):
                    await record.arrived.wait()
        if not record.responses:
            await self.platform.async_send_command(
                SEPL_USER, self.uri, "toggle", task_id="fault-matrix-1"
            )
            async with asyncio.timeout(COMMAND_BOUND):
                await record.arrived.wait()
        assert record.responses[-1]["outputs"] == {"status": 200, "message": ""}
        assert len(self.calls) == 1

    def logs_down(self, message: str) -> bool:
        """The client logs the end of a synchronised session."""
        return message.startswith("SEPL: disconnected from")


PEERS: dict[str, type[Peer]] = {
    peer.key: peer for peer in (MaxSmartPeer, IndiPeer, MerossPeer, MideaPeer, SeplPeer)
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
        await _until(peer, lambda: state() not in peer.down_states, 20)
        caplog.clear()
        seen: list[str] = []  # every state written from now on (a reconnect can be quick)
        unsubscribe = async_track_state_change_event(
            hass, entity_id, lambda event: seen.append(event.data["new_state"].state)
        )

        await peer.async_inject(fault)
        # A command during the fault ends with the confirmed state or a translated error.
        await peer.async_command_during_fault()
        if fault in peer.stays_available:
            # By design the device stays available (e.g. a skipped malformed element).
            assert state() not in peer.down_states
        else:
            await _until(peer, lambda: bool(peer.down_states & {*seen}), RECOVERY_BOUND)
        unsubscribe()

        await peer.async_clear(fault)
        await _until(peer, lambda: state() not in peer.down_states, RECOVERY_BOUND)
        await peer.async_check_command_after_recovery()

        _assert_logged(peer, caplog, down=0 if fault in peer.stays_available else 1)
    finally:
        await peer.async_stop()


def _assert_logged(peer: Peer, caplog: pytest.LogCaptureFixture, down: int) -> None:
    """The device was logged down ``down`` times; no error-level record carries a traceback."""
    went = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.INFO and peer.logs_down(r.getMessage())
    ]
    assert len(went) == down, went
    tracebacks = [
        r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info
    ]
    assert tracebacks == []


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
        _assert_logged(peer, caplog, down=1)
    finally:
        await peer.async_stop()


@pytest.mark.parametrize("protocol", [2, 3])
async def test_midea_other_appliance_at_the_address(
    hass: HomeAssistant, socket_enabled: None, caplog: pytest.LogCaptureFixture, protocol: int
) -> None:
    """The dehumidifier goes away and another appliance comes back at its host and port.

    A V2 appliance takes any connection, so without identification the entry would be attached
    to the other appliance; a V3 one would refuse the token (and look like a reset appliance).
    Each connection is preceded by a unicast discovery probe, whose reply carries the appliance
    id and the TCP port: no connection is made to the other appliance, the dehumidifier stays
    unavailable (logged once), a translated repair issue names the address and the appliance
    found there, and the right appliance back clears both by itself.
    """
    caplog.set_level(logging.DEBUG)
    peer = MideaPeer(hass)
    peer.protocol = protocol
    await peer.async_start()
    assert peer.entry is not None
    server, own = peer.stack.dehumidifier_server, peer.appliance
    issues = ir.async_get(hass)
    issue = (DOMAIN, f"midea_other_device_{own.appliance_id}_{peer.entry.entry_id}")
    try:
        state = lambda: hass.states.get(peer.entity_id).state  # noqa: E731
        await _until(peer, lambda: state() != STATE_UNAVAILABLE, 20)
        caplog.clear()

        await server.stop()
        other = default_dehumidifier(
            appliance_id=own.appliance_id + 1000,
            serial="000000P0000000Q1B88C29C9000A0000",
            name="Neighbour",
            mac="88:c2:9c:90:00:0a",
            protocol=protocol,
        )
        server.appliance = other
        connections = server.connections
        await server.start()
        await _until(peer, lambda: issues.async_get_issue(*issue) is not None, RECOVERY_BOUND)
        assert state() == STATE_UNAVAILABLE
        found = issues.async_get_issue(*issue)
        assert found is not None
        assert found.translation_key == "midea_other_device"
        assert found.translation_placeholders == {
            "entry": peer.entry.title,
            "appliance": "Cellar",
            "address": f"127.0.0.1:{server.port}",
            "other": str(other.appliance_id),
        }
        # Home Assistant does not call an unavailable entity's service; polls go on.
        await await_command(hass, "humidifier", peer.entity_id)
        for _ in range(3):
            await peer.async_tick()
            await asyncio.sleep(0.5)
        assert server.connections == connections  # nothing connected to the other appliance
        assert other.frames == []
        assert state() == STATE_UNAVAILABLE

        await server.stop()
        server.appliance = own
        await server.start()
        await _until(peer, lambda: state() != STATE_UNAVAILABLE, RECOVERY_BOUND)
        assert issues.async_get_issue(*issue) is None
        _assert_logged(peer, caplog, down=1)
    finally:
        await peer.async_stop()


async def test_sepl_platform_gives_another_gateway(
    hass: HomeAssistant, socket_enabled: None, caplog: pytest.LogCaptureFixture
) -> None:
    """The platform at the connector's address no longer lets it use its gateway.

    SEPL's identity of a connector is the gateway id sent at every handshake (§2): a gid the
    user may not use (deleted, given to another user, another platform at the address) is
    answered with a new gateway. As the client library does, the connector takes the new id and
    synchronises its devices to it; it raises the translated ``sepl_gateway_replaced`` issue
    (the old gateway may still hold the devices, §4) and logs it once. A later connection that
    finds the new gateway's commit kept clears the issue by itself.
    """
    caplog.set_level(logging.DEBUG)
    peer = SeplPeer(hass)
    await peer.async_start()
    assert peer.entry is not None
    platform, client = peer.platform, peer.client
    old = peer.entry.data[CONF_GATEWAY_ID]
    issues = ir.async_get(hass)
    issue = (DOMAIN, f"sepl_gateway_replaced_{peer.entry.entry_id}")
    try:
        caplog.clear()
        platform.give_gateway(old, "bob")
        await platform.close_sessions()
        await until(lambda: client.gateway_id != old and client.ready, COMMAND_BOUND)
        new = client.gateway_id
        assert peer.entry.data[CONF_GATEWAY_ID] == new
        found = issues.async_get_issue(*issue)
        assert found is not None
        assert found.translation_key == "sepl_gateway_replaced"
        assert found.translation_placeholders == {
            "entry": "SEPL",
            "url": platform.url,
            "old": old,
            "new": new,
        }
        assert platform.gateways[new].user == SEPL_USER
        assert platform.gateways[new].devices == [peer.uri]
        assert platform.gateways[new].hash == client.local_hash()
        record = await platform.async_send_command(SEPL_USER, peer.uri, "toggle")
        async with asyncio.timeout(COMMAND_BOUND):
            await record.arrived.wait()
        assert record.responses[0]["outputs"]["status"] == 200

        await platform.restart()  # the next connection finds the commit kept
        await until(lambda: platform.logins == 4 and client.ready, COMMAND_BOUND)
        assert client.hash_matched
        assert issues.async_get_issue(*issue) is None
        replaced = [r for r in caplog.records if "gave the gateway" in r.getMessage()]
        assert len(replaced) == 1
        assert replaced[0].levelno == logging.WARNING
        assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    finally:
        await peer.async_stop()


async def test_indi_other_server_at_the_address(
    hass: HomeAssistant, socket_enabled: None, caplog: pytest.LogCaptureFixture
) -> None:
    """The INDI server restarts serving other devices only (another server at the address).

    INDI has no server identity: a server is known by the devices it serves. After the
    reconnect none of the entry's devices is defined, so its devices stay unavailable (logged
    once), the new devices get no entities (not attached), and a translated repair issue names
    the address and the devices found; the server serving the entry's devices again clears the
    issue by itself, and so does the entry's lamp served again next to a new plug (a driver
    added on the entry's server: the new plug is added).
    """
    caplog.set_level(logging.DEBUG)
    peer = IndiPeer(hass)
    await peer.async_start()
    assert peer.entry is not None
    emulator, entity_id = peer.emulator, peer.entity_id
    issues = ir.async_get(hass)
    issue = (DOMAIN, f"indi_other_server_{peer.entry.entry_id}")
    server = f"127.0.0.1:{emulator.port}"
    try:
        state = lambda: hass.states.get(entity_id).state  # noqa: E731
        await _until(peer, lambda: state() != STATE_UNAVAILABLE, 20)
        caplog.clear()

        emulator.device_names = ("Other Plug", "Other Lamp")
        await emulator.restart(downtime=0.5)
        await _until(peer, lambda: issues.async_get_issue(*issue) is not None, RECOVERY_BOUND)
        assert state() == STATE_UNAVAILABLE
        found = issues.async_get_issue(*issue)
        assert found is not None
        assert found.translation_key == "indi_other_server"
        assert found.translation_placeholders == {
            "entry": peer.entry.title,
            "server": server,
            "devices": "Other Lamp, Other Plug",
        }
        registry = er.async_get(hass)
        assert registry.async_get_entity_id("switch", DOMAIN, f"{server}/Other Plug_POWER") is None
        sent = len(emulator.received_tags("newSwitchVector"))
        await await_command(hass, "switch", entity_id)  # not called: the entity is unavailable
        assert len(emulator.received_tags("newSwitchVector")) == sent

        # The entry's lamp served again, after a new plug (held until the lamp is defined):
        # the server is the entry's, with a new driver; the issue goes, the new plug is added.
        emulator.device_names = ("New Plug", LAMP)
        await emulator.restart(downtime=0.5)
        new_plug = f"{server}/New Plug_POWER"
        await _until(
            peer,
            lambda: registry.async_get_entity_id("switch", DOMAIN, new_plug) is not None,
            RECOVERY_BOUND,
        )
        assert issues.async_get_issue(*issue) is None
        assert state() == STATE_UNAVAILABLE

        emulator.device_names = (PLUG, LAMP)
        await emulator.restart(downtime=0.5)
        await _until(peer, lambda: state() != STATE_UNAVAILABLE, RECOVERY_BOUND)
        assert issues.async_get_issue(*issue) is None
        assert registry.async_get_entity_id("switch", DOMAIN, f"{server}/Other Plug_POWER") is None
        _assert_logged(peer, caplog, down=1)
    finally:
        await peer.async_stop()


async def test_meross_another_plug_never_answers_for_the_plug(
    hass: HomeAssistant, socket_enabled: None, caplog: pytest.LogCaptureFixture
) -> None:
    """Meross: another device at the plug's address is not something a network can produce.

    A Meross device's address is its uuid, not a host: requests go to the broker topic
    ``/appliance/<uuid>/subscribe``, which only the device with that uuid subscribes to (its
    firmware subscribes its own topic), and replies are matched to the request by message id.
    A replacement plug is a new device of the account, with its own uuid and entities. The row
    asserts that property: the plug goes off its broker and another plug of the same account
    and name comes online on the same broker; the other plug receives none of the requests
    for the plug, a command ends with a translated error, the plug is unavailable (logged
    once) while the other plug pushes, and comes back by itself. No repair issue is needed.
    """
    caplog.set_level(logging.DEBUG)
    peer = MerossPeer(hass)
    await peer.async_start()
    plug = peer.plug
    other = MerossPlug(name=plug.name)
    other.user_id, other.key = plug.user_id, plug.key
    try:
        state = lambda: hass.states.get(peer.entity_id).state  # noqa: E731
        await _until(peer, lambda: state() != STATE_UNAVAILABLE, 20)
        caplog.clear()

        await plug.stop()
        await other.start(plug.broker_host, plug.broker_port)
        await other.wait_connected()
        await peer.async_command_during_fault()
        await _until(peer, lambda: state() == STATE_UNAVAILABLE, RECOVERY_BOUND)
        await other.push("Appliance.System.Online", {"online": {"status": 1}})
        await peer.async_tick()
        assert state() == STATE_UNAVAILABLE
        assert other.requests == []  # nothing meant for the plug reached the other plug
        assert not [key for key in ir.async_get(hass).issues if key[0] == DOMAIN]

        await other.stop()
        await plug.start(plug.broker_host, plug.broker_port)
        await _until(peer, lambda: state() != STATE_UNAVAILABLE, RECOVERY_BOUND)
        _assert_logged(peer, caplog, down=1)
    finally:
        await other.stop()
        await peer.async_stop()
