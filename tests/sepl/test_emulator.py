"""The emulated SEPL platform against docs/protocols/sepl.md, driven by raw frames."""

import asyncio
import hashlib
import json
from pathlib import Path
import sys
from typing import Any

import aiohttp

from custom_components.switchboard.export.sepl.catalogue import DEVICE_TYPES
from emulators.sepl import (
    CLOSE_REASON_ERRORS,
    HASH_OF_NOTHING,
    SeplPlatform,
    format_outputs,
    process_engine_value,
)

from .conftest import PASSWORD, USER, RawPeer, raw_peer

SWITCH = DEVICE_TYPES["switch"].id
SENSOR = DEVICE_TYPES["sensor"].id


def put(
    uri: str, iot_type: str = SWITCH, name: str = "Lamp", tags: list[str] | None = None
) -> dict[str, Any]:
    return {"uri": uri, "name": name, "iot_type": iot_type, "tags": tags or []}


async def test_catalogue_holds_the_shipped_types(platform: SeplPlatform) -> None:
    assert set(platform.types) == {definition.id for definition in DEVICE_TYPES.values()}
    assert hashlib.sha1(b"").hexdigest() == HASH_OF_NOTHING


async def test_handshake_new_gateway_then_reuse(
    platform: SeplPlatform, http: aiohttp.ClientSession
) -> None:
    peer = await raw_peer(http, platform)
    reply = await peer.login()
    assert reply["status"] == 200
    assert reply["handler"] == "response"
    assert reply["token"] == "credentials"
    assert reply["content_type"] == "map"
    gid = reply["payload"]["gid"]
    assert gid.startswith("iot#")
    assert reply["payload"]["hash"] == ""
    assert platform.gateways[gid].name.startswith("new-gateway-")
    assert (await peer.request("put", put("u1")))["payload"] == "ok"
    assert (await peer.request("commit", "h1"))["payload"] == "ok"
    await peer.ws.close()

    again = await raw_peer(http, platform)
    reply = await again.login(gid=gid)
    assert reply["payload"] == {"gid": gid, "hash": "h1"}
    # the committed devices are listened to before the reply: an event is accepted at once
    event = {
        "device_uri": "u1",
        "service_uri": "state",
        "value": [{"name": "data", "value": json.dumps({"state": "on", "time": "t"})}],
    }
    assert (await again.request("event", event))["payload"] == "ok"
    await again.ws.close()


async def test_unknown_gid_is_created_foreign_gid_is_not(
    platform: SeplPlatform, http: aiohttp.ClientSession
) -> None:
    peer = await raw_peer(http, platform)
    assert (await peer.login(gid="iot#mine"))["payload"] == {"gid": "iot#mine", "hash": ""}
    await peer.ws.close()
    bob = await raw_peer(http, platform)
    reply = await bob.login(user="bob", pw="bob-pw", gid="iot#mine")
    assert reply["payload"]["gid"] not in {"iot#mine", ""}
    await bob.ws.close()


async def test_bad_credentials_close_without_reply_or_close_frame(
    platform: SeplPlatform, http: aiohttp.ClientSession
) -> None:
    for credentials in ('{"user":"alice","pw":"wrong","gid":"","token":"credentials"}', "not json"):
        ws = await http.ws_connect(platform.url)
        await ws.send_str(credentials)
        message = await ws.receive(timeout=5)
        assert message.type in {aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR}
        assert ws.close_code != 1000  # no close frame: the TCP connection just ends
        await ws.close()
    assert platform.refused_logins == 2
    assert platform.logins == 0


async def test_handler_replies_and_exact_texts(
    platform: SeplPlatform, http: aiohttp.ClientSession
) -> None:
    peer = await raw_peer(http, platform)
    await peer.login()
    assert (await peer.request("put", put("u1", tags=["room:Kitchen"])))["content_type"] == "string"
    reply = await peer.request("put", {"uri": "u2", "name": "X", "iot_type": ""})
    assert (reply["status"], reply["payload"]) == (500, "empty iot_type")
    reply = await peer.request("put", put("u2", iot_type="iot#nope"))
    assert reply["status"] == 500
    assert reply["payload"].startswith("error while creating device skeleton: ")
    assert (await peer.request("put", put("u3")))["payload"] == "ok"  # resets the error counter
    reply = await peer.request("disconnect", 5)
    assert (reply["status"], reply["payload"]) == (400, "expect uri as string in payload")
    reply = await peer.request("disconnect", "u9")
    assert (reply["status"], reply["payload"]) == (500, "not listening to device with uri 'u9'")
    reply = await peer.request("delete", "u9")
    assert (reply["status"], reply["payload"]) == (
        500,
        "cant find exactly one device with given uri",
    )
    reply = await peer.request("frobnicate", None)
    assert reply["status"] == 400
    assert reply["payload"].startswith("unknown handler in request ({")
    # any success resets the error counter
    assert (await peer.request("disconnect", "u1"))["payload"] == "ok"
    assert platform.device_log[-1] == ("u1", "disconnected")
    platform.faults.duplicate_uris.add("u1")
    reply = await peer.request("put", put("u1"))
    assert (reply["status"], reply["payload"]) == (
        400,
        "found more than one device with the given uri 'u1'. please delete duplicate devices "
        "or change their URIs.",
    )
    await peer.ws.close()


async def test_put_merges_tags_and_keeps_type(
    platform: SeplPlatform, http: aiohttp.ClientSession
) -> None:
    peer = await raw_peer(http, platform)
    await peer.login()
    await peer.request("put", put("u1", tags=["room:Kitchen", "model:A"]))
    await peer.request("put", put("u1", iot_type=SENSOR, name="Renamed", tags=["room:Hall"]))
    device = platform.device(USER, "u1")
    assert device is not None
    assert (device.name, device.iot_type) == ("Renamed", SWITCH)
    assert device.tags == {"room": "Hall", "model": "A"}
    await peer.ws.close()


async def test_unparseable_frame_two_errors_and_error_limit(
    platform: SeplPlatform, http: aiohttp.ClientSession
) -> None:
    peer = await raw_peer(http, platform)
    await peer.login()
    await peer.ws.send_str("{nope")
    first, second = await peer.receive(), await peer.receive()
    assert (first["status"], first["token"]) == (400, "")
    assert first["payload"].startswith("unable to parse request from message ({nope")
    assert second["payload"] == "unknown handler in request ({nope)"
    for _ in range(3):
        assert (await peer.request("disconnect", "nothing"))["status"] == 500
    # the sixth consecutive error is answered, then the session is closed
    await peer.ws.send_str(json.dumps({"handler": "delete", "token": "last", "payload": "x"}))
    assert (await peer.receive())["token"] == "last"
    message = await peer.ws.receive(timeout=5)
    assert message.type == aiohttp.WSMsgType.CLOSE
    assert (message.data, message.extra) == (1000, CLOSE_REASON_ERRORS)


async def test_commit_hash_and_ownership(
    platform: SeplPlatform, http: aiohttp.ClientSession
) -> None:
    first = await raw_peer(http, platform)
    gid1 = (await first.login())["payload"]["gid"]
    await first.request("put", put("shared"))
    await first.request("commit", "hash-1")
    assert platform.gateways[gid1].devices == ["shared"]
    # a second gateway of the same user: its commit says ok but is not stored
    second = await raw_peer(http, platform)
    gid2 = (await second.login())["payload"]["gid"]
    assert gid2 != gid1
    await second.request("put", put("shared"))
    assert (await second.request("commit", "hash-2"))["payload"] == "ok"
    assert platform.gateways[gid2].hash == ""
    # once the old gateway is cleared, the new one may own the device
    assert (await first.request("clear", None))["payload"] == "ok"
    await second.request("commit", "hash-2")
    assert platform.gateways[gid2].hash == "hash-2"
    # delete works across gateways and resets the owner's hash
    assert (await first.request("delete", "shared"))["payload"] == "ok"
    assert platform.gateways[gid2].hash == ""
    assert platform.device(USER, "shared") is None
    await first.ws.close()
    await second.ws.close()


async def test_event_formatting(platform: SeplPlatform, http: aiohttp.ClientSession) -> None:
    peer = await raw_peer(http, platform)
    await peer.login()
    await peer.request("put", put("meter", iot_type=SENSOR))

    def event(service: str, data: Any, metadata: Any = None, uri: str = "meter") -> dict[str, Any]:
        return {
            "device_uri": uri,
            "service_uri": service,
            "value": [{"name": "metadata", "value": metadata}, {"name": "data", "value": data}],
        }

    reading = json.dumps(
        {"value": 93.786, "unit": "kWh", "time": "2026-11-30T20:00:00Z", "extra": 1}
    )
    assert (await peer.request("event", event("reading", reading)))["payload"] == "ok"
    recorded = platform.events[-1]
    assert recorded["value"] == {
        "reading": {"value": 93.786, "unit": "kWh", "time": "2026-11-30T20:00:00Z"}
    }
    assert recorded["device_id"] == platform.device(USER, "meter").id  # type: ignore[union-attr]
    reply = await peer.request(
        "event", event("reading", json.dumps({"value": None, "unit": "W", "time": "t"}))
    )
    assert reply["status"] == 500
    reply = await peer.request("event", event("reading", {"value": 1}))
    assert reply["status"] == 400
    assert reply["payload"].startswith("json: cannot unmarshal object")
    reply = await peer.request("event", event("nope", reading))
    assert reply["payload"] == "no matching service to 'nope' found in[state reading]\n"
    reply = await peer.request("event", event("reading", reading, uri="other"))
    assert reply["payload"].startswith("error event: not listen to this device {other reading [")
    await peer.ws.close()


def test_integer_truncation_and_process_engine_format() -> None:
    cover = SeplPlatform().types[DEVICE_TYPES["cover"].id]
    state = next(s for s in cover["services"] if s["url"] == "state")
    value = format_outputs(
        state,
        [
            {
                "name": "data",
                "value": json.dumps({"state": "open", "current_position": 42.9, "time": "t"}),
            }
        ],
    )
    assert value == {"state": {"state": "open", "current_position": 42, "time": "t"}}
    assert process_engine_value({"on": True}) == '{\n    "on": true\n}\n'


async def test_commands_reach_every_listening_session(
    platform: SeplPlatform, http: aiohttp.ClientSession
) -> None:
    first = await raw_peer(http, platform)
    gid = (await first.login())["payload"]["gid"]
    await first.request("put", put("lamp", iot_type=DEVICE_TYPES["light"].id))
    await first.request("commit", "h")
    second = await raw_peer(http, platform)
    await second.login(gid=gid)
    record = await platform.async_send_command(
        USER, "lamp", "turn_on", {"brightness_pct": 50}, task_id="task-1"
    )
    assert record.sessions == 2
    for peer in (first, second):
        frame = await peer.receive()
        assert (frame["handler"], frame["token"], frame["content_type"]) == ("command", "", "map")
        payload = frame["payload"]
        assert payload["task_id"] == "task-1"
        assert payload["protocol_parts"] == [
            {"name": "data", "value": '{\n    "brightness_pct": 50\n}\n'}
        ]
        assert payload["service"]["url"] == "turn_on"
    record = await platform.async_send_command(USER, "lamp", "toggle")
    assert (await first.receive())["payload"]["protocol_parts"] is None
    # a response echoing the command, parsed by the echoed service's outputs
    response = dict(
        record.payload,
        protocol_parts=[{"name": "metadata", "value": ""}, {"name": "data", "value": "200"}],
    )
    assert (await first.request("response", response))["payload"] == "ok"
    assert record.responses[0]["outputs"] == {"status": 200, "message": ""}
    await first.ws.close()
    await second.ws.close()


async def test_faults(platform: SeplPlatform, http: aiohttp.ClientSession) -> None:
    peer = await raw_peer(http, platform)
    gid = (await peer.login())["payload"]["gid"]
    platform.faults.drop_replies["put"] = 1
    await peer.ws.send_str(json.dumps({"handler": "put", "token": "dropped", "payload": put("a")}))
    assert (await peer.request("commit", "x"))["payload"] == "ok"  # the put got no reply at all
    await platform.send_raw("ERROR: unable to create response")
    message = await peer.ws.receive(timeout=5)
    assert message.data == "ERROR: unable to create response"
    await platform.send_unsolicited_error("boom")
    assert (await peer.receive())["token"] == ""
    platform.reset_hash(gid)
    await platform.restart()
    message = await peer.ws.receive(timeout=5)
    assert message.type in {aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR}
    again = await raw_peer(http, platform)
    assert (await again.login(gid=gid))["payload"] == {"gid": gid, "hash": ""}
    platform.faults.reject_logins = True
    refused = await raw_peer(http, platform)
    await refused.ws.send_str(
        json.dumps({"user": USER, "pw": PASSWORD, "gid": gid, "token": "credentials"})
    )
    assert (await refused.ws.receive(timeout=5)).type in {
        aiohttp.WSMsgType.CLOSED,
        aiohttp.WSMsgType.ERROR,
    }
    await again.ws.close()


async def test_pings_until_client_pings_and_read_deadline(
    http: aiohttp.ClientSession, socket_enabled: None
) -> None:
    # The read deadline outlasts any stall of a loaded machine between the login and the
    # client's ping (0.6 s did not); the session's end is awaited with room to spare.
    async with SeplPlatform(users={USER: PASSWORD}, ping_interval=0.05, read_timeout=3.0) as server:
        ws = await http.ws_connect(server.url, autoping=False)
        await ws.send_str(
            json.dumps({"user": USER, "pw": PASSWORD, "gid": "", "token": "credentials"})
        )
        assert (await ws.receive(timeout=5)).type == aiohttp.WSMsgType.TEXT
        assert (await ws.receive(timeout=5)).type == aiohttp.WSMsgType.PING
        await ws.ping(b"1")
        while (message := await ws.receive(timeout=5)).type == aiohttp.WSMsgType.PING:
            pass  # pings the server sent before it saw ours
        assert message.type == aiohttp.WSMsgType.PONG
        # after the client's ping the server never pings again; silence ends the session
        message = await ws.receive(timeout=30)
        assert message.type in {aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR}
        await ws.close()
        await asyncio.sleep(0)


async def test_command_line_injects_commands(
    http: aiohttp.ClientSession, socket_enabled: None
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "emulators.sepl",
        "--port",
        "0",
        "--user",
        f"{USER}:{PASSWORD}",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        cwd=Path(__file__).parents[2],
    )
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        async with asyncio.timeout(20):
            banner = (await process.stdout.readline()).decode()
            url = banner.split()[3].rstrip(",")
            ws = await http.ws_connect(url)
            peer = RawPeer(ws)
            await peer.login()
            await peer.request("put", put("lamp"))
            process.stdin.write(b"command alice lamp turn_on\n")
            await process.stdin.drain()
            command = await peer.receive()
            assert command["handler"] == "command"
            response = dict(
                command["payload"],
                protocol_parts=[
                    {"name": "metadata", "value": ""},
                    {"name": "data", "value": "200"},
                ],
            )
            await peer.request("response", response)
            printed = json.loads(await process.stdout.readline())
            assert printed == {"status": 200, "message": ""}
            await ws.close()
    finally:
        process.terminate()
        await process.wait()
