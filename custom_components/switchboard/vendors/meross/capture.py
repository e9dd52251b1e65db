"""Traffic capture of one Meross device (what meross-iot's ``meross_sniffer`` records), redacted.

``async_capture`` opens its own MQTT connection to the device's broker with the account's app
credentials (a fresh ``app:<id>`` client id, so the account's own connection is not taken
over) and records, for ``duration`` seconds, every message on the device's topics
(docs/protocols/meross.md §3): requests to the device on ``/appliance/<uuid>/subscribe`` (from
the Meross app or anyone else, not only Switchboard), its pushes on
``/appliance/<uuid>/publish`` and ``/app/<userid>/subscribe``, and its replies on any
``/app/<userid>-<app id>/subscribe``. Messages on the ``/app/...`` topics about other devices
are left out.

Everything recorded goes through ``redact``: the account key, token, user id, e-mail and any
password-like field never appear, and message signatures are replaced (a signature is an MD5
of the message id, the key and the timestamp, so it would let a key be brute-forced).

No Home Assistant imports.
"""

import asyncio
from collections.abc import Iterable, Mapping
import contextlib
from dataclasses import dataclass
import json
import re
import ssl
import time
from typing import Any

import aiomqtt

from .errors import MerossConnectionError
from .protocol import app_mqtt_password, md5_hex, message_sign, new_message_id

MIN_DURATION = 10
MAX_DURATION = 600
MAX_MESSAGES = 2000
"""Messages kept per capture (later ones are counted in ``dropped``)."""
MAX_RAW = 2000
"""Characters kept of a message that is not JSON."""

REDACTED = "**REDACTED**"
SIGNATURE = "**SIGNATURE**"

_SECRET_FIELD = re.compile(
    r"^(key|token|userid|user_id|email|e_mail|mail|password|passwd|pwd|pass|secret|"
    r"auth|authorization|credentials?)$|password|passwd|secret|token|credential",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class CaptureSecrets:
    """What must never appear in a capture or a dump: the account's identifiers and secrets."""

    user_id: str
    key: str
    token: str = ""
    email: str = ""

    def replacements(self) -> list[tuple[str, str]]:
        """(secret, placeholder) pairs, longest first (so no secret is left half-replaced)."""
        pairs = [
            (self.key, "<key>"),
            (self.token, "<token>"),
            (self.email, "<email>"),
            (app_mqtt_password(self.user_id, self.key) if self.user_id else "", "<password>"),
            (self.user_id, "<user id>"),
        ]
        return sorted(
            ((value, name) for value, name in pairs if len(value) >= 3),
            key=lambda pair: -len(pair[0]),
        )


def redact(value: Any, secrets: CaptureSecrets) -> Any:
    """Return ``value`` (JSON-like) with secrets removed.

    Fields named like a secret (``key``, ``token``, ``userId``, ``email``, ``password``...)
    become ``**REDACTED**``, ``sign`` fields ``**SIGNATURE**``, and every string has the
    account's key, token, e-mail, MQTT password and user id replaced by placeholders
    (``/app/<user id>/subscribe``). Numbers equal to a numeric user id are redacted too.
    """
    pairs = secrets.replacements()
    numeric_user = int(secrets.user_id) if secrets.user_id.isdigit() else None
    return _redact(value, pairs, numeric_user)


def _redact(value: Any, pairs: list[tuple[str, str]], numeric_user: int | None) -> Any:
    if isinstance(value, Mapping):
        result: dict[str, Any] = {}
        for name, item in value.items():
            text = str(name)
            if text.lower() == "sign":
                result[_redact_text(text, pairs)] = SIGNATURE
            elif _SECRET_FIELD.search(text):
                result[_redact_text(text, pairs)] = REDACTED
            else:
                result[_redact_text(text, pairs)] = _redact(item, pairs, numeric_user)
        return result
    if isinstance(value, (list, tuple)):
        return [_redact(item, pairs, numeric_user) for item in value]
    if isinstance(value, str):
        return _redact_text(value, pairs)
    if isinstance(value, int) and not isinstance(value, bool) and value == numeric_user:
        return REDACTED
    return value


def _redact_text(text: str, pairs: Iterable[tuple[str, str]]) -> str:
    for secret, placeholder in pairs:
        if secret in text:
            text = text.replace(secret, placeholder)
    return text


def _capture_topics(uuid: str) -> list[str]:
    """The device's two topics and every app topic, without overlapping filters.

    ``/app/+/subscribe`` covers ``/app/<userid>/subscribe`` (pushes) and
    ``/app/<userid>-<app id>/subscribe`` (replies); a broker may deliver a message once per
    matching subscription, so no second filter for the pushes.
    """
    return [f"/appliance/{uuid}/subscribe", f"/appliance/{uuid}/publish", "/app/+/subscribe"]


def _concerns(topic: str, message: Any, uuid: str) -> bool:
    """Whether a message seen on ``topic`` is to or from device ``uuid``."""
    if topic.startswith(f"/appliance/{uuid}/"):
        return True
    header = message.get("header") if isinstance(message, dict) else None
    if not isinstance(header, dict):
        return False
    return header.get("uuid") == uuid or str(header.get("from", "")).startswith(
        f"/appliance/{uuid}/"
    )


def record(
    topic: str, raw: bytes | str, *, uuid: str, secrets: CaptureSecrets, started: float
) -> dict[str, Any] | None:
    """Turn one MQTT message into a redacted capture entry (None: not about ``uuid``).

    Entry: ``{"t": seconds since the start, "topic", "direction": "to_device" |
    "from_device", "signature_ok": bool | None, "message": <envelope> | "raw": <text>}``.
    """
    text = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
    message: Any = None
    with contextlib.suppress(ValueError):
        message = json.loads(text)
    if topic.startswith("/app/") and not _concerns(topic, message, uuid):
        return None
    entry: dict[str, Any] = {
        "t": round(time.monotonic() - started, 3),
        "topic": topic,
        "direction": "to_device" if topic == f"/appliance/{uuid}/subscribe" else "from_device",
        "signature_ok": _signature_ok(message, secrets.key),
    }
    if isinstance(message, dict):
        entry["message"] = message
    else:
        entry["raw"] = text[:MAX_RAW]
    redacted: dict[str, Any] = redact(entry, secrets)
    return redacted


def _signature_ok(message: Any, key: str) -> bool | None:
    header = message.get("header") if isinstance(message, dict) else None
    if not isinstance(header, dict) or "sign" not in header:
        return None
    try:
        expected = message_sign(str(header["messageId"]), key, int(header["timestamp"]))
    except KeyError, TypeError, ValueError:
        return False
    return str(header["sign"]).lower() == expected


async def async_capture(
    *,
    host: str,
    port: int,
    uuid: str,
    secrets: CaptureSecrets,
    duration: float,
    ssl_context: ssl.SSLContext | None,
    connect_timeout: float = 10.0,
    ready: asyncio.Event | None = None,
) -> dict[str, Any]:
    """Record the traffic of device ``uuid`` on its broker for ``duration`` seconds.

    Returns ``{"broker": "host:port", "duration": s, "messages": [entries, see record()],
    "count": n, "dropped": n}``, redacted. ``ready`` is set once the subscriptions are in
    place. Raises MerossConnectionError when the broker cannot be reached or drops the
    connection before the end.
    """
    client = aiomqtt.Client(
        host,
        port,
        username=secrets.user_id,
        password=app_mqtt_password(secrets.user_id, secrets.key),
        identifier=f"app:{md5_hex(f'API{new_message_id()}')}",
        tls_context=ssl_context,
        keepalive=30,
        clean_session=True,
        timeout=connect_timeout,
    )
    messages: list[dict[str, Any]] = []
    dropped = 0
    started = time.monotonic()
    try:
        async with client:
            await client.subscribe([(topic, 0) for topic in _capture_topics(uuid)])
            if ready is not None:
                ready.set()
            started = time.monotonic()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(duration):
                    async for message in client.messages:
                        entry = record(
                            str(message.topic),
                            bytes(message.payload)
                            if isinstance(message.payload, (bytes, bytearray))
                            else str(message.payload),
                            uuid=uuid,
                            secrets=secrets,
                            started=started,
                        )
                        if entry is None:
                            continue
                        if len(messages) < MAX_MESSAGES:
                            messages.append(entry)
                        else:
                            dropped += 1
    except aiomqtt.MqttError as err:
        raise MerossConnectionError(f"capture on {host}:{port} failed: {err}") from err
    return {
        "broker": f"{host}:{port}",
        "duration": duration,
        "count": len(messages),
        "dropped": dropped,
        "messages": messages,
    }
