"""Stopping Home Assistant, or unloading the entry, leaves no Midea task, thread or socket.

Background discovery broadcasts on Home Assistant's enabled networks at start and every 15
minutes, each probe waiting up to 3 s for replies on a UDP socket of its own; a stop during
that wait ends the task and closes the socket. Home Assistant does not unload config entries
when it stops, so the appliances' midea-local threads and their connections are stopped on
the stop event.
"""

import asyncio
from datetime import timedelta
import threading
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import psutil
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from ..conftest import LOOPBACK_ADAPTER
from .conftest import MideaStack, setup_account_entry
from .test_init import until


def _our_tasks() -> list[asyncio.Task[Any]]:
    """Pending tasks running Switchboard's code (any family)."""
    pending = []
    for task in asyncio.all_tasks():
        code = getattr(task.get_coro(), "cr_code", None)
        if code is not None and "custom_components/switchboard" in code.co_filename:
            pending.append(task)
    return [task for task in pending if not task.done()]


def _is_discovery(task: asyncio.Task[Any]) -> bool:
    """A background discovery run (any family's) or one of its probes."""
    return "discover" in getattr(task.get_coro(), "__qualname__", "")


def _midea_discovery_running() -> bool:
    return any(
        _is_discovery(task) and "vendors/midea/" in task.get_coro().cr_code.co_filename  # type: ignore[union-attr]
        for task in _our_tasks()
    )


def _udp_sockets() -> set[tuple[str, int]]:
    """Local addresses of this process's open UDP (IPv4) sockets."""
    return {(conn.laddr.ip, conn.laddr.port) for conn in psutil.Process().net_connections("udp4")}


def _new_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    """Threads started since ``before``, other than Home Assistant's executor workers."""
    return [
        thread
        for thread in set(threading.enumerate()) - before
        if not thread.name.startswith(("SyncWorker", "ThreadPoolExecutor"))
    ]


@pytest.fixture
async def discovering(hass: HomeAssistant, network_adapters: list[Any]) -> None:
    """Discovery may broadcast on the loopback network (nothing leaves the machine)."""
    network_adapters.append(LOOPBACK_ADAPTER)
    assert await async_setup_component(hass, "network", {})


async def _assert_stop_leaves_nothing(
    hass: HomeAssistant,
    stack: MideaStack,
    sockets: set[tuple[str, int]],
    threads: set[threading.Thread],
) -> None:
    """Stop Home Assistant now; then nothing of ours runs or listens."""
    assert _midea_discovery_running()
    assert _udp_sockets() - sockets  # the probe's socket is open
    assert _new_threads(threads)  # the appliances' threads run
    await hass.async_stop(force=True)
    assert _our_tasks() == []
    assert _udp_sockets() - sockets == set()
    assert _new_threads(threads) == []
    assert not stack.dehumidifier._push_listeners
    assert not stack.air_conditioner._push_listeners


@pytest.mark.usefixtures("discovering")
async def test_stop_during_the_first_discovery(hass: HomeAssistant, stack: MideaStack) -> None:
    """A stop while the start's discovery waits for replies."""
    sockets, threads = _udp_sockets(), set(threading.enumerate())
    await setup_account_entry(hass, stack)
    await until(hass, lambda: _udp_sockets() - sockets)
    await _assert_stop_leaves_nothing(hass, stack, sockets, threads)


@pytest.mark.usefixtures("discovering")
async def test_stop_during_a_timed_discovery(hass: HomeAssistant, stack: MideaStack) -> None:
    """A stop while the 15-minute discovery waits for replies."""
    threads = set(threading.enumerate())
    await setup_account_entry(hass, stack)
    await hass.async_block_till_done(wait_background_tasks=True)
    sockets = _udp_sockets()
    assert not _midea_discovery_running()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=16))
    await until(hass, lambda: _udp_sockets() - sockets)
    await _assert_stop_leaves_nothing(hass, stack, sockets, threads)


@pytest.mark.usefixtures("discovering")
async def test_unload_leaves_only_the_integrations_discovery(
    hass: HomeAssistant, stack: MideaStack
) -> None:
    """Unloaded during a discovery, the entry keeps nothing running; the discovery (the
    integration's, which offers new appliances with or without an entry) ends by itself."""
    sockets, threads = _udp_sockets(), set(threading.enumerate())
    entry = await setup_account_entry(hass, stack)
    await until(hass, lambda: _udp_sockets() - sockets)
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert [task for task in _our_tasks() if not _is_discovery(task)] == []
    assert _new_threads(threads) == []
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _our_tasks() == []
    assert _udp_sockets() - sockets == set()
