"""The coordinator's contract, driven through a stand-in family source.

The families' own tests run the coordinator against emulators; this file pins down the parts
of the contract every family relies on but no single emulator reaches on demand: how each
family error is reported, push health switching the poll interval, and device removal.
"""

import asyncio
from collections import Counter
from collections.abc import AsyncGenerator, Mapping
from datetime import timedelta
from itertools import pairwise
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import CoreState, HomeAssistant
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    HomeAssistantError,
    ServiceValidationError,
)
from homeassistant.helpers.update_coordinator import UpdateFailed
import probatio
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed_exact,
)

from custom_components.switchboard.const import DOMAIN
from custom_components.switchboard.coordinator import (
    STRUCTURE,
    DeviceSource,
    Interest,
    PollingSettings,
    SwitchboardCoordinator,
    SwitchboardData,
    poll_phase,
)
from custom_components.switchboard.model import (
    ActionSpec,
    Attribute,
    CommandRejectedError,
    DeviceAuthError,
    DeviceConnectionError,
    DeviceDescriptor,
    DeviceRateLimitError,
    DeviceResponseError,
    DeviceState,
)

DEVICE = DeviceDescriptor(id="dev1", name="Lamp", manufacturer="Test")
POLLING = PollingSettings(
    normal=timedelta(seconds=5),
    burst=timedelta(seconds=1),
    burst_cycles=2,
    push=timedelta(minutes=10),
)


class StandInSource(DeviceSource):
    """A source whose next poll or command result the test decides."""

    def __init__(self) -> None:
        self.on = False
        self.available = True
        self.poll_error: Exception | None = None
        self.command_error: Exception | None = None
        self.polls = 0

    def state(self) -> SwitchboardData:
        return {
            DEVICE.id: DeviceState(
                descriptor=DEVICE,
                available=self.available,
                attributes={"on": Attribute(self.on)},
            )
        }

    async def async_fetch(self) -> SwitchboardData:
        self.polls += 1
        if self.poll_error is not None:
            raise self.poll_error
        return self.state()

    def actions(self, device_id: str) -> Mapping[str, ActionSpec]:
        return {
            "turn_on": ActionSpec(
                name="turn_on",
                schema=probatio.Schema({probatio.Required("level"): int}),
                description="switch on at a level",
            )
        }

    async def async_execute(
        self, device_id: str, action: str, args: Mapping[str, Any]
    ) -> SwitchboardData | None:
        if self.command_error is not None:
            raise self.command_error
        self.on = True
        return self.state()


@pytest.fixture
async def source_and_coordinator(
    hass: HomeAssistant,
) -> AsyncGenerator[tuple[StandInSource, SwitchboardCoordinator]]:
    entry = MockConfigEntry(domain=DOMAIN, data={"family": "test"})
    entry.add_to_hass(hass)
    entry.mock_state(hass, ConfigEntryState.LOADED)
    source = StandInSource()
    coordinator = SwitchboardCoordinator(hass, entry, source=source, polling=POLLING, name="test")
    await coordinator.async_refresh()
    yield source, coordinator
    await coordinator.async_shutdown()


@pytest.mark.parametrize(
    ("error", "expected", "key"),
    [
        (DeviceAuthError("revoked"), ConfigEntryAuthFailed, "auth_failed"),
        (DeviceRateLimitError("slow down", 30), UpdateFailed, "rate_limited"),
        (DeviceConnectionError("refused"), UpdateFailed, "cannot_connect"),
        (DeviceResponseError("garbage"), UpdateFailed, "invalid_response"),
    ],
)
async def test_poll_errors_are_translated(
    source_and_coordinator: tuple[StandInSource, SwitchboardCoordinator],
    error: Exception,
    expected: type[Exception],
    key: str,
) -> None:
    """Each family error becomes the Home Assistant error with a translation key."""
    source, coordinator = source_and_coordinator
    source.poll_error = error
    await coordinator.async_refresh()
    assert coordinator.last_update_success is False
    assert isinstance(coordinator.last_exception, expected)
    assert coordinator.last_exception.translation_key == key
    if isinstance(error, DeviceRateLimitError):
        assert coordinator.last_exception.retry_after == 30


async def test_no_poll_and_no_error_while_home_assistant_stops(
    hass: HomeAssistant,
    source_and_coordinator: tuple[StandInSource, SwitchboardCoordinator],
) -> None:
    """Stopping is not an error: the last state stands, the closing source is not polled."""
    source, coordinator = source_and_coordinator
    polls = source.polls
    source.poll_error = DeviceConnectionError("not connected to the broker")
    hass.set_state(CoreState.stopping)
    await coordinator.async_refresh()
    assert coordinator.last_update_success is True
    assert source.polls == polls
    hass.set_state(CoreState.running)


@pytest.mark.parametrize(
    ("error", "key"),
    [
        (CommandRejectedError("no", translation_key="rename_rejected"), "rename_rejected"),
        (DeviceAuthError("revoked"), "auth_failed"),
        (DeviceRateLimitError("slow down", 12), "rate_limited_command"),
        (DeviceConnectionError("refused"), "command_failed"),
    ],
)
async def test_command_errors_are_translated(
    source_and_coordinator: tuple[StandInSource, SwitchboardCoordinator],
    error: Exception,
    key: str,
) -> None:
    """A failing command raises a translated HomeAssistantError and starts no burst."""
    source, coordinator = source_and_coordinator
    source.command_error = error
    with pytest.raises(HomeAssistantError) as raised:
        await coordinator.async_execute(DEVICE.id, "turn_on", {"level": 1})
    assert raised.value.translation_domain == DOMAIN
    assert raised.value.translation_key == key
    assert coordinator.burst_remaining == 0
    assert coordinator.update_interval == POLLING.normal


async def test_invalid_commands_are_refused_before_sending(
    source_and_coordinator: tuple[StandInSource, SwitchboardCoordinator],
) -> None:
    """Unknown device, action outside the allow-list, bad arguments: validation errors."""
    source, coordinator = source_and_coordinator
    cases = [
        ("nope", "turn_on", {"level": 1}, "unknown_device"),
        (DEVICE.id, "format_disk", {}, "unknown_action"),
        (DEVICE.id, "turn_on", {"level": "high"}, "invalid_action_args"),
        (DEVICE.id, "turn_on", {"level": 1, "extra": 2}, "invalid_action_args"),
    ]
    for device_id, action, args, key in cases:
        with pytest.raises(ServiceValidationError) as raised:
            await coordinator.async_execute(device_id, action, args)
        assert raised.value.translation_key == key
    assert source.on is False


async def test_command_reply_applied_and_burst(
    source_and_coordinator: tuple[StandInSource, SwitchboardCoordinator],
) -> None:
    """The command's reply is the new state at once; the burst interval takes over."""
    source, coordinator = source_and_coordinator
    polls = source.polls
    state = await coordinator.async_execute(DEVICE.id, "turn_on", {"level": 3})
    assert state.value("on") is True
    assert coordinator.data[DEVICE.id].value("on") is True
    assert source.polls == polls  # the reply was enough: no extra read
    assert coordinator.update_interval == POLLING.burst
    assert coordinator.burst_remaining == POLLING.burst_cycles


async def test_push_health_switches_polling(
    hass: HomeAssistant, source_and_coordinator: tuple[StandInSource, SwitchboardCoordinator]
) -> None:
    """Healthy push: slow safety-net polling. Push lost: normal polling and a poll at once."""
    source, coordinator = source_and_coordinator
    coordinator.async_set_push_healthy(True)
    assert coordinator.update_interval == POLLING.push
    coordinator.async_set_push_healthy(True)  # no change, nothing happens
    assert coordinator.update_interval == POLLING.push

    polls = source.polls
    source.on = True
    coordinator.async_set_push_healthy(False)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert coordinator.update_interval == POLLING.normal
    assert source.polls == polls + 1
    assert coordinator.data[DEVICE.id].value("on") is True


async def test_push_devices_and_removal_bump_structure(
    source_and_coordinator: tuple[StandInSource, SwitchboardCoordinator],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """New attribute keys and removed devices bump the structure version; availability
    changes are logged once each way."""
    _, coordinator = source_and_coordinator
    version = coordinator.structure_version
    pushed = DeviceState(
        descriptor=DEVICE,
        available=False,
        attributes={"on": Attribute(True), "power": Attribute(3.5, "W")},
    )
    coordinator.async_push_devices({DEVICE.id: pushed})
    assert coordinator.structure_version == version + 1
    assert "Lamp is unavailable" in caplog.text

    coordinator.async_push_devices(
        {DEVICE.id: DeviceState(descriptor=DEVICE, attributes=pushed.attributes)}
    )
    assert coordinator.structure_version == version + 1
    assert "Lamp is available again" in caplog.text

    coordinator.async_remove_device("unknown")
    assert coordinator.structure_version == version + 1
    coordinator.async_remove_device(DEVICE.id)
    assert coordinator.data == {}
    assert coordinator.structure_version == version + 2


async def test_listeners_hear_only_updates_touching_their_attributes(
    source_and_coordinator: tuple[StandInSource, SwitchboardCoordinator],
) -> None:
    """Listeners with an Interest hear changes of their attributes, of their device's
    availability or descriptor, and of the coordinator's success; STRUCTURE listeners hear
    devices or keys coming and going; others hear every update, and first (the exporters hand
    changes on before the entities write their states)."""
    source, coordinator = source_and_coordinator
    heard: list[str] = []
    for name, context in (
        ("on", Interest(DEVICE.id, frozenset({"on"}))),
        ("power", Interest(DEVICE.id, frozenset({"power"}))),
        ("other device", Interest("dev2", frozenset({"on"}))),
        ("plain", None),
        ("structure", STRUCTURE),
    ):
        coordinator.async_add_listener(lambda name=name: heard.append(name), context)

    def push(available: bool = True, descriptor: DeviceDescriptor = DEVICE, **values: Any) -> None:
        heard.clear()
        attributes = {key: Attribute(value) for key, value in values.items()}
        coordinator.async_push_devices(
            {
                DEVICE.id: DeviceState(
                    descriptor=descriptor, available=available, attributes=attributes
                )
            }
        )

    push(on=False, power=1.0)  # "power" is new: a structure change, "power" listeners hear it
    assert heard == ["plain", "structure", "power"]
    push(on=False, power=2.0)
    assert heard == ["plain", "power"]
    push(on=True, power=2.0)
    assert heard == ["plain", "on"]
    push(on=True, power=2.0)  # nothing changed: only the listener without an interest
    assert heard == ["plain"]
    push(available=False, on=True, power=2.0)
    assert heard == ["plain", "on", "power"]
    push(
        descriptor=DeviceDescriptor(id=DEVICE.id, name="Lamp 2", manufacturer="Test"),
        on=True,
        power=2.0,
    )
    assert heard == ["plain", "on", "power"]

    # A hint limits the comparison to the keys it names.
    heard.clear()
    state = coordinator.data[DEVICE.id]
    coordinator.async_push_devices(
        {
            DEVICE.id: DeviceState(
                descriptor=state.descriptor,
                attributes={"on": Attribute(False), "power": Attribute(3.0)},
            )
        },
        touched={DEVICE.id: ["power"]},
    )
    assert heard == ["plain", "power"]

    # A failed poll and the recovery reach everyone.
    heard.clear()
    source.poll_error = DeviceConnectionError("gone")
    await coordinator.async_refresh()
    assert heard == ["on", "power", "other device", "plain", "structure"]
    heard.clear()
    source.poll_error = None
    await coordinator.async_refresh()
    assert heard == ["on", "power", "other device", "plain", "structure"]


async def test_command_auth_error_starts_reauth(hass: HomeAssistant) -> None:
    """An auth error during a command starts the reauth flow, as during a poll."""
    entry = MockConfigEntry(domain=DOMAIN, data={"family": "meross", "email": "a@example.com"})
    entry.add_to_hass(hass)
    entry.mock_state(hass, ConfigEntryState.LOADED)
    source = StandInSource()
    coordinator = SwitchboardCoordinator(hass, entry, source=source, polling=POLLING, name="test")
    await coordinator.async_refresh()
    source.command_error = DeviceAuthError("token revoked")
    with pytest.raises(HomeAssistantError) as raised:
        await coordinator.async_execute(DEVICE.id, "turn_on", {"level": 1})
    assert raised.value.translation_key == "auth_failed"
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]
    assert flows[0]["context"]["entry_id"] == entry.entry_id
    await coordinator.async_shutdown()


class GatedSource(StandInSource):
    """A source whose commands wait until the test opens their gate, recording the order."""

    def __init__(self) -> None:
        super().__init__()
        self.gates: list[asyncio.Event] = []
        self.log: list[str] = []

    async def async_execute(
        self, device_id: str, action: str, args: Mapping[str, Any]
    ) -> SwitchboardData | None:
        gate = asyncio.Event()
        self.gates.append(gate)
        self.log.append(f"start {args['level']}")
        await gate.wait()
        self.log.append(f"end {args['level']}")
        return await super().async_execute(device_id, action, args)


async def test_commands_to_one_device_run_one_at_a_time(hass: HomeAssistant) -> None:
    """A second command to a device waits until the first one is done, then runs in order."""
    entry = MockConfigEntry(domain=DOMAIN, data={"family": "test"})
    entry.add_to_hass(hass)
    entry.mock_state(hass, ConfigEntryState.LOADED)
    source = GatedSource()
    coordinator = SwitchboardCoordinator(hass, entry, source=source, polling=POLLING, name="test")
    await coordinator.async_refresh()
    first = hass.async_create_task(coordinator.async_execute(DEVICE.id, "turn_on", {"level": 1}))
    second = hass.async_create_task(coordinator.async_execute(DEVICE.id, "turn_on", {"level": 2}))
    for _ in range(5):
        await asyncio.sleep(0)
    assert source.log == ["start 1"]  # the second command has not reached the device
    source.gates[0].set()
    await first
    for _ in range(5):
        await asyncio.sleep(0)
    assert source.log == ["start 1", "end 1", "start 2"]
    source.gates[1].set()
    await second
    assert source.log == ["start 1", "end 1", "start 2", "end 2"]
    await coordinator.async_shutdown()


def test_poll_phases_spread_a_home_of_strips() -> None:
    """A hundred strips take every whole second of their 5 s interval, at least ten on each,
    and each always the same one."""
    phases = Counter(poll_phase(f"MaxSmart Strip {n:03}", 5) for n in range(100))
    assert set(phases) == {0, 1, 2, 3, 4}
    assert min(phases.values()) >= 10
    assert poll_phase("MaxSmart Strip 007", 5) == poll_phase("MaxSmart Strip 007", 5)


async def test_coordinators_set_up_together_drift_to_their_own_seconds(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Two coordinators armed in the same second ("spread", phase 0, and "a", phase 2) poll
    every 4 or 5 s (never later than Home Assistant would) until each is on its own second
    of the 5 s interval, then every 5 s there; a push that re-arms one's timer moves it off
    its second only until it has drifted back."""
    assert (poll_phase("spread", 5), poll_phase("a", 5)) == (0, 2)
    entry = MockConfigEntry(domain=DOMAIN, data={"family": "test"})
    entry.add_to_hass(hass)
    entry.mock_state(hass, ConfigEntryState.LOADED)
    sources = {name: StandInSource() for name in ("spread", "a")}
    coordinators = {
        name: SwitchboardCoordinator(hass, entry, source=source, polling=POLLING, name=name)
        for name, source in sources.items()
    }
    unsubscribe = []
    for coordinator in coordinators.values():
        await coordinator.async_refresh()
        unsubscribe.append(coordinator.async_add_listener(lambda: None))  # arms the timer
    polled: dict[str, list[int]] = {name: [] for name in sources}
    """Per coordinator, the tenth of a second (since the start) of each poll."""
    tenth = 0

    async def run(seconds: int) -> None:
        # Tenths of a second, each timer fired at its time, not the test clock's 0.5 s early.
        nonlocal tenth
        for _ in range(seconds * 10):
            before = {name: source.polls for name, source in sources.items()}
            freezer.tick(timedelta(seconds=0.1))
            async_fire_time_changed_exact(hass)
            await hass.async_block_till_done(wait_background_tasks=True)
            for name, source in sources.items():
                polled[name] += [tenth] * (source.polls - before[name])
            tenth += 1

    def gaps(name: str) -> set[int]:
        """The whole seconds between the polls of ``name``."""
        return {round((b - a) / 10) for a, b in pairwise(polled[name])}

    def settled(name: str) -> set[int]:
        """The tenths (mod 5 s) of the last three polls, which came 5 s apart."""
        last = polled[name][-3:]
        assert [round((b - a) / 10) for a, b in pairwise(last)] == [5, 5], polled
        return {tenths // 10 % 5 for tenths in last}

    await run(30)
    for name, tenths in polled.items():
        assert len(tenths) >= 5, polled
        assert gaps(name) <= {4, 5}, polled
    phases = {name: settled(name) for name in sources}
    assert len(phases["spread"]) == len(phases["a"]) == 1, polled
    assert phases["spread"] != phases["a"], polled

    await run(2)
    coordinators["a"].async_push_devices(sources["a"].state())  # re-arms "a" at a full 5 s
    polled = {name: [] for name in sources}
    await run(30)
    assert gaps("a") <= {4, 5}, polled
    assert settled("a") == phases["a"], polled
    for stop in unsubscribe:
        stop()
    for coordinator in coordinators.values():
        await coordinator.async_shutdown()
