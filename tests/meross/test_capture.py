"""The traffic capture against real mosquitto: the Meross app's requests, redaction."""

import asyncio
import json
import ssl
import threading
from typing import Any

from paho.mqtt.client import CallbackAPIVersion, Client as PahoClient
import pytest

from custom_components.switchboard.vendors.meross.capture import (
    REDACTED,
    SIGNATURE,
    CaptureSecrets,
    async_capture,
    redact,
)
from custom_components.switchboard.vendors.meross.client import MerossCredentials
from custom_components.switchboard.vendors.meross.errors import MerossConnectionError
from custom_components.switchboard.vendors.meross.protocol import (
    app_mqtt_password,
    build_message,
    md5_hex,
)

from .conftest import EMAIL, PASSWORD, MerossEnv


class MerossApp:
    """An independent MQTT client (paho, in its own thread) acting as the Meross app."""

    def __init__(self, env: MerossEnv) -> None:
        """Connect to the broker the way the app does (app credentials, own app id)."""
        account = env.account
        self.user_id, self.key = account.user_id, account.key
        self.app_id = md5_hex("API-the-meross-app")
        self.reply_topic = f"/app/{self.user_id}-{self.app_id}/subscribe"
        self.replies: list[dict[str, Any]] = []
        self.got_reply = threading.Event()
        self._subscribed = threading.Event()
        client = PahoClient(CallbackAPIVersion.VERSION2, client_id=f"app:{self.app_id}")
        client.username_pw_set(self.user_id, app_mqtt_password(self.user_id, self.key))
        context = ssl.create_default_context(cafile=str(env.broker.ca_cert_path))
        client.tls_set_context(context)
        client.on_connect = self._on_connect
        client.on_subscribe = lambda *_args: self._subscribed.set()
        client.on_message = self._on_message
        self.client = client
        self._port = env.broker.tls_port

    def _on_connect(self, client: PahoClient, *_args: Any) -> None:
        client.subscribe(self.reply_topic, qos=1)

    def _on_message(self, _client: PahoClient, _userdata: Any, message: Any) -> None:
        self.replies.append(json.loads(message.payload))
        self.got_reply.set()

    def start(self) -> None:
        """Connect (blocking: call in a thread) and wait for the subscription."""
        self.client.connect("127.0.0.1", self._port, keepalive=30)
        self.client.loop_start()
        assert self._subscribed.wait(10)

    def stop(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()

    def request(self, uuid: str, method: str, namespace: str, payload: dict[str, Any]) -> str:
        """Publish a signed request as the app does; return its message id."""
        message = build_message(
            method=method,
            namespace=namespace,
            payload=payload,
            key=self.key,
            reply_topic=self.reply_topic,
            uuid=uuid,
        )
        self.client.publish(f"/appliance/{uuid}/subscribe", json.dumps(message), qos=0)
        message_id: str = message["header"]["messageId"]
        return message_id


def _secrets(env: MerossEnv, token: str = "") -> CaptureSecrets:
    return CaptureSecrets(
        user_id=env.account.user_id, key=env.account.key, token=token, email=EMAIL
    )


async def test_capture_records_the_apps_requests_redacted(
    meross_env: MerossEnv, credentials: MerossCredentials
) -> None:
    env = meross_env
    app = MerossApp(env)
    await asyncio.to_thread(app.start)
    ready = asyncio.Event()
    capture_task = asyncio.create_task(
        async_capture(
            host="127.0.0.1",
            port=env.broker.tls_port,
            uuid=env.plug.uuid,
            secrets=_secrets(env, credentials.token),
            duration=3,
            ssl_context=env.broker.client_ssl_context(),
            ready=ready,
        )
    )
    try:
        await asyncio.wait_for(ready.wait(), 10)
        message_id = app.request(
            env.plug.uuid,
            "SET",
            "Appliance.Control.ToggleX",
            {"togglex": {"channel": 0, "onoff": 1}},
        )
        # A request to another device is not part of this device's capture.
        app.request(env.strip.uuid, "GET", "Appliance.System.All", {})
        assert await asyncio.to_thread(app.got_reply.wait, 10)
        capture = await capture_task
    finally:
        await asyncio.to_thread(app.stop)
    entries = capture["messages"]
    assert capture["count"] == len(entries)
    by_method = {(e["direction"], e["message"]["header"]["method"]): e for e in entries}
    request = by_method[("to_device", "SET")]
    assert request["message"]["header"]["messageId"] == message_id
    assert request["message"]["payload"] == {"togglex": {"channel": 0, "onoff": 1}}
    assert request["signature_ok"] is True
    assert request["message"]["header"]["sign"] == SIGNATURE
    # The app's reply topic is recorded with the user id replaced.
    assert request["message"]["header"]["from"] == f"/app/<user id>-{app.app_id}/subscribe"
    reply = by_method[("from_device", "SETACK")]
    assert reply["topic"] == f"/app/<user id>-{app.app_id}/subscribe"
    push = by_method[("from_device", "PUSH")]
    assert push["message"]["payload"]["togglex"][0]["onoff"] == 1
    assert all(env.strip.uuid not in json.dumps(e) for e in entries)
    # No secret reaches the capture, in any form.
    text = json.dumps(capture)
    secrets = (
        env.account.key,
        env.account.user_id,
        credentials.token,
        EMAIL,
        PASSWORD,
        app_mqtt_password(env.account.user_id, env.account.key),
    )
    for secret in secrets:
        assert secret not in text


def test_redact_fields_and_values() -> None:
    secrets = CaptureSecrets(user_id="1234567", key="k" * 32, token="t" * 64, email="a@b.example")
    data = {
        "header": {"sign": "abc", "from": "/app/1234567-x/subscribe", "userId": 1234567},
        "payload": {
            "key": {"key": "k" * 32, "userId": "1234567", "gateway": {"host": "h"}},
            "config": {"wifiPassword": "hunter2", "apiToken": "x", "note": "by a@b.example"},
            "list": [1234567, 5, "x-" + "t" * 64],
            "online": True,
        },
    }
    assert redact(data, secrets) == {
        "header": {"sign": SIGNATURE, "from": "/app/<user id>-x/subscribe", "userId": REDACTED},
        "payload": {
            "key": REDACTED,
            "config": {"wifiPassword": REDACTED, "apiToken": REDACTED, "note": "by <email>"},
            "list": [REDACTED, 5, "x-<token>"],
            "online": True,
        },
    }


async def test_capture_on_a_broker_that_refuses(meross_env: MerossEnv) -> None:
    secrets = CaptureSecrets(user_id=meross_env.account.user_id, key="wrong")
    with pytest.raises(MerossConnectionError):
        await async_capture(
            host="127.0.0.1",
            port=meross_env.broker.tls_port,
            uuid=meross_env.plug.uuid,
            secrets=secrets,
            duration=1,
            ssl_context=meross_env.broker.client_ssl_context(),
        )
