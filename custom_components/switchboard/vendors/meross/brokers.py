"""The MQTT brokers of one Meross account: one connection per broker, shared by its devices.

Every item of the cloud's device list names the broker its device is on (``domain``, else
``reservedDomain``, as ``host[:port]``; port 443 when absent), and real accounts mix brokers
(regions, cluster migrations): docs/protocols/meross.md §3. ``MerossBrokers`` keeps one
``MerossMqttClient`` per distinct ``(host, port)``, each with its own reconnect loop and health,
and routes every request to the connection of its device. A device whose ``domain`` changes is
moved to the right connection (opened on demand); a connection left without devices is closed.
The request limiter is shared by every connection, since the cloud counts per account.

No Home Assistant imports.
"""

import asyncio
from collections.abc import Callable, Coroutine
import logging
from typing import Any

from .cloud import MerossDeviceInfo, split_host_port
from .errors import MerossConnectionError
from .limiter import RequestPriority
from .mqtt import DEFAULT_TIMEOUT, MerossMqttClient

_LOGGER = logging.getLogger(__name__)

type BrokerAddress = tuple[str, int]
"""``(host, port)`` of a broker."""
type ClientFactory = Callable[[BrokerAddress], MerossMqttClient]
type TaskFactory = Callable[[Coroutine[Any, Any, None]], asyncio.Task[None]]


def device_broker(info: MerossDeviceInfo, default: BrokerAddress) -> BrokerAddress:
    """Return the broker of a device-list item: ``domain``, ``reservedDomain``, else ``default``.

    ``default`` is the account's ``mqttDomain`` from sign-in.
    """
    for domain in (info.domain, info.reserved_domain):
        if domain.strip():
            return split_host_port(domain.strip())
    return default


def broker_name(address: BrokerAddress) -> str:
    """``host:port`` of a broker (diagnostics, logs)."""
    return f"{address[0]}:{address[1]}"


class MerossBrokers:
    """The account's broker connections and which device is on which.

    ``client_factory(address)`` builds a (not yet started) ``MerossMqttClient`` for a broker,
    with the account's credentials, limiter and callbacks; ``task_factory`` lets Home Assistant
    own each connection's task.
    """

    def __init__(
        self, client_factory: ClientFactory, task_factory: TaskFactory | None = None
    ) -> None:
        """Start with no connection; ``async_assign`` opens them as devices need them."""
        self._factory = client_factory
        self._task_factory = task_factory
        self.clients: dict[BrokerAddress, MerossMqttClient] = {}
        self._devices: dict[str, BrokerAddress] = {}
        self.moves = 0
        """Devices moved to another broker since setup (a ``domain`` change)."""

    # -- placement -----------------------------------------------------------------------

    async def async_assign(self, uuid: str, address: BrokerAddress) -> BrokerAddress | None:
        """Put device ``uuid`` on the broker at ``address``; return its previous broker if moved.

        Opens the broker's connection when it is the first device there; closes the previous
        broker's connection when it has no device left.
        """
        previous = self._devices.get(uuid)
        if previous == address:
            return None
        if address not in self.clients:
            client = self._factory(address)
            self.clients[address] = client
            await client.async_start(self._task_factory)
        self._devices[uuid] = address
        if previous is None:
            return None
        self.moves += 1
        _LOGGER.info(
            "Meross device %s moved from broker %s to %s",
            uuid,
            broker_name(previous),
            broker_name(address),
        )
        await self._async_close_unused(previous)
        return previous

    async def async_remove(self, uuid: str) -> None:
        """Forget device ``uuid``; close its broker's connection if no device is left there."""
        address = self._devices.pop(uuid, None)
        if address is not None:
            await self._async_close_unused(address)

    async def _async_close_unused(self, address: BrokerAddress) -> None:
        if address in self._devices.values():
            return
        client = self.clients.pop(address, None)
        if client is not None:
            await client.async_stop()

    def address(self, uuid: str) -> BrokerAddress | None:
        """The broker device ``uuid`` is on."""
        return self._devices.get(uuid)

    def client(self, uuid: str) -> MerossMqttClient | None:
        """The connection of device ``uuid``."""
        address = self._devices.get(uuid)
        return self.clients.get(address) if address is not None else None

    def devices_on(self, address: BrokerAddress) -> list[str]:
        """Uuids of the devices on the broker at ``address``."""
        return [uuid for uuid, where in self._devices.items() if where == address]

    # -- state ---------------------------------------------------------------------------

    def connected(self, uuid: str) -> bool:
        """Whether the connection of device ``uuid`` is up."""
        client = self.client(uuid)
        return client is not None and client.connected

    @property
    def all_connected(self) -> bool:
        """Whether every broker connection is up (False without any)."""
        return bool(self.clients) and all(c.connected for c in self.clients.values())

    async def async_wait_connected(self, timeout: float) -> bool:  # noqa: ASYNC109
        """Wait up to ``timeout`` seconds for every connection; return whether all are up."""
        results = await asyncio.gather(
            *(client.async_wait_connected(timeout) for client in self.clients.values())
        )
        return all(results)

    def diagnostics(self) -> list[dict[str, Any]]:
        """One item per connection: broker, state, counters and the uuids of its devices."""
        return [
            {
                "broker": broker_name(address),
                "connected": client.connected,
                "connect_count": client.connect_count,
                "last_error": client.last_error,
                "dropped_messages": client.dropped_messages,
                "task_failures": client.task_failures,
                "devices": self.devices_on(address),
            }
            for address, client in self.clients.items()
        ]

    # -- requests ------------------------------------------------------------------------

    async def async_request(
        self,
        uuid: str,
        method: str,
        namespace: str,
        payload: dict[str, Any] | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109
        priority: RequestPriority | None = None,
    ) -> dict[str, Any]:
        """Send a request to device ``uuid`` over its broker (``MerossMqttClient.async_request``).

        Raises MerossConnectionError for a device on no broker, and the client's errors.
        """
        client = self.client(uuid)
        if client is None:
            raise MerossConnectionError(f"device {uuid} is on no broker")
        return await client.async_request(
            uuid, method, namespace, payload, timeout=timeout, priority=priority
        )

    async def async_stop(self) -> None:
        """Close every connection."""
        clients, self.clients = list(self.clients.values()), {}
        self._devices.clear()
        await asyncio.gather(*(client.async_stop() for client in clients))
