"""Property-based fuzzing (hypothesis) of every parser that reads bytes from a network or a user.

Properties, per parser:

* nothing escapes but the module's documented error types, whatever the input;
* valid input round-trips (encode, then decode gives the same value) where the format allows;
* a malformed element never discards the good ones around it (INDI stream framing).

Parsers: the INDI stream splitter and element parser (and the vector builders behind them), the
Meross message envelope and signature check, the MaxSmart HTTP replies (through the real client
against the emulator's HTTP server) and UDP discovery replies, the Midea discovery reply (the
8370 / 5A5A / AA frames of a session are parsed by midea-local, not by this integration), the
SEPL platform's websocket frames (through the real client and the emulated platform), the MQTT
bridge's command JSON, and the input schema of every service the integration registers.

The example count is bounded by the ``default`` profile (tests/conftest.py); run
``pytest --hypothesis-profile=long tests/reliability/test_fuzz.py`` for the long run.
"""

import asyncio
from collections.abc import Callable, Coroutine
import contextlib
import json
import math
import string
from typing import Any
import xml.etree.ElementTree as ET

import aiohttp
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from hypothesis import assume, example, given, settings, strategies as st
import probatio
import pytest

from custom_components.switchboard.const import DOMAIN
from custom_components.switchboard.export.mqtt.bridge import (
    MAX_ID_LENGTH,
    CommandError,
    _id_of,
    parse_command,
)
from custom_components.switchboard.vendors.indi.protocol import (
    DEF_TAGS,
    SET_TAGS,
    IndiElementParser,
    IndiProtocolError,
    IndiStreamSplitter,
    apply_set,
    parse_element,
    vector_from_def,
)
from custom_components.switchboard.vendors.maxsmart.client import (
    MaxSmartClient,
    MaxSmartError,
    MaxSmartResponseError,
    StatisticsPeriod,
    parse_discovery_reply,
)
from custom_components.switchboard.vendors.meross.protocol import (
    InvalidMessageError,
    build_message,
    parse_message,
)
from custom_components.switchboard.vendors.midea.lan import (
    DiscoveredAppliance,
    parse_discovery_reply as parse_midea_discovery_reply,
)
from emulators.maxsmart import MaxSmartEmulator
from emulators.midea import AirConditioner, Dehumidifier, MideaAppliance
from tests.sepl.test_client import Harness

# ------------------------------------------------------------------------ strategies

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
"""Anything ``json.dumps`` writes (huge integers included)."""

XML_TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")) | st.sampled_from("\n\t"),
    max_size=24,
)
"""Text XML can carry (no control characters, no lone surrogates)."""
NAMES = st.text(string.ascii_letters + string.digits + "_.", min_size=1, max_size=12)
CHUNKS = st.lists(st.integers(min_value=1, max_value=64), max_size=30)


def _split(data: bytes, sizes: list[int]) -> list[bytes]:
    """``data`` cut into pieces of the given sizes (the rest in one piece)."""
    pieces, position = [], 0
    for size in sizes:
        pieces.append(data[position : position + size])
        position += size
    pieces.append(data[position:])
    return [piece for piece in pieces if piece]


@st.composite
def indi_elements(draw: st.DrawFn) -> bytes:
    """One well-formed INDI element, serialised as ElementTree writes it."""
    kind = draw(st.sampled_from(["text", "number", "switch", "light"]))
    tag = draw(
        st.sampled_from(
            [
                *(t for t, k in DEF_TAGS.items() if k == kind),
                *(t for t, k in SET_TAGS.items() if k == kind),
                "message",
                "delProperty",
            ]
        )
    )
    element = ET.Element(tag, device=draw(NAMES), name=draw(NAMES))
    if tag.startswith("def"):
        element.set("perm", "rw")
    if tag != "message" and draw(st.booleans()):
        element.set("state", draw(st.sampled_from(["Idle", "Ok", "Busy", "Alert"])))
    if tag == "message":
        element.set("message", draw(XML_TEXT))
    elif tag != "delProperty":
        member_tag = {"text": "Text", "number": "Number", "switch": "Switch", "light": "Light"}
        prefix = "def" if tag.startswith("def") else "one"
        for _ in range(draw(st.integers(min_value=0, max_value=3))):
            child = ET.SubElement(element, f"{prefix}{member_tag[kind]}", name=draw(NAMES))
            if kind == "number":
                child.text = draw(
                    st.floats(allow_nan=False, allow_infinity=False).map(repr) | XML_TEXT
                )
            elif kind in ("switch", "light"):
                child.text = draw(st.sampled_from(["On", "Off", "Idle", "Ok", "Busy", "Alert"]))
            else:
                child.text = draw(XML_TEXT)
    data: bytes = ET.tostring(element, encoding="utf-8", xml_declaration=False)
    return data


GARBAGE = st.sampled_from(
    [
        b"stray text outside any element\n",
        b"</defTextVector>",  # a stray end tag
        b"<!-- a comment <defTextVector> -->",
        b"<?xml version='1.0'?>",
        b"<![CDATA[ <setNumberVector> ]]>",
        b'<message device="d" message="an unescaped & ampersand"/>',  # framed, will not parse
        b'<setTextVector device="d" name="n"><oneText name="t">a</oneTxt></setTextVector>',
        b'<defNumberVector device="d" name="n" perm="rw"><defNumber name="x">1</defNumber>',
        b"<>",
        b"< not a tag >",
    ]
) | st.text(string.ascii_letters + " \n&;>", min_size=1, max_size=30).map(str.encode)
"""Fragments a broken driver or a truncated write leaves at the top level of the stream."""


def _same(left: ET.Element, right: ET.Element) -> bool:
    return (
        left.tag == right.tag
        and left.attrib == right.attrib
        and (left.text or "") == (right.text or "")
        and len(left) == len(right)
        and all(_same(a, b) for a, b in zip(left, right, strict=True))
    )


# ---------------------------------------------------------------------- INDI stream


@given(elements=st.lists(indi_elements(), min_size=1, max_size=8), sizes=CHUNKS)
def test_indi_splitter_round_trip_in_any_chunking(elements: list[bytes], sizes: list[int]) -> None:
    """Well-formed elements, cut anywhere: each comes out once, whole, and parses the same."""
    splitter = IndiStreamSplitter()
    out: list[bytes] = []
    for piece in _split(b"\n".join(elements), sizes):
        out += splitter.feed(piece)
    assert out == elements
    assert splitter.skipped == 0
    parser = IndiElementParser()
    for raw, original in zip(out, elements, strict=True):
        assert _same(parse_element(raw), ET.fromstring(original))
        assert _same(parser.parse(raw), ET.fromstring(original))


@given(
    items=st.lists(st.tuples(st.booleans(), indi_elements(), GARBAGE), min_size=1, max_size=10),
    sizes=CHUNKS,
)
def test_indi_malformed_fragments_never_discard_good_elements(
    items: list[tuple[bool, bytes, bytes]], sizes: list[int]
) -> None:
    """Good elements mixed with broken ones: every good element still comes out, in order."""
    stream = b""
    good: list[bytes] = []
    for is_good, element, garbage in items:
        if is_good:
            good.append(element)
            stream += element
        else:
            stream += garbage
    splitter = IndiStreamSplitter()
    out: list[bytes] = []
    for piece in _split(stream, sizes):
        out += splitter.feed(piece)
    assert [raw for raw in out if raw in good] == good
    # One stream parser for all of them: a broken element never spoils the next good one.
    parser = IndiElementParser()
    for raw in out:
        try:
            element = parser.parse(raw)
        except ET.ParseError:
            assert raw not in good
            continue
        assert _same(element, ET.fromstring(raw))


@given(data=st.binary(max_size=3000), sizes=CHUNKS)
def test_indi_splitter_and_parsers_raise_only_their_errors(data: bytes, sizes: list[int]) -> None:
    """Arbitrary bytes: framing never raises and stays bounded; parsing raises only its errors,
    and the client's stream parser gives what parsing each element alone gives."""
    limit = 1024
    splitter = IndiStreamSplitter(max_element_size=limit)
    parser = IndiElementParser()
    for piece in _split(data, sizes):
        for raw in splitter.feed(piece):
            try:
                element = parse_element(raw)
            except ET.ParseError:
                with pytest.raises(ET.ParseError):
                    parser.parse(raw)
                continue
            assert _same(parser.parse(raw), element)
            _build_vectors(element)
        assert splitter.buffered <= limit + len(piece)


@given(
    tag=st.sampled_from([*DEF_TAGS, *SET_TAGS]),
    attributes=st.dictionaries(
        st.sampled_from(["device", "name", "perm", "state", "timeout", "rule", "label"]), XML_TEXT
    ),
    members=st.lists(
        st.dictionaries(
            st.sampled_from(["name", "min", "max", "step", "format", "size", "label"]), XML_TEXT
        ),
        max_size=4,
    ),
    texts=st.lists(XML_TEXT, min_size=4, max_size=4),
)
def test_indi_vector_builders_raise_only_protocol_errors(
    tag: str, attributes: dict[str, str], members: list[dict[str, str]], texts: list[str]
) -> None:
    """Definitions and updates with any attribute values: IndiProtocolError or ValueError only.

    (The client skips an element that raises either, and logs it once.)
    """
    element = ET.Element(tag, attributes)
    for member, text in zip(members, texts, strict=False):
        ET.SubElement(element, "oneNumber", member).text = text
    _build_vectors(element)


def _build_vectors(element: ET.Element) -> None:
    try:
        if element.tag in DEF_TAGS:
            vector = vector_from_def(element)
            set_tag = next(t for t, k in SET_TAGS.items() if k == vector.kind)
            update = ET.Element(set_tag, dict(element.attrib))
            update.extend(list(element))
            apply_set(vector, update)
    except IndiProtocolError, ValueError:
        pass


# --------------------------------------------------------------------------- Meross

KEY = "0123456789abcdef0123456789abcdef"


@given(data=st.binary(max_size=2000) | st.text(max_size=500))
def test_meross_parse_raises_only_invalid_message(data: bytes | str) -> None:
    """Arbitrary bytes or text: a Message or InvalidMessageError, nothing else."""
    with contextlib.suppress(InvalidMessageError):
        parse_message(data, KEY)


@given(
    header=st.dictionaries(
        st.sampled_from(["messageId", "timestamp", "sign", "method", "namespace", "from", "uuid"]),
        JSON_VALUES,
    ),
    payload=JSON_VALUES,
)
def test_meross_hostile_envelopes_raise_only_invalid_message(
    header: dict[str, Any], payload: Any
) -> None:
    """Every header field of any JSON type: InvalidMessageError (or, if signed, a Message)."""
    raw = json.dumps({"header": header, "payload": payload})
    with contextlib.suppress(InvalidMessageError):
        parse_message(raw, KEY)


@given(
    method=st.sampled_from(["GET", "SET", "GETACK", "SETACK", "PUSH", "ERROR"]),
    namespace=st.text(max_size=40),
    payload=st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=4),
    uuid=st.text(string.hexdigits, min_size=1, max_size=32),
    message_id=st.text(string.hexdigits, min_size=1, max_size=32),
)
def test_meross_envelope_round_trip_and_signature(
    method: str, namespace: str, payload: dict[str, Any], uuid: str, message_id: str
) -> None:
    """A signed envelope decodes to what was encoded; the same bytes under another key do not."""
    message = build_message(
        method=method,
        namespace=namespace,
        payload=payload,
        key=KEY,
        reply_topic=f"/appliance/{uuid}/publish",
        uuid=uuid,
        message_id=message_id,
    )
    raw = json.dumps(message)
    parsed = parse_message(raw, KEY)
    assert (parsed.method, parsed.namespace, parsed.message_id) == (method, namespace, message_id)
    assert parsed.uuid == uuid
    assert parsed.payload == json.loads(json.dumps(payload))
    with pytest.raises(InvalidMessageError):
        parse_message(raw, KEY[::-1])


# -------------------------------------------------------------------------- MaxSmart


@given(data=st.binary(max_size=600) | JSON_VALUES.map(lambda v: json.dumps(v).encode()))
def test_maxsmart_discovery_reply_raises_only_response_error(data: bytes) -> None:
    """Any datagram: a device info or MaxSmartResponseError."""
    with contextlib.suppress(MaxSmartResponseError):
        parse_discovery_reply(data, ("127.0.0.1", 8888))


@given(
    serial=st.text(min_size=1, max_size=20),
    name=st.text(max_size=20),
    port_names=st.lists(st.text(max_size=21), max_size=6),
    firmware=st.text(max_size=8),
)
def test_maxsmart_discovery_reply_round_trip(
    serial: str, name: str, port_names: list[str], firmware: str
) -> None:
    """A reply in the documented shape decodes to its values."""
    reply = {
        "response": 0,
        "data": {"sn": serial, "name": name, "pname": port_names, "ver": firmware},
    }
    info = parse_discovery_reply(json.dumps(reply).encode(), ("127.0.0.1", 8888))
    assert (info.serial, info.name, list(info.port_names), info.firmware) == (
        serial,
        name,
        port_names,
        firmware,
    )


READING_LIKE = st.fixed_dictionaries(
    {"response": st.sampled_from([511, 510, 502, 124, 200]), "code": st.sampled_from([200, 400])},
    optional={
        "data": st.dictionaries(
            st.sampled_from(["switch", "watt", "amp", "date", "type", "cost", "money", "time"]),
            JSON_VALUES,
        )
    },
).map(lambda reply: json.dumps(reply).encode())
"""Replies shaped like the device's, with any value in any field."""


async def test_maxsmart_http_replies_raise_only_client_errors(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    """Any reply body, through the real client and the emulator's HTTP server: MaxSmartError.

    Each example is one real HTTP exchange per client call; hypothesis runs in an executor
    thread and hands each call to the event loop.
    """
    emulator = MaxSmartEmulator("127.0.0.1")
    await emulator.start()
    loop = asyncio.get_running_loop()
    try:
        async with aiohttp.ClientSession() as session:
            client = MaxSmartClient(session, "127.0.0.1", emulator.http_port, timeout=2)

            def run(coro: Coroutine[Any, Any, Any]) -> Any:
                return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=10)

            calls: list[Callable[[], Coroutine[Any, Any, Any]]] = [
                client.async_get_reading,
                client.async_get_identifiers,
                client.async_get_time,
                *(lambda p=p: client.async_get_statistics(p) for p in StatisticsPeriod),
                lambda: client.async_set_port(1, True),
            ]

            # Nine real HTTP exchanges per example: a third of the profile's examples.
            @settings(max_examples=max(20, settings.default.max_examples // 3))
            @given(body=st.binary(max_size=400) | READING_LIKE)
            def check(body: bytes) -> None:
                emulator.faults.body = body
                for call in calls:
                    try:
                        result = run(call())
                    except MaxSmartError:
                        continue
                    for value in getattr(result, "power", ()):
                        assert math.isfinite(value)

            await hass.async_add_executor_job(check)
    finally:
        await emulator.stop()


# ------------------------------------------------------------------ bridge commands

VALID_TEXT = st.text(st.characters(codec="utf-8"), max_size=20)


def _valid_unicode(value: Any) -> bool:
    """Whether every string in ``value`` encodes as UTF-8."""
    try:
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return False
    return True


COMMANDS = st.fixed_dictionaries(
    {"action": st.text(st.characters(codec="utf-8"), min_size=1, max_size=64)},
    optional={
        "args": st.dictionaries(VALID_TEXT, JSON_VALUES.filter(_valid_unicode), max_size=4),
        "id": st.text(st.characters(codec="utf-8"), max_size=MAX_ID_LENGTH)
        | st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1),
    },
)


@given(data=st.binary(max_size=2000) | st.text(max_size=500))
def test_bridge_command_parser_raises_only_command_error(data: bytes | str) -> None:
    """Any payload: a command or CommandError; the echoed id is always None or valid."""
    code = None
    try:
        parse_command(data)
    except CommandError as err:
        code = err.code
    assert code in (None, "invalid_json", "invalid_command")
    command_id = _id_of(data)
    assert command_id is None or isinstance(command_id, (str, int))


@given(
    envelope=st.dictionaries(st.sampled_from(["action", "args", "id", "x"]), JSON_VALUES),
    depth=st.integers(min_value=0, max_value=200),
)
def test_bridge_hostile_envelopes_raise_only_command_error(
    envelope: dict[str, Any], depth: int
) -> None:
    """Any field of any type, nested arguments of any depth: CommandError only."""
    nested: Any = envelope.get("args")
    for _ in range(depth):
        nested = [nested]
    envelope["args"] = {"value": nested}
    for payload in (json.dumps(envelope), envelope):
        with contextlib.suppress(CommandError):
            parse_command(payload)


@given(command=COMMANDS)
def test_bridge_command_round_trip(command: dict[str, Any]) -> None:
    """A valid command encoded as JSON decodes to itself (args default to {})."""
    parsed, command_id = parse_command(json.dumps(command).encode())
    assert parsed["action"] == command["action"]
    assert parsed["args"] == json.loads(json.dumps(command.get("args") or {}))
    assert command_id == command.get("id")


# ------------------------------------------------------------------ service schemas


async def test_every_service_schema_raises_only_invalid(hass: HomeAssistant) -> None:
    """Any data for any switchboard service: validated data or probatio.Invalid, nothing else."""
    assert await async_setup_component(hass, DOMAIN, {})
    services = hass.services.async_services_for_domain(DOMAIN)
    assert services
    schemas = {name: service.schema for name, service in services.items() if service.schema}
    keys = sorted(
        {str(key) for schema in schemas.values() for key in _schema_keys(schema)}
        | {"entity_id", "device_id", "config_entry_id"}
    )

    @given(
        name=st.sampled_from(sorted(schemas)),
        data=st.dictionaries(st.sampled_from(keys) | st.text(max_size=8), JSON_VALUES),
    )
    def check(name: str, data: dict[str, Any]) -> None:
        # Known limitation of Home Assistant core, not of this integration: its entity target
        # validator (cv.comp_entity_ids) raises TypeError for a number or boolean entity_id
        # (``0``, ``1.5``, ``true``) instead of Invalid, for every integration's services.
        assume(not isinstance(data.get("entity_id"), (bool, int, float)))
        with contextlib.suppress(probatio.Invalid):
            schemas[name](data)

    await hass.async_add_executor_job(check)


def _schema_keys(schema: Any) -> list[Any]:
    inner = getattr(schema, "schema", None)
    if isinstance(inner, dict):
        return list(inner)
    validators = getattr(schema, "validators", ())
    return [key for validator in validators for key in _schema_keys(validator)]


# ------------------------------------------------------------------ Midea discovery


@given(data=st.binary(max_size=400), prefix=st.sampled_from([b"", b"\x5a\x5a", b"\x83\x70"]))
def test_midea_discovery_reply_never_raises(data: bytes, prefix: bytes) -> None:
    """Any datagram (also with the 5A5A / 8370 magic): an appliance or None, never an error."""
    reply = parse_midea_discovery_reply(prefix + data, "127.0.0.1")
    assert reply is None or isinstance(reply, DiscoveredAppliance)


@given(
    appliance=st.sampled_from([Dehumidifier, AirConditioner]),
    appliance_id=st.integers(min_value=1, max_value=2**48 - 1),
    serial=st.text(string.ascii_uppercase + string.digits, min_size=32, max_size=32),
    mac=st.binary(min_size=6, max_size=6).filter(any),
    protocol=st.sampled_from([2, 3]),
    firmware=st.tuples(*[st.integers(min_value=0, max_value=255)] * 3),
)
def test_midea_discovery_reply_round_trip(
    appliance: type[MideaAppliance],
    appliance_id: int,
    serial: str,
    mac: bytes,
    protocol: int,
    firmware: tuple[int, int, int],
) -> None:
    """The emulated appliance's reply (5A5A, or wrapped in 8370) decodes to its identity."""
    device = appliance(
        appliance_id=appliance_id,
        serial=serial,
        name="x",
        mac=mac.hex(":"),
        protocol=protocol,
        firmware=firmware,
    )
    found = parse_midea_discovery_reply(device.discovery_reply(), "127.0.0.1")
    assert found is not None
    assert (found.appliance_id, found.device_type, found.serial, found.protocol) == (
        appliance_id,
        appliance.device_type,
        serial,
        protocol,
    )
    assert (found.mac, found.firmware) == (mac.hex(":"), ".".join(map(str, firmware)))


# --------------------------------------------------------------------- SEPL frames

SEPL_FRAMES = (
    st.text(max_size=200)
    | JSON_VALUES.map(json.dumps)
    | st.fixed_dictionaries(
        {"handler": st.sampled_from(["command", "response", "put", "x"]) | st.text(max_size=5)},
        optional={
            "status": JSON_VALUES,
            "token": JSON_VALUES,
            "payload": JSON_VALUES
            | st.fixed_dictionaries(
                {},
                optional={
                    "task_id": JSON_VALUES,
                    "device_url": JSON_VALUES,
                    "service_url": JSON_VALUES,
                    "protocol_parts": JSON_VALUES,
                },
            ),
        },
    ).map(json.dumps)
    | st.integers(min_value=1, max_value=100_000).map(lambda depth: "[" * depth + "]" * depth)
)
"""Text frames a broken or hostile platform could send."""


async def test_sepl_client_survives_any_frame(sepl_harness: Harness) -> None:
    """Any text frame, through the emulated platform's websocket: the client keeps its connection.

    After each frame an event still reaches the platform on the same connection.
    """
    client, platform = sepl_harness.client, sepl_harness.platform
    connects = client.stats.connects
    loop = asyncio.get_running_loop()
    sent = 0

    def run(coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=15)

    @given(frame=SEPL_FRAMES)
    @example(frame="[" * 100_000 + "]" * 100_000)  # once ended the reader (RecursionError)
    @example(frame="0")
    def check(frame: str) -> None:
        nonlocal sent
        assert client.stats.connects == connects  # (each example starts connected)
        run(platform.send_raw(frame))
        sent += 1
        loop.call_soon_threadsafe(
            client.send_event, "ha-1", "state", json.dumps({"n": sent, "state": "on"})
        )
        run(platform.wait_for(lambda: len(platform.events) >= sent))
        assert client.stats.connects == connects

    await asyncio.get_running_loop().run_in_executor(None, check)
    await asyncio.sleep(0.2)  # a reader ended by the last frame shows as a new connection
    assert client.stats.connects == connects
    assert client.ready
