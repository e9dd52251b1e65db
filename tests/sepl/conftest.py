"""SEPL test peers: the emulated platform connector and a raw websocket peer."""

from collections.abc import AsyncGenerator
import json
from typing import Any

import aiohttp
import pytest

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
