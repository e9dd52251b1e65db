"""The Meross message format: cloud API request signing and the MQTT/HTTP message envelope.

See docs/protocols/meross.md: cloud requests are signed with a published salt; device
messages carry ``sign = md5(messageId + key + timestamp)``.
"""

import base64
from dataclasses import dataclass
from enum import StrEnum
import hashlib
import json
import secrets
import string
import time
from typing import Any

CLOUD_SECRET = "23x17ahWarFH6w29"  # noqa: S105 (a public salt, not a secret)
"""Salt of the cloud API request signature (published in meross-iot and meross_lan)."""

NONCE_ALPHABET = string.ascii_uppercase + string.digits


class Method(StrEnum):
    """Message methods: requests, replies and unsolicited pushes."""

    GET = "GET"
    SET = "SET"
    GETACK = "GETACK"
    SETACK = "SETACK"
    ERROR = "ERROR"
    PUSH = "PUSH"


class Namespace(StrEnum):
    """Namespaces this client knows by name (any string is accepted on the wire)."""

    SYSTEM_ALL = "Appliance.System.All"
    SYSTEM_ABILITY = "Appliance.System.Ability"
    SYSTEM_ONLINE = "Appliance.System.Online"
    SYSTEM_RUNTIME = "Appliance.System.Runtime"
    CONTROL_MULTIPLE = "Appliance.Control.Multiple"
    CONTROL_TOGGLEX = "Appliance.Control.ToggleX"
    CONTROL_TOGGLE = "Appliance.Control.Toggle"
    CONTROL_ELECTRICITY = "Appliance.Control.Electricity"
    CONTROL_CONSUMPTIONX = "Appliance.Control.ConsumptionX"
    THERMOSTAT_MODE = "Appliance.Control.Thermostat.Mode"
    HUB_SUBDEVICE_LIST = "Appliance.Hub.SubdeviceList"
    HUB_MTS100_ALL = "Appliance.Hub.Mts100.All"
    HUB_MTS100_MODE = "Appliance.Hub.Mts100.Mode"
    HUB_MTS100_TEMPERATURE = "Appliance.Hub.Mts100.Temperature"
    HUB_TOGGLEX = "Appliance.Hub.ToggleX"
    HUB_ONLINE = "Appliance.Hub.Online"
    HUB_BATTERY = "Appliance.Hub.Battery"


def md5_hex(text: str) -> str:
    """Return the lowercase hex MD5 of ``text`` (Meross uses MD5 for every signature)."""
    return hashlib.md5(text.encode()).hexdigest()


def cloud_request_body(params: dict[str, Any]) -> dict[str, Any]:
    """Return the signed JSON body of a cloud API request."""
    params_b64 = base64.b64encode(json.dumps(params).encode()).decode()
    timestamp = int(time.time() * 1000)
    nonce = "".join(secrets.choice(NONCE_ALPHABET) for _ in range(16))
    sign = md5_hex(f"{CLOUD_SECRET}{timestamp}{nonce}{params_b64}")
    return {"params": params_b64, "sign": sign, "timestamp": timestamp, "nonce": nonce}


def app_mqtt_password(user_id: str, key: str) -> str:
    """Return the MQTT password of an app client: ``md5(userid + key)``."""
    return md5_hex(f"{user_id}{key}")


def new_message_id() -> str:
    """Return a fresh 32-hex message id."""
    return secrets.token_hex(16)


def message_sign(message_id: str, key: str, timestamp: int) -> str:
    """Return the signature of a device message."""
    return md5_hex(f"{message_id}{key}{timestamp}")


def build_message(
    *,
    method: str,
    namespace: str,
    payload: dict[str, Any],
    key: str,
    reply_topic: str,
    uuid: str,
    message_id: str | None = None,
) -> dict[str, Any]:
    """Return a signed request envelope addressed to device ``uuid``."""
    message_id = message_id or new_message_id()
    timestamp = int(time.time())
    return {
        "header": {
            "from": reply_topic,
            "messageId": message_id,
            "method": method,
            "namespace": namespace,
            "payloadVersion": 1,
            "sign": message_sign(message_id, key, timestamp),
            "timestamp": timestamp,
            "triggerSrc": "Android",
            "uuid": uuid,
        },
        "payload": payload,
    }


@dataclass(frozen=True, slots=True)
class Message:
    """A received message whose envelope has been checked."""

    message_id: str
    method: str
    namespace: str
    source: str
    uuid: str | None
    payload: dict[str, Any]


class InvalidMessageError(ValueError):
    """The bytes are not a Meross message, or its signature does not match."""


def parse_message(raw: bytes | str, key: str) -> Message:
    """Decode and verify a message; raise InvalidMessageError for junk or a bad signature.

    Nothing else escapes, whatever ``raw`` holds: deep nesting, huge or non-finite numbers,
    lone surrogates and ill-typed fields all become InvalidMessageError.
    """
    try:
        data = json.loads(raw)
        header = data["header"]
        message_id = str(header["messageId"])
        timestamp = int(header["timestamp"])
        sign = str(header["sign"])
        method = str(header["method"])
        namespace = str(header["namespace"])
        expected = message_sign(message_id, key, timestamp)
        valid = secrets.compare_digest(sign.lower().encode(), expected.encode())
    except (ValueError, TypeError, KeyError, OverflowError, RecursionError) as err:
        # UnicodeError is a ValueError: a lone surrogate cannot be signed.
        raise InvalidMessageError(f"malformed message: {type(err).__name__}") from err
    if not valid:
        raise InvalidMessageError("signature mismatch")
    payload = data.get("payload")
    source = str(header.get("from", ""))
    # Like meross-iot, trust the topic in "from" (/appliance/<uuid>/publish) over header.uuid.
    parts = source.split("/")
    uuid = parts[2] if len(parts) > 2 and parts[1] == "appliance" else header.get("uuid")
    return Message(
        message_id=message_id,
        method=method,
        namespace=namespace,
        source=source,
        uuid=str(uuid) if uuid else None,
        payload=payload if isinstance(payload, dict) else {},
    )
