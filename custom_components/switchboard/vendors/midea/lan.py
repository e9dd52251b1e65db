"""Asynchronous LAN helpers for Midea appliances: discovery and the V3 credential check.

No Home Assistant imports. midea-local's own ``discover()`` blocks for 5 s whatever answers and
only probes the fixed ports; this module sends the same probe from the event loop, returns as
soon as the expected appliances answered, and accepts any port (the emulator's). The credential
check performs the V3 handshake itself (``docs/protocols/midea.md`` §2) so that a wrong token,
a wrong key and an absent appliance are told apart before midea-local sees them (midea-local
reports all three as ``connect() == False`` and logs a wrong key as an error with a traceback).
The answer check (:func:`async_check_answer`) adds the appliance query (§3) on the same fresh
connection and wants its reply within a bound: midea-local's own connect accepts replies up to
5 s late and retries, so it cannot tell an appliance that answers in time from a late one.
"""

import asyncio
from collections.abc import Iterable
import contextlib
from dataclasses import dataclass
import logging
import socket
from typing import Any

from midealocal.const import DeviceType
from midealocal.exceptions import MideaLocalError
from midealocal.message import MessageQueryAppliance
from midealocal.packet_builder import PacketBuilder
from midealocal.security import (
    MSGTYPE_ENCRYPTED_REQUEST,
    MSGTYPE_HANDSHAKE_REQUEST,
    MSGTYPE_HANDSHAKE_RESPONSE,
    LocalSecurity,
)

_LOGGER = logging.getLogger(__name__)

PROBE = bytes.fromhex(
    "5a5a011148009200"
    + "00" * 32
    + "7f75bd6b3e4f8b762e849c6e578d6590036e9d4342a50f1f569eb8ec918e92e5"
)
"""The discovery probe every Midea app and library sends (§1)."""
HANDSHAKE_RESPONSE_LENGTH = 72
"""Bytes of a V3 handshake response: the 8-byte 8370 header and counter, then 64 of data (§2)."""
SUPPORTED_TYPES = frozenset({0xA1, 0xAC})
"""Device types this family runs: dehumidifier, air conditioner."""


class MideaLanError(Exception):
    """Base class of this module's errors."""


class ApplianceUnreachable(MideaLanError):
    """Nothing answered at the address (refused, timed out, or closed without a word)."""


class NoAnswer(ApplianceUnreachable):
    """The appliance took the connection but did not answer a query in time (or undecodably)."""


class WrongToken(MideaLanError):
    """The appliance refused the token at the V3 handshake."""


class WrongKey(MideaLanError):
    """The handshake completed but the key does not match the appliance's."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DiscoveredAppliance:
    """One discovery reply (§1).

    ``appliance_id`` is the cloud id; ``device_type`` an int (0xA1, 0xAC, ...); ``host`` the
    reply's source address; ``port`` the TCP port the appliance serves; ``protocol`` 2 or 3;
    ``mac`` lowercase ``aa:bb:cc:dd:ee:ff`` or ``None``; ``firmware`` ``"x.y.z"`` or ``None``.
    """

    appliance_id: int
    device_type: int
    host: str
    port: int
    serial: str
    model: str
    mac: str | None
    protocol: int
    subtype: int
    firmware: str | None

    @property
    def supported(self) -> bool:
        """Whether this family can run the appliance."""
        return self.device_type in SUPPORTED_TYPES


def parse_discovery_reply(data: bytes, host: str) -> DiscoveredAppliance | None:
    """Parse one discovery reply from ``host``; ``None`` when it is not one (§1)."""
    if data[:2] == b"\x5a\x5a":
        protocol = 2
    elif data[:2] == b"\x83\x70" and data[8:10] == b"\x5a\x5a":
        protocol = 3
        data = data[8:-16]
    else:
        return None
    if len(data) < 104:
        return None
    reply = LocalSecurity().aes_decrypt(data[40:-16])
    if len(reply) <= 41 or reply[40] + 41 > len(reply):
        return None
    length = reply[40]
    try:
        ssid = reply[41 : 41 + length].decode("ascii")
        serial = reply[8:40].decode("ascii").strip("\x00")
        device_type = int(ssid.split("_")[1], 16)
    except UnicodeDecodeError, IndexError, ValueError:
        return None
    mac = None
    if len(reply) >= 69 + length:
        raw = reply[63 + length : 69 + length]
        if any(raw):
            mac = ":".join(f"{byte:02x}" for byte in raw)
    firmware = None
    if len(reply) >= 75 + length:
        firmware = ".".join(str(byte) for byte in reply[72 + length : 75 + length])
    subtype = 0
    if len(reply) >= 59 + length:
        subtype = int.from_bytes(reply[57 + length : 59 + length], "little")
    return DiscoveredAppliance(
        appliance_id=int.from_bytes(data[20:26], "little"),
        device_type=device_type,
        host=host,
        port=int.from_bytes(reply[4:8], "little"),
        serial=serial,
        model=serial[9:17],
        mac=mac,
        protocol=protocol,
        subtype=subtype,
        firmware=firmware,
    )


class _DiscoveryProtocol(asyncio.DatagramProtocol):
    def __init__(
        self,
        found: dict[int, DiscoveredAppliance],
        done: asyncio.Event,
        want: int,
        wanted: frozenset[int],
    ) -> None:
        self.found = found
        self.done = done
        self.want = want
        self.wanted = wanted

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        appliance = parse_discovery_reply(data, str(addr[0]))
        if appliance is None:
            return
        self.found[appliance.appliance_id] = appliance
        if self.wanted:
            if self.wanted <= self.found.keys():
                self.done.set()
        elif self.want and len(self.found) >= self.want:
            self.done.set()

    def error_received(self, exc: Exception) -> None:
        _LOGGER.debug("Midea discovery: %s", exc)


async def async_discover(
    addresses: Iterable[str],
    ports: Iterable[int],
    *,
    wait: float = 2.0,
    expected: int = 0,
    wanted: Iterable[int] = (),
) -> dict[int, DiscoveredAppliance]:
    """Probe ``addresses`` (unicast or broadcast) on ``ports``; replies by appliance id.

    Returns after ``wait`` seconds, or as soon as every appliance id in ``wanted`` answered, or
    (without ``wanted``) as soon as ``expected`` appliances answered (0: wait the whole time,
    as a broadcast must). Raises nothing: an unreachable network just yields fewer replies.
    """
    loop = asyncio.get_running_loop()
    found: dict[int, DiscoveredAppliance] = {}
    done = asyncio.Event()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sock.setblocking(False)
    sock.bind(("0.0.0.0", 0))  # noqa: S104 - replies come from any appliance address
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _DiscoveryProtocol(found, done, expected, frozenset(wanted)), sock=sock
    )
    try:
        for address in addresses:
            for port in ports:
                try:
                    transport.sendto(PROBE, (address, port))
                except OSError as err:
                    _LOGGER.debug("Midea discovery to %s:%s failed: %s", address, port, err)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), wait)
    finally:
        transport.close()
    return found


async def async_check_credentials(
    host: str, port: int, token: str, key: str, *, wait: float = 5.0
) -> None:
    """Perform the V3 handshake with ``token`` and check the reply against ``key`` (§2).

    ``token`` is 128 hex digits, ``key`` 64; ``wait`` bounds each step (s). Raises
    :class:`ApplianceUnreachable`, :class:`WrongToken` or :class:`WrongKey`; returns when both
    are right.
    """
    reader, writer = await _async_open(host, port, wait)
    try:
        await _async_handshake(reader, writer, host, port, token, key, wait)
    finally:
        await _async_close(writer)


async def async_check_answer(
    host: str,
    port: int,
    *,
    appliance_id: int,
    device_type: int,
    token: str = "",
    key: str = "",
    wait: float = 5.0,
) -> None:
    """Check that the appliance answers in time, on a connection of its own (§2, §3).

    Connects, performs the V3 handshake when ``token`` is given (128 hex, ``key`` 64 hex; V2:
    both empty), sends the appliance query (``A0``) and waits at most ``wait`` seconds for a
    reply packet that decodes (a whole 8370 packet for V3, a whole 5A5A packet for V2). The
    connection is closed before returning, so no late reply can reach anything else.

    Raises :class:`NoAnswer` (no reply within ``wait``, or bytes that do not decode),
    :class:`ApplianceUnreachable`, :class:`WrongToken` or :class:`WrongKey`.
    """
    reader, writer = await _async_open(host, port, wait)
    try:
        security = None
        if token:
            security = await _async_handshake(reader, writer, host, port, token, key, wait)
        query = MessageQueryAppliance(DeviceType(device_type))
        packet = PacketBuilder(appliance_id, query.serialize())
        request = packet.finalize()
        if security is not None:
            request = security.encode_8370(bytes(request), MSGTYPE_ENCRYPTED_REQUEST)
        writer.write(request)
        buffer = b""
        try:
            async with asyncio.timeout(wait):
                while not _whole_reply(buffer, security):
                    chunk = await reader.read(512)
                    if not chunk:
                        raise NoAnswer(f"{host}:{port}: connection closed before the reply")
                    buffer += chunk
        except TimeoutError as err:
            raise NoAnswer(f"{host}:{port}: no reply within {wait} s") from err
        except OSError as err:
            raise NoAnswer(f"{host}:{port}: {err}") from err
    finally:
        await _async_close(writer)


def _whole_reply(buffer: bytes, security: LocalSecurity | None) -> bool:
    """Whether ``buffer`` holds a whole reply packet; raises :class:`NoAnswer` for garbage."""
    if not buffer:
        return False
    if security is not None:
        try:
            packets, _ = security.decode_8370(buffer)
        except (MideaLocalError, ValueError) as err:
            raise NoAnswer(f"undecodable reply: {type(err).__name__}") from err
        return bool(packets)
    if buffer[:2] != b"\x5a\x5a"[: len(buffer)]:
        raise NoAnswer("undecodable reply: not a 5A5A packet")
    return len(buffer) >= 6 and len(buffer) >= int.from_bytes(buffer[4:6], "little")


async def _async_open(
    host: str, port: int, wait: float
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    try:
        return await asyncio.wait_for(asyncio.open_connection(host, port), wait)
    except (OSError, TimeoutError) as err:
        raise ApplianceUnreachable(f"{host}:{port}: {err}") from err


async def _async_close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


async def _async_handshake(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    host: str,
    port: int,
    token: str,
    key: str,
    wait: float,
) -> LocalSecurity:
    """The V3 handshake (§2); returns the security holding the session key.

    Only the appliance's own answers are taken for a refusal: ``ERROR`` (or the connection
    closed without a word) is a wrong token, a well-formed handshake response whose ``sha256(R)``
    does not check is a wrong key. Bytes that are not a handshake response (garbage, half a
    reply) say nothing about the credentials: :class:`NoAnswer`, retried like a late reply
    rather than the minute a refusal waits.
    """
    security = LocalSecurity()
    writer.write(security.encode_8370(bytes.fromhex(token), MSGTYPE_HANDSHAKE_REQUEST))
    response = b""
    try:
        async with asyncio.timeout(wait):
            while len(response) < HANDSHAKE_RESPONSE_LENGTH and response[8:13] != b"ERROR":
                chunk = await reader.read(512)
                if not chunk:
                    break
                response += chunk
    except TimeoutError as err:
        if response:
            raise NoAnswer(f"{host}:{port}: half a handshake reply") from err
        raise ApplianceUnreachable(f"{host}:{port}: no handshake reply") from err
    except OSError as err:
        raise WrongToken(f"{host}:{port}: connection closed at the handshake") from err
    if not response or response[8:13] == b"ERROR":
        raise WrongToken(f"{host}:{port}: token refused")
    if (
        len(response) < HANDSHAKE_RESPONSE_LENGTH
        or response[:2] != b"\x83\x70"
        or response[5] & 0x0F != MSGTYPE_HANDSHAKE_RESPONSE
    ):
        raise NoAnswer(f"{host}:{port}: undecodable handshake reply")
    try:
        security.tcp_key(response[8:HANDSHAKE_RESPONSE_LENGTH], bytes.fromhex(key))
    except MideaLocalError as err:
        raise WrongKey(f"{host}:{port}: key does not match") from err
    return security
