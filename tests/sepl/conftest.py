"""SEPL test peers: the emulated platform connector and a raw websocket peer."""

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import timedelta
import json
from typing import Any

import aiohttp
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_PASSWORD, CONF_URL, CONF_USERNAME, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.switchboard.const import DOMAIN
from custom_components.switchboard.export.sepl.connector import SeplConnector
from custom_components.switchboard.export.sepl.const import (
    CONF_EXPORTER,
    CONF_GATEWAY_ID,
    EXPORTER_SEPL,
)
from emulators.sepl import SeplPlatform

USER = "alice"
PASSWORD = "s3cret"


@pytest.fixture
async def platform(socket_enabled: None) -> AsyncGenerator[SeplPlatform]:
    """The emulated platform with the shipped device types and one account."""
    async with SeplPlatform(users={USER: PASSWORD, "bob": "bob-pw"}) as server:
        yield server


@pytest.fixture
async def http() -> AsyncGenerator[aiohttp.ClientSession]:
    """A plain aiohttp session for websocket clients."""
    async with aiohttp.ClientSession() as session:
        yield session


class RawPeer:
    """A hand-driven websocket client: frames exactly as written, replies as received."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.count = 0

    async def login(self, user: str = USER, pw: str = PASSWORD, gid: str = "") -> dict[str, Any]:
        await self.ws.send_str(
            json.dumps({"user": user, "pw": pw, "gid": gid, "token": "credentials"})
        )
        return await self.receive()

    async def receive(self, timeout: float = 5.0) -> dict[str, Any]:
        message = await self.ws.receive(timeout=timeout)
        assert message.type == aiohttp.WSMsgType.TEXT, message
        return json.loads(message.data)

    async def request(self, handler: str, payload: Any) -> dict[str, Any]:
        self.count += 1
        token = f"t{self.count}"
        await self.ws.send_str(
            json.dumps(
                {
                    "status": 0,
                    "handler": handler,
                    "token": token,
                    "content_type": "",
                    "payload": payload,
                }
            )
        )
        reply = await self.receive()
        assert reply["token"] == token, reply
        return reply


async def raw_peer(http: aiohttp.ClientSession, platform: SeplPlatform, **kwargs: Any) -> RawPeer:
    return RawPeer(await http.ws_connect(platform.url + "/any/path", autoping=True, **kwargs))


def add_entity(
    hass: HomeAssistant,
    domain: str,
    object_id: str,
    state: str,
    attributes: dict[str, Any] | None = None,
    platform: str = DOMAIN,
) -> str:
    """A registry entry plus a state (as an integration would write it); the entity id."""
    entry = er.async_get(hass).async_get_or_create(
        domain, platform, f"uid-{domain}-{object_id}", suggested_object_id=object_id
    )
    hass.states.async_set(
        entry.entity_id,
        state,
        {"friendly_name": object_id.replace("_", " ").title(), **(attributes or {})},
    )
    return entry.entity_id


async def until(predicate: Callable[[], bool], within: float = 10.0) -> None:
    async with asyncio.timeout(within):
        while not predicate():
            await asyncio.sleep(0.01)


def later(hass: HomeAssistant, seconds: float) -> None:
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=seconds))


type Setup = Callable[..., Awaitable[MockConfigEntry]]


@pytest.fixture
async def setup(hass: HomeAssistant, platform: SeplPlatform) -> AsyncGenerator[Setup]:
    """Set up a connector entry on the emulated platform; unloaded after the test."""
    entries: list[MockConfigEntry] = []

    async def factory(
        options: dict[str, Any] | None = None, *, wait: bool = True, **data: Any
    ) -> MockConfigEntry:
        entry = MockConfigEntry(
            domain=DOMAIN,
            title="SEPL",
            unique_id=f"{USER}@platform",
            data={
                CONF_EXPORTER: EXPORTER_SEPL,
                CONF_URL: platform.url,
                CONF_USERNAME: USER,
                CONF_PASSWORD: PASSWORD,
                CONF_VERIFY_SSL: True,
                CONF_GATEWAY_ID: "",
            }
            | data,
            options=options or {},
        )
        entry.add_to_hass(hass)
        entries.append(entry)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        if wait:
            await synced(platform, entry)
        return entry

    yield factory
    for entry in entries:
        if entry.state is ConfigEntryState.LOADED:
            await hass.config_entries.async_unload(entry.entry_id)


def connector_of(entry: MockConfigEntry) -> SeplConnector:
    connector = entry.runtime_data
    assert isinstance(connector, SeplConnector)
    return connector


async def synced(platform: SeplPlatform, entry: MockConfigEntry) -> None:
    """Until the platform committed what the connector holds."""
    client = connector_of(entry).client
    assert client is not None

    def done() -> bool:
        gateway = platform.gateways.get(client.gateway_id)
        return client.ready and gateway is not None and gateway.hash == client.local_hash()

    await until(done)


def events_of(platform: SeplPlatform, uri: str) -> list[dict[str, Any]]:
    return [event["value"] for event in platform.events if event["uri"] == uri]
