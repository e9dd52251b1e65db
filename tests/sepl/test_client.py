"""The SEPL protocol client against the emulated platform (real websockets on 127.0.0.1)."""

import asyncio
from collections.abc import AsyncGenerator, Callable
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from custom_components.switchboard.export.sepl.catalogue import DEVICE_TYPES, write_definitions
from custom_components.switchboard.export.sepl.client import (
    CommandResult,
    ConnectionState,
    SeplClient,
    SeplCommand,
    SeplDevice,
    clean_tag_part,
    gateway_hash,
)
from emulators.sepl import SeplPlatform

from .conftest import PASSWORD, USER, until

SWITCH = DEVICE_TYPES["switch"].id
SENSOR = DEVICE_TYPES["sensor"].id


def lamp(n: int = 1, name: str | None = None) -> SeplDevice:
    return SeplDevice(
        f"ha-{n}", SWITCH, name or f"Lamp {n}", (("area", "Kitchen"), ("domain", "switch"))
    )


def state_data(state: str) -> str:
    return json.dumps({"state": state, "time": "2026-11-30T20:00:00+00:00"})


class Harness:
    """A client with recorded callbacks."""

    def __init__(self, platform: SeplPlatform, http: aiohttp.ClientSession, **kwargs: Any) -> None:
        self.platform = platform
        self.gids: list[str] = []
        self.states: list[ConnectionState] = []
        self.rejected: list[tuple[str, str]] = []
        self.auth_failed = asyncio.Event()
        self.executed: list[SeplCommand] = []
        self.result = CommandResult(200, "")
        self.block: asyncio.Event | None = None
        options: dict[str, Any] = {"backoff_base": 0.01, "backoff_max": 0.05} | kwargs
        self.client = SeplClient(
            http,
            platform.url,
            options.pop("user", USER),
            options.pop("password", PASSWORD),
            on_command=self.on_command,
            on_gateway_id=self.gids.append,
            on_state=self.states.append,
            on_auth_failed=self.auth_failed.set,
            on_rejected=lambda uri, text: self.rejected.append((uri, text)),
            **options,
        )

    async def on_command(self, command: SeplCommand) -> CommandResult:
        self.executed.append(command)
        if self.block is not None:
            await self.block.wait()
        return self.result

    async def ready(self, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while not self.client.ready:
                await asyncio.sleep(0.01)

    async def idle(self) -> None:
        """Wait until the platform committed what the client holds."""
        await self.ready()
        await self.platform.wait_for(
            lambda: self.platform.gateways[self.client.gateway_id].hash == self.client.local_hash()
        )


async def started(make: Callable[..., Harness], **kwargs: Any) -> Harness:
    """A client with ``lamp(1)``, synchronised."""
    harness = make(**kwargs)
    harness.client.async_put(lamp(1))
    await harness.client.async_start()
    await harness.idle()
    return harness


@pytest.fixture
async def make(
    platform: SeplPlatform, http: aiohttp.ClientSession
) -> AsyncGenerator[Callable[..., Harness]]:
    made: list[Harness] = []

    def factory(**kwargs: Any) -> Harness:
        harness = Harness(platform, http, **kwargs)
        made.append(harness)
        return harness

    yield factory
    for harness in made:
        await harness.client.async_stop()


def test_hashes_as_the_client_library() -> None:
    devices = [
        SeplDevice(
            "ha-dev-1",
            "iot#type-switch",
            "Kitchen Lamp",
            (("room", "Kitchen"), ("manufacturer", "IKEA")),
        ),
        SeplDevice("ha-dev-2", "iot#type-sensor", "Hall Sensor"),
    ]
    assert gateway_hash(devices) == "743e4e6ebf204a6d8ee0e0849272b9152b972c53"
    assert gateway_hash(reversed(devices)) == gateway_hash(devices)
    assert gateway_hash([]) == "da39a3ee5e6b4b0d3255bfef95601890afd80709"
    assert clean_tag_part("a:b;c") == "abc"


async def test_first_sync_then_gateway_id_reused_and_hash_match(
    make: Callable[..., Harness], platform: SeplPlatform
) -> None:
    first = make()
    for n in range(3):
        first.client.async_put(lamp(n))
    await first.client.async_start()
    await first.idle()
    gid = first.client.gateway_id
    assert first.gids == [gid]
    assert set(platform.gateways[gid].devices) == {"ha-0", "ha-1", "ha-2"}
    assert platform.device(USER, "ha-1").tags == {"area": "Kitchen", "domain": "switch"}  # type: ignore[union-attr]
    assert first.client.stats.full_synchronisations == 1
    await first.client.async_stop()

    again = make(gateway_id=gid)
    for n in range(3):
        again.client.async_put(lamp(n))
    await again.client.async_start()
    await again.ready()
    assert again.gids == []  # same gateway id: nothing to store
    assert again.client.stats.full_synchronisations == 0  # hash matched: no clear, no put
    session = platform.sessions[-1]
    assert [frame["handler"] for frame in session.received] == []
    assert session.listening == {"ha-0", "ha-1", "ha-2"}


async def test_hash_mismatch_full_resync(
    make: Callable[..., Harness], platform: SeplPlatform
) -> None:
    first = await started(make)
    gid = first.client.gateway_id
    await first.client.async_stop()
    platform.reset_hash(gid)
    again = make(gateway_id=gid)
    again.client.async_put(lamp(1))
    again.client.async_put(lamp(2))
    await again.client.async_start()
    await again.idle()
    handlers = [frame["handler"] for frame in platform.sessions[-1].received]
    assert handlers == ["clear", "put", "put", "commit"]
    assert platform.gateways[gid].hash == gateway_hash([lamp(1), lamp(2)])


async def test_runtime_changes(make: Callable[..., Harness], platform: SeplPlatform) -> None:
    harness = make()
    harness.client.async_put(lamp(1))
    harness.client.async_put(lamp(2))
    await harness.client.async_start()
    await harness.idle()
    gid = harness.client.gateway_id
    session = platform.sessions[-1]
    start = len(session.received)
    harness.client.async_put(lamp(1, "Renamed"))  # rename: put + commit
    await harness.idle()
    assert platform.device(USER, "ha-1").name == "Renamed"  # type: ignore[union-attr]
    harness.client.async_disconnect("ha-2")  # unavailable: disconnect + commit
    await harness.idle()
    assert "ha-2" not in session.listening
    assert platform.device(USER, "ha-2") is not None
    harness.client.async_put(lamp(2))  # back: put + commit
    await harness.idle()
    harness.client.async_delete("ha-2")  # removed: delete + commit
    await harness.idle()
    assert platform.device(USER, "ha-2") is None
    handlers = [frame["handler"] for frame in session.received[start:]]
    assert handlers == [
        "put",
        "commit",
        "disconnect",
        "commit",
        "put",
        "commit",
        "delete",
        "commit",
    ]
    assert platform.gateways[gid].devices == ["ha-1"]
    assert ("ha-2", "disconnected") in platform.device_log


async def test_events_live_and_latest_only_after_reconnect(
    make: Callable[..., Harness], platform: SeplPlatform
) -> None:
    harness = make()
    harness.client.async_put(lamp(1))
    harness.client.send_event("ha-1", "state", state_data("off"))  # before any connection: kept
    harness.client.send_event("ha-9", "state", state_data("on"))  # unknown device: never sent
    await harness.client.async_start()
    await harness.idle()
    await platform.wait_for(lambda: len(platform.events) == 1)
    assert platform.events[0]["value"]["state"]["state"] == "off"
    harness.client.send_event("ha-1", "state", state_data("on"))
    await platform.wait_for(lambda: len(platform.events) == 2)
    await platform.close_sessions()
    await platform.stop()
    async with asyncio.timeout(5):
        while harness.client.ready:
            await asyncio.sleep(0.01)
    for state in ("off", "on", "off", "on"):
        harness.client.send_event("ha-1", "state", state_data(state))
    await platform.start()
    await harness.ready()
    await platform.wait_for(lambda: len(platform.events) == 3)
    await asyncio.sleep(0.1)
    assert [event["value"]["state"]["state"] for event in platform.events] == ["off", "on", "on"]
    assert harness.client.stats.events_sent == 3
    assert all(session.errors == 0 for session in platform.sessions)


async def test_commands_once_per_task_and_before_sync(
    make: Callable[..., Harness], platform: SeplPlatform
) -> None:
    harness = await started(make)
    record = await platform.async_send_command(USER, "ha-1", "turn_on", task_id="task-1")
    await platform.async_send_command(USER, "ha-1", "turn_on", task_id="task-1")
    await platform.wait_for(lambda: len(record.responses) == 2)
    assert len(harness.executed) == 1
    assert harness.client.stats.duplicate_commands == 1
    response = record.responses[0]
    assert response["outputs"] == {"status": 200, "message": ""}
    echoed = dict(response["payload"])
    assert echoed.pop("protocol_parts") == [
        {"name": "metadata", "value": ""},
        {"name": "data", "value": "200"},
    ]
    sent = dict(record.payload)
    sent.pop("protocol_parts")
    assert echoed == sent  # every other field echoed unchanged
    harness.result = CommandResult(400, "unknown service")
    record = await platform.async_send_command(USER, "ha-1", "turn_off", task_id="task-2")
    await platform.wait_for(lambda: len(record.responses) == 1)
    assert record.responses[0]["outputs"] == {"status": 400, "message": "unknown service"}


async def test_command_right_after_handshake_is_answered(
    make: Callable[..., Harness], platform: SeplPlatform
) -> None:
    first = await started(make)
    gid = first.client.gateway_id
    await first.client.async_stop()
    platform.faults.clear_delay = 0.3
    platform.reset_hash(gid)
    again = make(gateway_id=gid)
    again.client.async_put(lamp(1))
    await again.client.async_start()
    await platform.wait_for(lambda: platform.logins == 2)
    record = await platform.async_send_command(USER, "ha-1", "toggle", task_id="early")
    await platform.wait_for(lambda: len(record.responses) == 1)
    assert again.executed[0].service_url == "toggle"
    await again.idle()


async def test_tolerates_unsolicited_errors_non_json_and_content_types(
    make: Callable[..., Harness], platform: SeplPlatform
) -> None:
    harness = await started(make)
    await platform.send_unsolicited_error()
    await platform.send_raw("ERROR: unable to create response")
    await platform.send_raw("[1, 2]")
    for session in platform.sessions:
        await session.ws.send_str(
            json.dumps(
                {
                    "status": 200,
                    "handler": "response",
                    "token": "zzz",
                    "content_type": "float64",
                    "payload": 1.0,
                }
            )
        )
    harness.client.send_event("ha-1", "state", state_data("on"))
    await platform.wait_for(lambda: len(platform.events) == 1)
    stats = harness.client.stats
    assert (stats.unsolicited_replies, stats.non_json_frames) == (2, 2)
    assert harness.client.ready
    assert platform.logins == 1


async def test_dropped_reply_times_out_and_resyncs(
    make: Callable[..., Harness], platform: SeplPlatform
) -> None:
    harness = await started(make, request_timeout=0.3)
    platform.faults.drop_replies["put"] = 1
    harness.client.async_put(lamp(2))
    await platform.wait_for(lambda: platform.logins == 2)
    await harness.idle()
    assert harness.client.stats.timeouts == 1
    assert set(platform.gateways[harness.client.gateway_id].devices) == {"ha-1", "ha-2"}


async def test_slow_clear_and_commit_within_sync_timeout(
    make: Callable[..., Harness], platform: SeplPlatform
) -> None:
    platform.faults.clear_delay = 0.5
    platform.faults.commit_delay = 0.5
    harness = await started(make, request_timeout=0.2, sync_timeout=2.0)
    assert platform.logins == 1
    assert harness.client.stats.timeouts == 0


async def test_bad_credentials_end_in_auth_failure(
    make: Callable[..., Harness], platform: SeplPlatform
) -> None:
    harness = make(password="wrong")
    await harness.client.async_start()
    async with asyncio.timeout(10):
        await harness.auth_failed.wait()
    assert harness.client.state is ConnectionState.AUTH_FAILED
    assert platform.refused_logins == 3


async def test_unreachable_server_is_not_an_auth_failure(
    make: Callable[..., Harness], platform: SeplPlatform
) -> None:
    await platform.stop()
    harness = make()
    await harness.client.async_start()
    async with asyncio.timeout(10):
        while (
            harness.client.stats.last_error is None
            or not harness.client.stats.last_error.startswith("connect")
        ):
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)
    assert not harness.auth_failed.is_set()
    assert harness.client.stats.auth_refusals == 0
    await platform.start()
    await harness.ready()


async def test_server_restart_reconnects_without_resync(
    make: Callable[..., Harness], platform: SeplPlatform
) -> None:
    harness = await started(make)
    await platform.restart()
    await platform.wait_for(lambda: platform.logins == 2)
    await harness.ready()
    assert harness.client.stats.full_synchronisations == 1
    assert platform.sessions[-1].listening == {"ha-1"}


async def test_duplicate_uri_is_reported_and_kept_out(
    make: Callable[..., Harness], platform: SeplPlatform
) -> None:
    platform.faults.duplicate_uris.add("ha-2")
    harness = make()
    harness.client.async_put(lamp(1))
    harness.client.async_put(lamp(2))
    await harness.client.async_start()
    await harness.idle()
    assert harness.rejected == [
        (
            "ha-2",
            "found more than one device with the given uri 'ha-2'. please delete duplicate devices "
            "or change their URIs.",
        )
    ]
    assert harness.client.stats.rejected.keys() == {"ha-2"}
    harness.client.send_event("ha-2", "state", state_data("on"))  # not listened: never sent
    await asyncio.sleep(0.1)
    assert platform.events == []
    platform.faults.duplicate_uris.clear()
    harness.client.async_put(lamp(2, "Fixed"))
    await harness.idle()
    assert harness.rejected[-1] == ("ha-2", "")
    assert platform.sessions[-1].errors == 0


async def test_keepalive_pings_and_drops_a_silent_peer(
    make: Callable[..., Harness], platform: SeplPlatform
) -> None:
    # The keepalive is also how long a pong may take: long enough for a loaded machine (0.2 s
    # was not: a pong later than that ends the session, and the platform sees a second login).
    harness = await started(make, keepalive=2.0)
    # A period without data: pinged, and the pong came in time.
    await until(lambda: harness.client.stats.pongs >= 1, within=30)
    assert platform.sessions[-1].client_pinged
    assert platform.logins == 1
    assert harness.client.stats.missed_pongs == 0
    platform.faults.ignore_pings = True
    await platform.wait_for(lambda: platform.logins == 2, within=30)
    assert harness.client.stats.missed_pongs == 1


def test_catalogue_files_are_current(tmp_path: Path) -> None:
    write_definitions(tmp_path)
    shipped = Path(__file__).parents[2] / "docs" / "sepl" / "device-types"
    assert sorted(p.name for p in shipped.glob("*.json")) == sorted(
        p.name for p in tmp_path.iterdir()
    )
    for path in tmp_path.iterdir():
        assert (shipped / path.name).read_text() == path.read_text(), path.name


def test_backoff_grows_with_jitter(make: Callable[..., Harness]) -> None:
    client = make(backoff_base=2.0, backoff_max=300.0).client
    delays = [client.backoff_delay(attempt) for attempt in range(12)]
    assert 1.0 <= delays[0] <= 2.0
    assert 8.0 <= delays[3] <= 16.0
    assert all(150.0 <= delay <= 300.0 for delay in delays[9:])


async def test_cancelled_request_then_connection_lost_reports_nothing(
    make: Callable[..., Harness], platform: SeplPlatform
) -> None:
    """A request whose caller is cancelled, then the connection drops: nothing is reported.

    The reply future goes with its caller; before, it was left to the shield, and the
    connection's end set ``SeplConnectionLost`` on it, which asyncio reported as "exception in
    shielded future" (Home Assistant logs that at error level: found by the soak).
    """
    harness = await started(make)
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        platform.faults.drop_replies["event"] = 1
        request = asyncio.create_task(harness.client._request("event", {}))
        await platform.wait_for(lambda: platform.faults.drop_replies["event"] == 0)
        request.cancel()
        with pytest.raises(asyncio.CancelledError):
            await request
        await platform.close_sessions()
        await platform.wait_for(lambda: platform.logins == 2)
        await harness.idle()
    finally:
        loop.set_exception_handler(previous)
    assert [context["message"] for context in reported] == []
