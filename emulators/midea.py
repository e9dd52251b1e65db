"""Emulator of Midea / Comfee appliances on the LAN, and of the NetHome Plus cloud.

Written from the protocol description in ``docs/protocols/midea.md`` (and without importing any
Midea library, so the libraries can be tested against it):

* :class:`Dehumidifier` (device type ``0xA1``) and :class:`AirConditioner` (``0xAC``) hold an
  appliance's state and answer AA frames: the appliance query (``A0``), status queries, sets,
  and unprompted status frames (:meth:`MideaAppliance.push`). :class:`BBAirConditioner` is
  model ``23096633``, which speaks the ``BB`` sub-protocol (fresh-air intake and exhaust).
* :class:`MideaLanServer` serves one appliance over TCP, speaking protocol V2 (bare ``5A5A``
  packets) or V3 (``8370`` packets after the token/key handshake), with the token and key the
  appliance minted (:attr:`MideaAppliance.token` / :attr:`MideaAppliance.key`).
* :class:`MideaDiscoveryResponder` answers the UDP discovery probe on one address for every
  appliance registered with it; each reply advertises that appliance's own TCP port, so several
  appliances can live behind one address (``127.0.0.1`` in tests). Real appliances listen on UDP
  6445 and 20086 and TCP 6444.
* :class:`FakeNetHomeCloud` is the NetHome Plus account API (login, appliance list, token/key)
  with its real error codes, including ``9999`` for appliances whose key the cloud refuses.

Fault injection (:class:`MideaFaults`, per appliance): reject the token, a silent device,
dropped connections, garbage or truncated frames, slow replies; ``await server.stop()`` /
``await server.start()`` is a power cut and its return (same port); a dehumidifier built with
``water_level_set=0`` reports a water-level setpoint of 0 as some real models do.

Run ``python -m emulators.midea --help`` for the command line interface.
"""

import argparse
import asyncio
from collections.abc import Callable, Sequence
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
import hashlib
import json
import logging
import os
import secrets
import signal
import socket
from typing import Any, ClassVar, override

from aiohttp import web
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

_LOGGER = logging.getLogger(__name__)

SIGN_SALT = b"xhdiwjnchekd4d512chdjx5d8e4c394D2D7S"
"""Salt of the 5A5A packet checksum; its MD5 is the AES-128 key of 5A5A payloads."""
PAYLOAD_KEY = hashlib.md5(SIGN_SALT).digest()
DISCOVERY_PORTS = (6445, 20086)
"""UDP ports real appliances answer discovery on."""
LAN_PORT = 6444
"""TCP port real appliances serve."""
NETHOME_PLUS_APP_KEY = "3742e9e5842d4ad59c2db887e12449f9"

_HANDSHAKE_REQUEST = 0x0
_HANDSHAKE_RESPONSE = 0x1
_ENCRYPTED_RESPONSE = 0x3
_ENCRYPTED_REQUEST = 0x6
_ERROR = 0xF

# AA frame message types.
MSG_SET = 0x02
MSG_QUERY = 0x03
MSG_NOTIFY1 = 0x04
MSG_NOTIFY2 = 0x05
MSG_APPLIANCE = 0xA0


def _aes_ecb_encrypt(key: bytes, data: bytes) -> bytes:
    padder = sym_padding.PKCS7(128).padder()
    padded = padder.update(data) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305
    return encryptor.update(padded) + encryptor.finalize()


def _aes_ecb_decrypt(key: bytes, data: bytes) -> bytes:
    decryptor = Cipher(algorithms.AES(key), modes.ECB()).decryptor()  # noqa: S305
    padded = decryptor.update(data) + decryptor.finalize()
    unpadder = sym_padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def _aes_cbc(key: bytes, data: bytes, *, encrypt: bool) -> bytes:
    cipher = Cipher(algorithms.AES(key), modes.CBC(bytes(16)))
    worker = cipher.encryptor() if encrypt else cipher.decryptor()
    return worker.update(data) + worker.finalize()


def crc8(data: bytes) -> int:
    """CRC-8 Dallas/Maxim (reflected polynomial 0x8C, init 0) of an AA frame body."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8C if crc & 1 else crc >> 1
    return crc


def aa_frame(device_type: int, message_type: int, body: bytes, protocol: int = 3) -> bytes:
    """Build an AA frame: header (10 bytes), ``body`` (body type first), checksum."""
    frame = bytearray([0xAA, 10 + len(body), device_type, 0, 0, 0, 0, 0, protocol, message_type])
    frame += body
    frame.append((-sum(frame[1:])) & 0xFF)
    return bytes(frame)


def _packet_time() -> bytes:
    now = datetime.now(tz=UTC)
    return bytes(
        [
            now.microsecond // 10000,
            now.second,
            now.minute,
            now.hour,
            now.day,
            now.month,
            now.year % 100,
            now.year // 100,
        ]
    )


def packet_5a5a(device_id: int, frame: bytes, packet_type: bytes = b"\x01\x11") -> bytes:
    """Wrap an AA frame in a 5A5A packet (AES-128-ECB payload, MD5 checksum)."""
    packet = bytearray(b"\x5a\x5a" + packet_type + b"\x00\x00\x20\x00" + bytes(4))
    packet += _packet_time() + device_id.to_bytes(8, "little") + bytes(12)
    packet += _aes_ecb_encrypt(PAYLOAD_KEY, frame)
    packet[4:6] = (len(packet) + 16).to_bytes(2, "little")
    packet += hashlib.md5(bytes(packet) + SIGN_SALT).digest()
    return bytes(packet)


def udp_id(appliance_id: int, method: int) -> str:
    """The cloud's ``udpid`` of an appliance (method 1: 6 bytes big-endian, 2: little-endian)."""
    raw = appliance_id.to_bytes(6, "big" if method == 1 else "little")
    digest = bytearray(hashlib.sha256(raw).digest())
    return bytes(digest[i] ^ digest[i + 16] for i in range(16)).hex()


@dataclass(slots=True)
class MideaFaults:
    """Fault injection switches of one appliance; all off by default.

    * ``reject_token``: answer the V3 handshake with ``ERROR`` and close (as for a wrong token);
    * ``silent``: accept TCP connections but never answer anything;
    * ``drop_connection``: close the connection on the next request instead of answering;
    * ``garbage``: answer requests with random bytes;
    * ``truncated``: answer requests with the first half of the real reply only;
    * ``delay``: seconds to wait before every reply;
    * ``ignore_discovery``: do not answer discovery probes.
    """

    reject_token: bool = False
    silent: bool = False
    drop_connection: bool = False
    garbage: bool = False
    truncated: bool = False
    delay: float = 0.0
    ignore_discovery: bool = False


class MideaAppliance:
    """One emulated appliance: identity, state, and its answers to AA frames.

    ``appliance_id`` is the cloud id (6 bytes); ``serial`` is the 32-character serial number
    (model = ``serial[9:17]``); ``protocol`` is 2 (no token) or 3 (token and key, minted at
    random unless given as hex). ``port`` is the TCP port the discovery reply advertises; the
    :class:`MideaLanServer` sets it when it starts.
    """

    device_type: ClassVar[int]
    type_name: ClassVar[str]

    def __init__(
        self,
        *,
        appliance_id: int,
        serial: str,
        name: str,
        mac: str,
        protocol: int = 3,
        host: str = "127.0.0.1",
        token: str | None = None,
        key: str | None = None,
        model_number: str = "0",
        firmware: tuple[int, int, int] = (3, 0, 8),
    ) -> None:
        """Create the appliance; token (128 hex) and key (64 hex) are minted when not given."""
        if len(serial) != 32:
            raise ValueError("serial must have 32 characters")
        self.appliance_id = appliance_id
        self.serial = serial
        self.name = name
        self.mac = mac.lower().replace("-", ":")
        self.protocol = protocol
        self.host = host
        self.token = token or secrets.token_hex(64)
        self.key = key or secrets.token_hex(32)
        self.model_number = model_number
        self.firmware = firmware
        self.port = LAN_PORT
        self.faults = MideaFaults()
        self.frames: list[bytes] = []
        """Every AA frame received, in order (tests assert what a client sent)."""
        self._push_listeners: list[Callable[[bytes], None]] = []

    @property
    def model(self) -> str:
        """The model code carried in the serial number (``serial[9:17]``)."""
        return self.serial[9:17]

    def handle_frame(self, frame: bytes) -> list[bytes]:
        """Answer one AA frame with the AA frames the appliance sends back (maybe none)."""
        self.frames.append(frame)
        if len(frame) < 11 or frame[0] != 0xAA:
            return []
        message_type = frame[9]
        body = frame[10:-1]
        if message_type == MSG_APPLIANCE:
            reply = bytearray(frame[10:-1]) or bytearray(19)
            return [aa_frame(self.device_type, MSG_APPLIANCE, bytes(reply))]
        return [
            aa_frame(self.device_type, message_type, reply)
            for reply in self.answer(message_type, body)
        ]

    def answer(self, message_type: int, body: bytes) -> list[bytes]:
        """Return the reply bodies to a request body (type-specific)."""
        raise NotImplementedError

    def push(self) -> None:
        """Send the current status unprompted to every connected client."""
        self.send_unprompted(self.push_frame())

    def send_unprompted(self, frame: bytes) -> None:
        """Send an AA frame unprompted to every connected client."""
        for listener in list(self._push_listeners):
            listener(frame)

    def push_frame(self) -> bytes:
        """The frame :meth:`push` sends (type-specific)."""
        raise NotImplementedError

    def discovery_payload(self) -> bytes:
        """The plain discovery reply payload (before encryption)."""
        ssid = f"net_{self.device_type:02x}_{self.serial[-4:]}".encode("ascii")
        length = len(ssid)
        payload = bytearray(80 + length)
        payload[0:4] = bytes(reversed(socket.inet_aton(self.host)))
        payload[4:8] = self.port.to_bytes(4, "little")
        payload[8:40] = self.serial.encode("ascii")
        payload[40] = length
        payload[41 : 41 + length] = ssid
        payload[55 + length] = self.device_type
        payload[57 + length : 59 + length] = (int(self.model_number) & 0xFFFF).to_bytes(2, "little")
        payload[63 + length : 69 + length] = bytes.fromhex(self.mac.replace(":", ""))
        payload[69 + length : 72 + length] = bytes([0, 0, self.protocol])
        payload[72 + length : 75 + length] = bytes(self.firmware)
        return bytes(payload)

    def discovery_reply(self) -> bytes:
        """The UDP discovery reply: a 5A5A packet, wrapped in 8370 for V3 appliances."""
        packet = bytearray(packet_5a5a(self.appliance_id, b""))
        packet = packet[:40]
        packet += _aes_ecb_encrypt(PAYLOAD_KEY, self.discovery_payload())
        packet[4:6] = (len(packet) + 16).to_bytes(2, "little")
        packet += hashlib.md5(bytes(packet) + SIGN_SALT).digest()
        if self.protocol == 2:
            return bytes(packet)
        header = b"\x83\x70" + (len(packet) + 16).to_bytes(2, "big") + b"\x20\x00\x00\x00"
        return header + bytes(packet) + bytes(16)

    def cloud_record(self) -> dict[str, str]:
        """Return this appliance as the cloud's appliance list shows it."""
        return {
            "id": str(self.appliance_id),
            "type": f"0x{self.device_type:02X}",
            "name": self.name,
            "sn": self.serial,
            "modelNumber": self.model_number,
            "enterpriseCode": "0000",
            "onlineStatus": "1",
            "activeStatus": "1",
        }


def _new_protocol_reply(body_type: int, values: dict[int, bytes], pack: int = 5) -> bytes:
    """A B0/B1 (``pack`` 5) or B5 (``pack`` 4) TLV body."""
    out = bytearray([body_type, len(values)])
    for tag, value in values.items():
        out += bytes([tag & 0xFF, tag >> 8])
        if pack == 5:
            out.append(0)
        out.append(len(value))
        out += value
    return bytes(out)


class Dehumidifier(MideaAppliance):
    """A Midea / Comfee dehumidifier (``0xA1``) with a water tank and an optional pump.

    State: ``power``, ``mode`` (1 manual/set, 2 continuous, 3 auto/smart, 4 clothes dry),
    ``fan_speed`` (40 low, 60 medium, 80 high), ``target_humidity`` (%), ``child_lock``,
    ``anion``, ``pump`` (``has_pump`` says whether the model has one), ``swing``,
    ``filter_reminder``, ``tank`` (% full), ``water_level_set`` (the full-tank threshold the
    appliance reports; some models report 0), ``humidity`` (%), ``temperature`` (°C),
    ``error_code``.
    """

    device_type = 0xA1
    type_name = "dehumidifier"

    def __init__(self, *, has_pump: bool = True, water_level_set: int = 50, **kwargs: Any) -> None:
        """Create a dehumidifier (see :class:`MideaAppliance` for identity arguments)."""
        super().__init__(**kwargs)
        self.has_pump = has_pump
        self.power = False
        self.mode = 1
        self.fan_speed = 60
        self.target_humidity = 50
        self.child_lock = False
        self.anion = False
        self.pump = False
        self.swing = False
        self.filter_reminder = False
        self.tank = 0
        self.water_level_set = water_level_set
        self.humidity = 62
        self.temperature = 21.0
        self.error_code = 0

    def status_body(self, body_type: int = 0xC8) -> bytes:
        """The 25-byte status body (``C8`` in replies and pushes)."""
        body = bytearray(25)
        body[0] = body_type
        body[1] = 0x01 if self.power else 0
        body[2] = self.mode & 0x0F
        body[3] = self.fan_speed & 0x7F
        body[4:7] = b"\x7f\x7f\x00"
        body[7] = self.target_humidity
        body[8] = 0x80 if self.child_lock else 0
        body[9] = (
            (0x80 if self.filter_reminder else 0)
            | (0x40 if self.anion else 0)
            | (0x10 if self.has_pump else 0)
            | (0x08 if self.pump else 0)
        )
        body[10] = self.tank & 0x7F
        body[15] = self.water_level_set
        body[16] = self.humidity
        body[17] = round(self.temperature * 2 + 50) & 0xFF
        body[19] = 0x20 if self.swing else 0
        body[21] = self.error_code
        return bytes(body)

    def apply_set(self, body: bytes) -> None:
        """Apply a ``0x48`` set body."""
        body = body.ljust(23, b"\x00")
        self.power = bool(body[1] & 0x01)
        if body[2] & 0x0F:
            self.mode = body[2] & 0x0F
        if body[3] & 0x7F:
            self.fan_speed = body[3] & 0x7F
        if body[7]:
            self.target_humidity = body[7]
        self.child_lock = bool(body[8] & 0x80)
        self.anion = bool(body[9] & 0x40)
        if self.has_pump:
            self.pump = bool(body[9] & 0x08)
        if body[9] & 0x80:
            self.filter_reminder = False
        self.swing = bool(body[10] & 0x08)
        if body[13] in (25, 50, 75, 100):
            self.water_level_set = body[13]

    def answer(self, message_type: int, body: bytes) -> list[bytes]:
        """Answer status queries (``41``), sets (``48``), B1 and B5 queries."""
        if not body:
            return []
        if message_type == MSG_QUERY and body[0] == 0x41:
            return [self.status_body()]
        if message_type == MSG_SET and body[0] == 0x48:
            self.apply_set(body)
            return [self.status_body()]
        if message_type == MSG_QUERY and body[0] == 0xB5:
            capabilities = {0x0210: b"\x07", 0x0214: b"\x04", 0x0217: b"\x01", 0x021E: b"\x01"}
            if self.has_pump:
                capabilities[0x021D] = b"\x01"
            return [_new_protocol_reply(0xB5, capabilities, pack=4)]
        if message_type == MSG_QUERY and body[0] == 0xB1:
            return [_new_protocol_reply(0xB1, {0x005B: b"\x01"})]
        return []

    def push_frame(self) -> bytes:
        """An unprompted ``04`` frame with the ``C8`` status body."""
        return aa_frame(self.device_type, MSG_NOTIFY1, self.status_body())


def _tlv_request(body: bytes, pack: int) -> dict[int, bytes]:
    """The tags (and values) of a B0 set (``pack`` 4) or the tags of a B1 query (``pack`` 0).

    A B1 query lists bare tags (two bytes each); a B0 set carries ``tag, length, value``.
    Parsing stops at the first incomplete entry (a truncated frame).
    """
    values: dict[int, bytes] = {}
    pos = 2
    for _ in range(body[1] if len(body) > 1 else 0):
        if pos + 2 > len(body):
            break
        tag = body[pos] | body[pos + 1] << 8
        pos += 2
        if pack == 0:
            values[tag] = b""
            continue
        if pos >= len(body) or pos + 1 + body[pos] > len(body):
            break
        length = body[pos]
        values[tag] = bytes(body[pos + 1 : pos + 1 + length])
        pos += 1 + length
    return values


# New-protocol (B0/B1/B5) tags of the air conditioner (docs/protocols/midea.md §5).
TAG_WIND_UD_ANGLE = 0x0009
TAG_WIND_LR_ANGLE = 0x000A
TAG_INDOOR_HUMIDITY = 0x0015
TAG_SCREEN_DISPLAY = 0x0017
TAG_BREEZELESS = 0x0018
TAG_SELF_CLEAN = 0x0039
TAG_RATE_SELECT = 0x0048
TAG_FRESH_AIR = 0x004B
TAG_OUT_SILENT = 0x00CD
TAG_BUZZER = 0x022C

TAGS_WHILE_ON = frozenset({TAG_WIND_UD_ANGLE, TAG_WIND_LR_ANGLE, TAG_RATE_SELECT})
"""Tags a ``B0`` set changes only while the air conditioner is on (louvres, power limit)."""

LOUVRE_ANGLES = (0, 1, 25, 50, 75, 100)
"""Louvre positions (% of travel): 0 swing/off, 1 up (left), 25, 50 middle, 75, 100 down (right)."""
RATE_GEARS = (1, 20, 40, 60, 80, 100)
"""Power-limit gears (% of full power) of a five-level appliance."""
RATE_GEARS_2_LEVEL = (50, 75, 100)
"""Power-limit gears of a two-level appliance."""


class AirConditioner(MideaAppliance):
    """A Midea air conditioner (``0xAC``).

    State: ``power``, ``mode`` (1 auto, 2 cool, 3 dry, 4 heat, 5 fan only), ``target_temperature``
    (°C, 0.5 steps, 16-30), ``fan_speed`` (20 silent, 40 low, 60 medium, 80 high, 100 full,
    102 auto), ``swing_vertical`` / ``swing_horizontal``, ``eco``, ``boost``, ``sleep``,
    ``indoor_temperature`` / ``outdoor_temperature`` (°C), ``indoor_humidity`` (%),
    ``screen_display``, ``prompt_tone``, ``total_energy`` (kWh), ``power_w`` (W).

    Features a model may lack (``None`` where the appliance built with the feature's flag off
    does not have it; it then leaves the feature out of its B5 capabilities and B1 answers):
    ``wind_ud_angle`` / ``wind_lr_angle`` (louvre position, one of :data:`LOUVRE_ANGLES`;
    flag ``louvre_angles``), ``rate_select`` (power-limit gear, :data:`RATE_GEARS`, or
    :data:`RATE_GEARS_2_LEVEL` with ``rate_levels=2``), ``fresh_air_power`` and
    ``fresh_air_fan_speed`` (0-100; flag ``fresh_air``), ``breezeless``; ``out_silent``,
    ``sound`` and ``self_clean`` are set through B0 too. With ``engineering_data`` the
    appliance answers the C1 group queries 0, 1, 2, 3 and 7 with its operating hours, compressor,
    refrigerant temperatures, indoor and outdoor fan and compressor power (otherwise with a bare
    header).
    """

    device_type = 0xAC
    type_name = "air_conditioner"

    def __init__(
        self,
        *,
        louvre_angles: bool = True,
        rate_select: bool = True,
        rate_levels: int = 5,
        fresh_air: bool = True,
        breezeless: bool = True,
        engineering_data: bool = True,
        **kwargs: Any,
    ) -> None:
        """Create an air conditioner (see :class:`MideaAppliance` for identity arguments)."""
        super().__init__(**kwargs)
        self.power = False
        self.mode = 2
        self.target_temperature = 24.0
        self.fan_speed = 102
        self.swing_vertical = False
        self.swing_horizontal = False
        self.eco = False
        self.boost = False
        self.sleep = False
        self.aux_heating = False
        self.indoor_temperature = 26.5
        self.outdoor_temperature = 31.0
        self.indoor_humidity = 55
        self.screen_display = True
        self.total_energy = 123.45
        self.power_w = 0.0
        self.wind_ud_angle: int | None = 50 if louvre_angles else None
        self.wind_lr_angle: int | None = 50 if louvre_angles else None
        self.rate_levels = rate_levels
        self.rate_select: int | None = 100 if rate_select else None
        self.fresh_air_power: bool | None = False if fresh_air else None
        self.fresh_air_fan_speed = 40
        self.breezeless: bool | None = False if breezeless else None
        self.out_silent = False
        self.sound = True
        self.self_clean = False
        self.engineering_data = engineering_data

    def status_body(self) -> bytes:
        """The ``C0`` status body."""
        body = bytearray(24)
        body[0] = 0xC0
        body[1] = 0x01 if self.power else 0
        temperature = int(self.target_temperature)
        body[2] = ((self.mode << 5) & 0xE0) | ((temperature - 16) & 0x0F)
        if self.target_temperature - temperature >= 0.5:
            body[2] |= 0x10
        body[3] = self.fan_speed & 0x7F
        body[7] = (0x0C if self.swing_vertical else 0) | (0x03 if self.swing_horizontal else 0)
        body[8] = 0x20 if self.boost else 0
        body[9] = (0x10 if self.eco else 0) | (0x08 if self.aux_heating else 0)
        body[10] = 0x01 if self.sleep else 0
        body[11] = round(self.indoor_temperature * 2 + 50) & 0xFF
        body[12] = round(self.outdoor_temperature * 2 + 50) & 0xFF
        body[14] = 0x00 if self.screen_display else 0x70
        return bytes(body)

    def a0_body(self) -> bytes:
        """The ``A0`` body of an unprompted ``05`` status frame."""
        body = bytearray(20)
        body[0] = 0xA0
        temperature = int(self.target_temperature)
        body[1] = (
            (0x01 if self.power else 0)
            | (((temperature - 16 + 4) << 1) & 0x3E)
            | (0x40 if self.target_temperature - temperature >= 0.5 else 0)
        )
        body[2] = (self.mode << 5) & 0xE0
        body[3] = self.fan_speed & 0x7F
        body[7] = (0x0C if self.swing_vertical else 0) | (0x03 if self.swing_horizontal else 0)
        body[8] = 0x20 if self.boost else 0
        body[9] = (0x10 if self.eco else 0) | (0x08 if self.aux_heating else 0)
        body[10] = 0x01 if self.sleep else 0
        body[14] = 0x00 if self.screen_display else 0x70
        return bytes(body)

    def apply_set(self, body: bytes) -> None:
        """Apply a ``0x40`` general set body."""
        body = body.ljust(23, b"\x00")
        self.power = bool(body[1] & 0x01)
        self.mode = (body[2] & 0xE0) >> 5 or self.mode
        self.target_temperature = (body[2] & 0x0F) + 16 + (0.5 if body[2] & 0x10 else 0)
        self.fan_speed = body[3] & 0x7F
        self.swing_vertical = bool(body[7] & 0x0C)
        self.swing_horizontal = bool(body[7] & 0x03)
        self.boost = bool(body[8] & 0x20)
        self.eco = bool(body[9] & 0x80)
        self.aux_heating = bool(body[9] & 0x08)
        self.sleep = bool(body[10] & 0x01)
        self.power_w = 850.0 if self.power else 0.0

    @property
    def rate_gears(self) -> tuple[int, ...]:
        """The power-limit gears this appliance accepts."""
        return RATE_GEARS_2_LEVEL if self.rate_levels == 2 else RATE_GEARS

    def new_protocol_values(self) -> dict[int, bytes]:
        """Every new-protocol (B1) tag this appliance has, with its current value."""
        values = {
            TAG_INDOOR_HUMIDITY: bytes([self.indoor_humidity]),
            TAG_SCREEN_DISPLAY: b"\x01" if self.screen_display else b"\x00",
            TAG_OUT_SILENT: b"\x03" if self.out_silent else b"\x00",
            TAG_BUZZER: b"\x01" if self.sound else b"\x00",
            TAG_SELF_CLEAN: b"\x01" if self.self_clean else b"\x00",
        }
        if self.wind_ud_angle is not None and self.wind_lr_angle is not None:
            values[TAG_WIND_UD_ANGLE] = bytes([self.wind_ud_angle])
            values[TAG_WIND_LR_ANGLE] = bytes([self.wind_lr_angle])
        if self.rate_select is not None:
            values[TAG_RATE_SELECT] = bytes([self.rate_select])
        if self.fresh_air_power is not None:
            values[TAG_FRESH_AIR] = bytes(
                [1 if self.fresh_air_power else 0, self.fresh_air_fan_speed, 0xFF]
            )
        if self.breezeless is not None:
            values[TAG_BREEZELESS] = b"\x01" if self.breezeless else b"\x00"
        return values

    def apply_new_protocol_set(self, values: dict[int, bytes]) -> list[int]:
        """Apply a ``B0`` set's tags; return the tags it took (those this appliance has).

        Switched off, the appliance drops the louvre angles and the power limit (its louvres
        are closed and it draws no power) and answers without them; fresh air, breezeless and
        the other tags it takes either way.
        """
        taken: list[int] = []
        for tag, value in values.items():
            if not value or (not self.power and tag in TAGS_WHILE_ON):
                continue
            if tag == TAG_WIND_UD_ANGLE and self.wind_ud_angle is not None:
                if value[0] in LOUVRE_ANGLES:
                    self.wind_ud_angle = value[0]
            elif tag == TAG_WIND_LR_ANGLE and self.wind_lr_angle is not None:
                if value[0] in LOUVRE_ANGLES:
                    self.wind_lr_angle = value[0]
            elif tag == TAG_RATE_SELECT and self.rate_select is not None:
                if value[0] in self.rate_gears:
                    self.rate_select = value[0]
            elif tag == TAG_FRESH_AIR and self.fresh_air_power is not None and len(value) >= 2:
                self.fresh_air_power = value[0] > 0
                if value[1]:
                    self.fresh_air_fan_speed = min(value[1], 100)
            elif tag == TAG_BREEZELESS and self.breezeless is not None:
                self.breezeless = value[0] == 1
            elif tag == TAG_OUT_SILENT:
                self.out_silent = value[0] == 3
            elif tag == TAG_BUZZER:
                self.sound = value[0] > 0
            elif tag == TAG_SELF_CLEAN:
                self.self_clean = value[0] > 0
            else:
                continue
            taken.append(tag)
        return taken

    def capability_values(self) -> dict[int, bytes]:
        """The B5 capability answer (4-byte TLV values)."""
        capabilities = {
            0x0214: b"\x01",  # cool, dry, auto and heat
            0x0215: b"\x00",  # vertical and horizontal swing
            0x0210: b"\x01",  # every fan speed
            0x0212: b"\x01",  # eco
            0x021A: b"\x00",  # turbo
            0x021F: b"\x01",  # humidity sensor
            0x0224: b"\x01",  # display control
            0x0216: b"\x02",  # energy statistics
            0x0225: bytes([32, 60, 32, 60, 34, 60, 0]),  # 16-30 °C, heat 17-30
        }
        if self.wind_ud_angle is not None:
            capabilities[TAG_WIND_UD_ANGLE] = b"\x01"
            capabilities[TAG_WIND_LR_ANGLE] = b"\x01"
        if self.rate_select is not None:
            capabilities[TAG_RATE_SELECT] = b"\x01" if self.rate_levels == 2 else b"\x02"
        return capabilities

    def _energy_body(self, group: int) -> bytes:
        body = bytearray(20)
        body[0:4] = bytes([0xC1, 0x21, 0x01, group])

        def bcd(value: int, size: int) -> bytes:
            # Two decimal digits per byte, most significant first (B5 electricity 0x02).
            digits = []
            for _ in range(size):
                pair = value % 100
                digits.append(((pair // 10) << 4) | (pair % 10))
                value //= 100
            return bytes(reversed(digits))

        body[4:8] = bcd(round(self.total_energy * 100), 4)
        body[12:16] = bcd(0, 4)
        body[16:19] = bcd(round(self.power_w * 10), 3)
        return bytes(body)

    def _group_body(self, group: int) -> bytes:
        """A C1 group-data answer (§5): engineering data of groups 0, 1, 2, 3 and 7."""
        head = bytes([0xC1, 0x21, 0x01, group])
        if group not in (0x40, 0x41, 0x42, 0x43, 0x47):
            return head
        if not self.engineering_data:
            # No group byte, no data: midea-local reads an outdoor fan speed of 0 from any
            # answer to group 3, even one without data.
            return head[:3]
        running = self.power and self.mode != 5
        body = bytearray(head + bytes(16))
        if group == 0x40:  # hours powered, run in total, this run: days (2 bytes), h, min, s
            for offset, hours in ((4, 2000.5), (9, 812.25), (14, 1.5 if self.power else 0.0)):
                days, rest = divmod(round(hours * 3600), 86400)
                body[offset : offset + 5] = bytes(
                    [days >> 8, days & 0xFF, rest // 3600, rest % 3600 // 60, rest % 60]
                )
        elif group == 0x41:  # compressor and refrigerant circuit
            body[4] = 58 if running else 0  # compressor frequency (Hz)
            body[5] = 60 if running else 0  # target frequency (Hz)
            body[7] = 4 if running else 0  # compressor current (A)
            body[8] = 230  # supply voltage (V)
            body[10] = round(self.indoor_temperature * 2 + 30)  # T1 indoor return air
            body[11] = round((12.0 if running else self.indoor_temperature) * 2 + 30)  # T2 coil
            body[12] = round((40.0 if running else self.outdoor_temperature) * 2 + 50)  # T3
            body[13] = round(self.outdoor_temperature * 2 + 50)  # T4 outdoor ambient
            body[14] = 75 if running else round(self.outdoor_temperature)  # discharge pipe
        elif group == 0x42:  # indoor fan (units of 8 rpm) and condensate pump
            body[4] = 125 if self.power else 0
            body[5] = 125 if self.power else 0
            body[8] = 0x10 if running and self.mode == 2 else 0
        elif group == 0x43:  # outdoor fan (units of 8 rpm)
            body[10] = 100 if running else 0
        else:  # 0x47: compressor power (W, little endian)
            body[10:12] = (780 if running else 0).to_bytes(2, "little")
        return bytes(body)

    def answer(self, message_type: int, body: bytes) -> list[bytes]:
        """Answer the 12 queries of a status refresh, ``0x40`` sets and ``B0`` sets."""
        if not body:
            return []
        kind = body[0]
        if message_type == MSG_QUERY and kind == 0x41:
            if len(body) > 3 and body[1] == 0x21:
                group = body[3]
                if group == 0x44:
                    return [self._energy_body(group)]
                return [self._group_body(group)]
            return [self.status_body()]
        if message_type == MSG_SET and kind == 0x40:
            self.apply_set(body)
            return [self.status_body()]
        if message_type == MSG_QUERY and kind == 0xB1:
            asked = _tlv_request(body, pack=0)
            values = self.new_protocol_values()
            return [_new_protocol_reply(0xB1, {tag: values[tag] for tag in asked if tag in values})]
        if message_type == MSG_SET and kind == 0xB0:
            taken = self.apply_new_protocol_set(_tlv_request(body, pack=4))
            values = self.new_protocol_values()
            return [_new_protocol_reply(0xB0, {tag: values[tag] for tag in taken})]
        if message_type == MSG_QUERY and kind == 0xB5:
            return [_new_protocol_reply(0xB5, self.capability_values(), pack=4)]
        return []

    def push_frame(self) -> bytes:
        """An unprompted ``05`` frame with the ``A0`` status body."""
        return aa_frame(self.device_type, MSG_NOTIFY2, self.a0_body())

    def push_properties(self) -> None:
        """Send the new-protocol properties unprompted, as after a change on the remote.

        The frame is a ``05`` (notify) frame with a ``B5`` body in the ``B0`` layout.
        """
        body = _new_protocol_reply(0xB5, self.new_protocol_values(), pack=4)
        self.send_unprompted(aa_frame(self.device_type, MSG_NOTIFY2, body))


BB_MODEL = "23096633"
"""The one model midea-local drives through the ``BB`` sub-protocol (with subtype 1)."""
BB_MODES = (0, 3, 1, 2, 4, 5)
"""AC mode (1 auto ... 5 fan only) -> ``BB`` mode code + 1 (§5)."""
BB_INTAKE, BB_EXHAUST = 0x04, 0x08
"""Fresh-air set masks (intake, exhaust); the status byte uses 0x01 and 0x02."""


class BBAirConditioner(AirConditioner):
    """Model ``23096633`` subtype 1: the ``BB`` sub-protocol, fresh-air intake and exhaust.

    Speaks only ``AA`` sub-protocol bodies (``AA, length, 00, FF, FF, kind, data..., crc,
    checksum``) and answers with ``BB`` bodies (``BB, 4 bytes, kind, data...``): queries
    ``0x10`` (indoor: temperature x 100 at data 7-8, humidity at 30), ``0x11`` (status: power,
    mode, target, fan; fresh air at data 45-47: switches 0x01 intake / 0x02 exhaust, intake
    and exhaust speed %) and ``0x30`` (outdoor temperature x 100 at 5-6); sets ``0x20`` (the
    whole state) and ``C0`` (one fresh-air side: switch mask at data 21, on at 22, speed
    ``0x80 | %`` at 70 intake / 71 exhaust), both answered with the status. Extra state:
    ``fresh_air_exhaust_power``, ``fresh_air_exhaust_speed`` (0-100). It has no louvre angles,
    power limit, breezeless or engineering data.
    """

    def __init__(self, **kwargs: Any) -> None:
        """Create the appliance; its serial must carry model ``23096633`` (subtype 1)."""
        kwargs.setdefault("model_number", "1")
        super().__init__(
            louvre_angles=False,
            rate_select=False,
            breezeless=False,
            engineering_data=False,
            fresh_air=True,
            **kwargs,
        )
        if self.model != BB_MODEL:
            raise ValueError(f"a BB air conditioner is model {BB_MODEL}")
        self.fresh_air_exhaust_power = False
        self.fresh_air_exhaust_speed = 80

    def bb_body(self, kind: int) -> bytes:
        """The ``BB`` answer of kind ``0x10``, ``0x11`` / ``0x20`` (status) or ``0x30``."""
        if kind == 0x10:
            data = bytearray(81)
            data[7:9] = round(self.indoor_temperature * 100).to_bytes(2, "little")
            data[30] = self.indoor_humidity
        elif kind == 0x30:
            data = bytearray(16)
            data[5:7] = round(self.outdoor_temperature * 100).to_bytes(2, "little")
        else:
            data = bytearray(50)
            data[0] = (0x01 if self.power else 0) | (0x20 if self.boost else 0)
            data[1] = 0x40 if self.aux_heating else 0
            data[2] = 0x80 if self.sleep else 0
            data[5] = BB_MODES[self.mode] - 1
            data[6] = round(self.target_temperature * 2 + 30)
            data[7] = self.fan_speed
            data[25] = 0x40 if self.eco else 0
            data[45] = (0x01 if self.fresh_air_power else 0) | (
                0x02 if self.fresh_air_exhaust_power else 0
            )
            data[46] = self.fresh_air_fan_speed
            data[47] = self.fresh_air_exhaust_speed
        return bytes([0xBB, 0, 0, 0, 0, kind]) + bytes(data)

    def apply_bb_set(self, data: bytes) -> None:
        """Apply a ``0x20`` set (the whole state)."""
        data = data.ljust(26, b"\x00")
        self.power = bool(data[0] & 0x01)
        self.boost = bool(data[0] & 0x20)
        self.aux_heating = bool(data[1] & 0x40)
        self.sleep = bool(data[2] & 0x80)
        if data[5] + 1 in BB_MODES:
            self.mode = BB_MODES.index(data[5] + 1) or self.mode
        self.target_temperature = (data[6] - 30) / 2
        self.fan_speed = data[7]
        self.eco = bool(data[25] & 0x40)

    def apply_fresh_air_set(self, data: bytes) -> None:
        """Apply a ``C0`` fresh-air set: the intake's or the exhaust's switch and speed."""
        data = data.ljust(72, b"\x00")
        mask, on = data[21], data[22]
        if mask & BB_INTAKE:
            self.fresh_air_power = bool(on & BB_INTAKE)
            if data[70] & 0x80:
                self.fresh_air_fan_speed = min(data[70] & 0x7F, 100)
        if mask & BB_EXHAUST:
            self.fresh_air_exhaust_power = bool(on & BB_EXHAUST)
            if data[71] & 0x80:
                self.fresh_air_exhaust_speed = min(data[71] & 0x7F, 100)

    @override
    def answer(self, message_type: int, body: bytes) -> list[bytes]:
        """Answer sub-protocol queries and sets; nothing else (the A0 query is answered above)."""
        if len(body) < 8 or body[0] != 0xAA:
            return []
        kind, data = body[5], body[6:-2]
        if message_type == MSG_QUERY and kind in (0x10, 0x11, 0x30):
            return [self.bb_body(kind)]
        if message_type == MSG_SET and kind == 0x20:
            self.apply_bb_set(data)
            return [self.bb_body(0x20)]
        if message_type == MSG_SET and kind == 0xC0:
            self.apply_fresh_air_set(data)
            return [self.bb_body(0x11)]
        return []


class _Connection:
    """One TCP client of a :class:`MideaLanServer`."""

    def __init__(
        self,
        server: MideaLanServer,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.server = server
        self.appliance = server.appliance
        self.reader = reader
        self.writer = writer
        self.session_key: bytes | None = None
        self.counter = 0
        self.buffer = b""

    def _encode_8370(self, data: bytes, message_type: int) -> bytes:
        counter = self.counter.to_bytes(2, "big")
        self.counter = (self.counter + 1) & 0xFFFF
        if message_type != _ENCRYPTED_RESPONSE:
            return (
                b"\x83\x70"
                + len(data).to_bytes(2, "big")
                + bytes([0x20, message_type])
                + counter
                + data
            )
        pad = (16 - ((len(data) + 2) & 15)) & 15
        plain = counter + data + os.urandom(pad)
        header = b"\x83\x70" + (len(data) + pad + 32).to_bytes(2, "big")
        header += bytes([0x20, (pad << 4) | message_type])
        assert self.session_key is not None
        sign = hashlib.sha256(header + plain).digest()
        return header + _aes_cbc(self.session_key, plain, encrypt=True) + sign

    def send_frame(self, frame: bytes) -> None:
        """Send one AA frame to this client (5A5A, inside 8370 for V3)."""
        packet = packet_5a5a(self.appliance.appliance_id, frame)
        if self.appliance.protocol == 3:
            if self.session_key is None:
                return
            packet = self._encode_8370(packet, _ENCRYPTED_RESPONSE)
        self._write(packet)

    def _write(self, data: bytes) -> None:
        faults = self.appliance.faults
        if faults.garbage:
            data = os.urandom(len(data))
        elif faults.truncated:
            data = data[: len(data) // 2]
        if not self.writer.is_closing():
            self.writer.write(data)

    async def run(self) -> None:
        """Serve the connection until the client or the server closes it."""
        self.appliance._push_listeners.append(self.send_frame)
        try:
            while True:
                chunk = await self.reader.read(4096)
                if not chunk:
                    return
                if self.appliance.faults.silent:
                    continue
                self.buffer += chunk
                while packet := self._next_packet():
                    if not await self._handle(packet):
                        return
        except ConnectionError, OSError:
            return
        finally:
            with contextlib.suppress(ValueError):
                self.appliance._push_listeners.remove(self.send_frame)
            self.writer.close()

    def _next_packet(self) -> bytes | None:
        buffer = self.buffer
        if len(buffer) < 6:
            return None
        if buffer[:2] == b"\x83\x70":
            size = int.from_bytes(buffer[2:4], "big") + 8
        elif buffer[:2] == b"\x5a\x5a":
            size = int.from_bytes(buffer[4:6], "little")
        else:
            self.buffer = b""
            return None
        if len(buffer) < size:
            return None
        self.buffer = buffer[size:]
        return buffer[:size]

    async def _handle(self, packet: bytes) -> bool:
        """Handle one packet; return False to close the connection."""
        faults = self.appliance.faults
        if packet[:2] == b"\x83\x70":
            message_type = packet[5] & 0x0F
            if message_type == _HANDSHAKE_REQUEST:
                return await self._handshake(packet[8:])
            if message_type != _ENCRYPTED_REQUEST or self.session_key is None:
                return False
            pad = packet[5] >> 4
            sign = packet[-32:]
            plain = _aes_cbc(self.session_key, packet[6:-32], encrypt=False)
            if hashlib.sha256(packet[:6] + plain).digest() != sign:
                _LOGGER.debug("%s: 8370 packet with a wrong signature", self.appliance.name)
                return False
            inner = plain[2 : len(plain) - pad]
        else:
            if self.appliance.protocol == 3:
                return False
            inner = packet
        if inner[2:4] == b"\x01\x10" or len(inner) <= 56:
            return True  # heartbeat: real appliances do not answer it
        try:
            frame = _aes_ecb_decrypt(PAYLOAD_KEY, inner[40:-16])
        except ValueError:
            return True
        if faults.drop_connection:
            return False
        if faults.delay:
            await asyncio.sleep(faults.delay)
        for reply in self.appliance.handle_frame(frame):
            self.send_frame(reply)
        return True

    async def _handshake(self, token: bytes) -> bool:
        appliance = self.appliance
        if appliance.faults.reject_token or token[:64] != bytes.fromhex(appliance.token):
            self._write(self._encode_8370(b"ERROR", _ERROR))
            await self.writer.drain()
            return False
        key = bytes.fromhex(appliance.key)
        random = os.urandom(32)
        self.session_key = bytes(a ^ b for a, b in zip(random, key, strict=True))
        payload = _aes_cbc(key, random, encrypt=True) + hashlib.sha256(random).digest()
        self._write(self._encode_8370(payload, _HANDSHAKE_RESPONSE))
        return True


class MideaLanServer:
    """TCP server of one appliance (V2 or V3, as its ``protocol`` says).

    ``port`` 0 picks a free port; the appliance's :attr:`MideaAppliance.port` follows it, so
    its discovery reply advertises the right port. ``stop()`` is a power cut: every open
    connection is closed and the port stops accepting; ``start()`` brings it back on the same
    port.
    """

    def __init__(self, appliance: MideaAppliance, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve ``appliance`` on ``host:port`` once started."""
        self.appliance = appliance
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.connections = 0
        """Number of TCP connections accepted so far."""

    async def start(self) -> None:
        """Listen (again, on the same port after a stop)."""
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        self.appliance.port = self.port
        self.appliance.host = self.host

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def running(self) -> bool:
        """Whether the appliance is powered (listening)."""
        return self._server is not None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await _Connection(self, reader, writer).run()
        finally:
            self._tasks.discard(task)
            writer.close()


class _DiscoveryProtocol(asyncio.DatagramProtocol):
    def __init__(self, responder: MideaDiscoveryResponder) -> None:
        self.responder = responder
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.DatagramTransport)
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.responder.probes += 1
        if data.startswith(b"\x5a\x5a"):
            self.responder.reply_to(addr)


class MideaDiscoveryResponder:
    """Answers discovery probes on ``host`` for every registered, powered appliance.

    ``ports`` are the UDP ports to listen on (real appliances: 6445 and 20086; tests: ``(0,)``
    for one free port, read back from :attr:`ports` after ``start()``).
    """

    def __init__(
        self, host: str = "127.0.0.1", ports: Sequence[int] = (0,), *, reuse_port: bool = False
    ) -> None:
        """Create a responder; nothing listens before ``start()``.

        ``reuse_port`` lets it share its port with a :class:`MideaBroadcastRelay` on 0.0.0.0
        (unicast probes to this address still reach this responder only).
        """
        self.reuse_port = reuse_port
        self.host = host
        self.ports = list(ports)
        self.servers: list[MideaLanServer] = []
        self.probes = 0
        self._transports: list[asyncio.DatagramTransport] = []

    def register(self, server: MideaLanServer) -> None:
        """Answer for the appliance of ``server`` too."""
        self.servers.append(server)

    def reply_to(self, addr: tuple[str | Any, int]) -> None:
        """Send every powered appliance's discovery reply to ``addr`` (from this address)."""
        if not self._transports:
            return
        transport = self._transports[0]
        for server in self.servers:
            appliance = server.appliance
            if server.running and not appliance.faults.ignore_discovery:
                transport.sendto(appliance.discovery_reply(), addr)

    async def start(self) -> None:
        """Bind every port."""
        loop = asyncio.get_running_loop()
        bound = []
        for port in self.ports:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _DiscoveryProtocol(self),
                local_addr=(self.host, port),
                reuse_port=self.reuse_port or None,
            )
            self._transports.append(transport)
            bound.append(transport.get_extra_info("sockname")[1])
        self.ports = bound

    async def stop(self) -> None:
        """Unbind every port."""
        for transport in self._transports:
            transport.close()
        self._transports.clear()


class _RelayProtocol(asyncio.DatagramProtocol):
    def __init__(self, relay: MideaBroadcastRelay) -> None:
        self.relay = relay

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        if data.startswith(b"\x5a\x5a"):
            for responder in self.relay.responders:
                responder.reply_to(addr)


class MideaBroadcastRelay:
    """Receives broadcast probes on ``0.0.0.0:port`` and has each responder answer them.

    A probe to ``127.255.255.255`` reaches no socket bound to ``127.0.0.x``; the relay takes
    it and lets each appliance's responder reply from the appliance's own address, as appliances
    on a real network answer a broadcast.
    """

    def __init__(self, port: int = 0, host: str = "0.0.0.0", *, reuse_port: bool = False) -> None:
        """Listen on ``host:port`` once started (port 0: a free one, read back after start)."""
        self.reuse_port = reuse_port
        self.host = host
        self.port = port
        self.responders: list[MideaDiscoveryResponder] = []
        self._transport: asyncio.DatagramTransport | None = None

    async def start(self) -> None:
        """Bind the port."""
        transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: _RelayProtocol(self),
            local_addr=(self.host, self.port),
            reuse_port=self.reuse_port or None,
        )
        self._transport = transport
        self.port = transport.get_extra_info("sockname")[1]

    async def stop(self) -> None:
        """Unbind."""
        if self._transport is not None:
            self._transport.close()
            self._transport = None


@dataclass(slots=True)
class CloudAccount:
    """One NetHome Plus account of the fake cloud."""

    account: str
    password: str
    appliances: list[MideaAppliance] = field(default_factory=list)
    refuse_token: set[int] = field(default_factory=set)
    """Appliance ids whose token the cloud refuses with ``9999`` (as since August 2026)."""
    login_id: str = field(default_factory=lambda: secrets.token_hex(8))


class FakeNetHomeCloud:
    """The NetHome Plus account API as midea-local 12.2.0 uses it (form POSTs, JSON replies).

    Endpoints: ``/v1/user/login/id/get``, ``/v1/user/login``, ``/v1/appliance/user/list/get``,
    ``/v1/iot/secure/getToken``. Errors are ``{"errorCode": "<code>", "msg": ...}``: 3101 wrong
    account or password, 3106 unknown session, 3201 appliance not in the account, 9999 system
    error (every getToken of an appliance in :attr:`CloudAccount.refuse_token`, every path in
    :attr:`failing`, or everything while :attr:`outage` is set). :attr:`requests` lists the
    paths called.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Create the cloud; accounts are added with :meth:`add_account`."""
        self.host = host
        self.port = port
        self.accounts: dict[str, CloudAccount] = {}
        self.sessions: dict[str, CloudAccount] = {}
        self.requests: list[str] = []
        self.outage = False
        self.failing: set[str] = set()
        """Paths that answer ``9999 system error`` (an outage of one endpoint)."""
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """Base URL (the API address to configure)."""
        return f"http://{self.host}:{self.port}"

    def add_account(
        self, account: str, password: str, appliances: Sequence[MideaAppliance]
    ) -> CloudAccount:
        """Create an account holding ``appliances``."""
        record = CloudAccount(account, password, list(appliances))
        self.accounts[account] = record
        return record

    async def start(self) -> None:
        """Serve HTTP."""
        app = web.Application()
        app.router.add_post("/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        self.port = server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @staticmethod
    def _error(code: int, message: str) -> web.Response:
        return web.json_response({"errorCode": str(code), "msg": message})

    @staticmethod
    def _ok(result: dict[str, Any]) -> web.Response:
        return web.json_response({"errorCode": "0", "msg": "ok", "result": result})

    async def _handle(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["path"]
        self.requests.append(path)
        form = dict(await request.post())
        if self.outage or path in self.failing:
            return self._error(9999, "system error")
        if path == "/v1/user/login/id/get":
            record = self.accounts.get(str(form.get("loginAccount")))
            if record is None:
                return self._error(3101, "user does not exist")
            return self._ok({"loginId": record.login_id})
        if path == "/v1/user/login":
            record = self.accounts.get(str(form.get("loginAccount")))
            if record is None:
                return self._error(3101, "user does not exist")
            pw_hash = hashlib.sha256(record.password.encode()).hexdigest()
            expected = hashlib.sha256(
                (record.login_id + pw_hash + NETHOME_PLUS_APP_KEY).encode()
            ).hexdigest()
            if form.get("password") != expected:
                return self._error(3101, "password error")
            session = secrets.token_hex(16)
            self.sessions[session] = record
            return self._ok(
                {"accessToken": secrets.token_hex(32), "userId": "1001", "sessionId": session}
            )
        record_or_none = self.sessions.get(str(form.get("sessionId")))
        if record_or_none is None:
            return self._error(3106, "invalid session")
        record = record_or_none
        if path == "/v1/appliance/user/list/get":
            return self._ok({"list": [appliance.cloud_record() for appliance in record.appliances]})
        if path == "/v1/iot/secure/getToken":
            wanted = str(form.get("udpid"))
            for appliance in record.appliances:
                for method in (1, 2):
                    if udp_id(appliance.appliance_id, method) != wanted:
                        continue
                    if appliance.appliance_id in record.refuse_token:
                        return self._error(9999, "system error")
                    return self._ok(
                        {
                            "tokenlist": [
                                {
                                    "udpId": wanted,
                                    "token": appliance.token.upper(),
                                    "key": appliance.key.upper(),
                                }
                            ]
                        }
                    )
            return self._error(3201, "appliance not registered")
        return self._error(1002, "none parameter is found")


def default_dehumidifier(**overrides: Any) -> Dehumidifier:
    """The development stack's dehumidifier ("Cellar", V3, with a pump)."""
    kwargs: dict[str, Any] = {
        "appliance_id": 150633093209019,
        "serial": "000000P0000000Q1B88C29C963BB0000",
        "name": "Cellar",
        "mac": "88:c2:9c:96:3b:b0",
        "model_number": "41377",
    }
    kwargs.update(overrides)
    return Dehumidifier(**kwargs)


def default_air_conditioner(**overrides: Any) -> AirConditioner:
    """The development stack's air conditioner ("Bedroom", V3)."""
    kwargs: dict[str, Any] = {
        "appliance_id": 150633093209020,
        "serial": "000000P0000000Q1AC8C29C963BC0000",
        "name": "Bedroom",
        "mac": "88:c2:9c:96:3b:c0",
        "model_number": "0",
    }
    kwargs.update(overrides)
    return AirConditioner(**kwargs)


def default_bb_air_conditioner(**overrides: Any) -> BBAirConditioner:
    """The development stack's air conditioner as model ``23096633`` (``BB``, fresh-air exhaust)."""
    kwargs: dict[str, Any] = {
        "appliance_id": 150633093209020,
        "serial": f"000000P00{BB_MODEL}C8C29C963BC0000",
        "name": "Bedroom",
        "mac": "88:c2:9c:96:3b:c0",
    }
    kwargs.update(overrides)
    return BBAirConditioner(**kwargs)


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m emulators.midea``."""
    parser = argparse.ArgumentParser(
        prog="python -m emulators.midea",
        description=(
            "Emulate a Midea/Comfee dehumidifier (0xA1) and air conditioner (0xAC) on the LAN "
            "(protocol V2/V3, UDP discovery, TCP) and the NetHome Plus cloud account holding them."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address of every appliance")
    parser.add_argument(
        "--ac-host", help="address of the air conditioner (default: --host, on its own TCP port)"
    )
    parser.add_argument("--tcp-port", type=int, default=0, help="dehumidifier TCP port (0: free)")
    parser.add_argument("--ac-tcp-port", type=int, default=0, help="AC TCP port (0: free)")
    parser.add_argument(
        "--discovery-port",
        type=int,
        action="append",
        help="UDP discovery port (repeatable; default: a free port; real appliances: 6445, 20086)",
    )
    parser.add_argument("--protocol", type=int, choices=(2, 3), default=3)
    parser.add_argument("--water-level-set", type=int, default=50, help="0 as on some models")
    parser.add_argument("--cloud-port", type=int, default=0, help="fake cloud HTTP port")
    parser.add_argument("--account", default="comfee@example.com")
    parser.add_argument("--password", default="switchboard")
    parser.add_argument(
        "--refuse-token",
        choices=("none", "dehumidifier", "air_conditioner", "all"),
        default="none",
        help="appliances whose token the cloud refuses with 9999",
    )
    parser.add_argument("--push-every", type=float, default=0, help="seconds between pushes")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


async def _run(args: argparse.Namespace) -> None:
    """Start everything, print how to reach it, wait for SIGINT/SIGTERM."""
    dehumidifier = default_dehumidifier(
        protocol=args.protocol, host=args.host, water_level_set=args.water_level_set
    )
    ac_host = args.ac_host or args.host
    air_conditioner = default_air_conditioner(protocol=args.protocol, host=ac_host)
    servers = [
        MideaLanServer(dehumidifier, args.host, args.tcp_port),
        MideaLanServer(air_conditioner, ac_host, args.ac_tcp_port),
    ]
    ports = args.discovery_port or [0]
    responders = {host: MideaDiscoveryResponder(host, ports) for host in {args.host, ac_host}}
    cloud = FakeNetHomeCloud(args.host, args.cloud_port)
    account = cloud.add_account(args.account, args.password, [dehumidifier, air_conditioner])
    if args.refuse_token in ("dehumidifier", "all"):
        account.refuse_token.add(dehumidifier.appliance_id)
    if args.refuse_token in ("air_conditioner", "all"):
        account.refuse_token.add(air_conditioner.appliance_id)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        for server in servers:
            await server.start()
            responders[server.host].register(server)
        for responder in responders.values():
            await responder.start()
        await cloud.start()
        for server in servers:
            appliance = server.appliance
            print(
                json.dumps(
                    {
                        "appliance": appliance.type_name,
                        "id": appliance.appliance_id,
                        "host": server.host,
                        "tcp_port": server.port,
                        "discovery_ports": responders[server.host].ports,
                        "protocol": appliance.protocol,
                        "token": appliance.token,
                        "key": appliance.key,
                    }
                ),
                flush=True,
            )
        print(json.dumps({"cloud": cloud.url, "account": args.account}), flush=True)
        while not stop.is_set():
            if args.push_every > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), args.push_every)
                for server in servers:
                    server.appliance.push()
            else:
                await stop.wait()
    finally:
        await cloud.stop()
        for responder in responders.values():
            await responder.stop()
        for server in servers:
            await server.stop()


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of ``python -m emulators.midea``."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(args))


if __name__ == "__main__":
    main()
