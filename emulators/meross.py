"""Emulated Meross cloud (HTTP API) and Meross devices (MQTT clients of a real mosquitto broker).

Written from docs/protocols/meross.md, independently of our client:

* ``MerossCloudEmulator`` serves ``/v1/Auth/signIn``, ``/v1/log/user``, ``/v1/Device/devList``,
  ``/v1/Hub/getSubDevices`` and ``/v1/Profile/logout`` on 127.0.0.1 with aiohttp. Request
  signatures are checked with the published salt (apiStatus 1023 "Sign check failed" otherwise);
  passwords arrive as md5 hex. Error codes are the cloud's: 1002 unknown account, 1004 wrong
  password, 1033 MFA code required, 1032 wrong MFA code, 1019 unknown token, 1200 expired token,
  1022 revoked token, 1028 "Requested too frequently" for the rate limit (the code meross-iot's
  ``ErrorCodes.REQUESTED_TOO_FREQUENTLY`` names; the cloud's exact choice under load is not
  documented), 1030 wrong region (with the right ``domain`` in ``data``).
  ``domain`` in the sign-in reply is the emulator's own URL; ``mqttDomain`` the broker's
  ``host:port``.
* Devices (``MerossPlug`` mss310, ``MerossStrip`` mss425, ``MerossThermostat`` mts200,
  ``MerossHub`` msh300 with ``MerossValve`` mts100v3 sub-devices) connect to the broker over TLS
  with the *device* credentials (client id ``fmware:<uuid>_<random>``, username = MAC, password
  ``<userid>_md5(mac + key)``). The broker checks the *app* credentials (user id,
  ``md5(userid + key)``) on its TLS listener like the real one; device credentials are sent but
  not checked, because a mosquitto password file cannot hold MAC user names (it splits lines at
  the first ``:``): devices use the broker's ``anonymous_tls_port`` listener. They subscribe
  ``/appliance/<uuid>/subscribe``, verify each request's signature (ERROR 5001 "sign error" on
  mismatch), answer GET/SET with GETACK/SETACK on the request's ``from`` topic, and publish PUSH
  messages to ``/app/<userid>/subscribe`` (a plain broker has no cloud relay) and
  ``/appliance/<uuid>/publish``, always with ``from: /appliance/<uuid>/publish``. On every
  connection a device PUSHes ``Appliance.System.Online`` status 1, as the cloud tells the
  account's apps when a device comes online. ``connect_delay`` lets a device connect late
  (still booting), so requests sent before it subscribed are lost, as on the real broker.

Devices are asyncio tasks (aiomqtt) in the caller's loop; ``stop()`` ends them, so tests leave no
threads. The broker is a separate process (emulators.mosquitto), so meross-iot's blocking connect
cannot deadlock it.

Run ``python -m emulators.meross`` for a broker, a cloud, a plug, a strip and a thermostat.
"""

import argparse
import asyncio
import base64
import binascii
from collections.abc import AsyncIterator, Sequence
import contextlib
from dataclasses import dataclass, field
import datetime
import hashlib
import json
import logging
import secrets
import ssl
import time
from types import TracebackType
from typing import Any, ClassVar, Self, override

from aiohttp import web
import aiomqtt

from emulators.mosquitto import HOST, Mosquitto

_LOGGER = logging.getLogger(__name__)

CLOUD_SALT = "23x17ahWarFH6w29"

API_OK = 0
API_ACCOUNT_MISSING = 1002
API_WRONG_PASSWORD = 1004
API_TOKEN_INVALID = 1019
API_TOKEN_ERROR = 1022
API_SIGN_CHECK_FAILED = 1023
API_TOO_FREQUENT = 1028
API_WRONG_REGION = 1030
API_MFA_WRONG = 1032
API_MFA_REQUIRED = 1033
API_TOKEN_EXPIRED = 1200

API_INFO = {
    API_OK: "Success",
    API_ACCOUNT_MISSING: "Account does not exist",
    API_WRONG_PASSWORD: "Wrong email or password",
    API_TOKEN_INVALID: "Token invalid",
    API_TOKEN_ERROR: "Token error",
    API_SIGN_CHECK_FAILED: "Sign check failed",
    API_TOO_FREQUENT: "Requested too frequently",
    API_WRONG_REGION: "Wrong login region",
    API_MFA_WRONG: "Wrong MFA code",
    API_MFA_REQUIRED: "MFA code required",
    API_TOKEN_EXPIRED: "Token has expired",
}

DEVICE_SIGN_ERROR = 5001


def md5_hex(text: str) -> str:
    """Lowercase hex MD5 (every Meross signature)."""
    return hashlib.md5(text.encode()).hexdigest()


def device_mqtt_password(user_id: str, mac: str, key: str) -> str:
    """Broker password of a device: ``<userid>_md5(mac + key)``."""
    return f"{user_id}_{md5_hex(mac + key)}"


def app_mqtt_password(user_id: str, key: str) -> str:
    """Broker password of an app client: ``md5(userid + key)``."""
    return md5_hex(f"{user_id}{key}")


def _random_mac() -> str:
    return "48:e1:e9:" + ":".join(f"{b:02x}" for b in secrets.token_bytes(3))


class DeviceErrorReply(Exception):
    """Answer the current request with an ERROR message."""

    def __init__(self, code: int, detail: str) -> None:
        """Error ``code`` and ``detail`` of the ERROR payload."""
        super().__init__(detail)
        self.code = code
        self.detail = detail


# --------------------------------------------------------------------------------------------
# Devices


class MerossEmulatedDevice:
    """Base of an emulated device: envelope, signature, MQTT session, System namespaces."""

    device_type: ClassVar[str] = "unknown"
    sub_type: ClassVar[str] = "eu"
    hardware_version: ClassVar[str] = "1.0.0"
    firmware_version: ClassVar[str] = "1.0.0"
    icon_id: ClassVar[str] = "device001"

    def __init__(
        self,
        *,
        name: str,
        uuid: str | None = None,
        mac: str | None = None,
        channel_names: list[str] | None = None,
    ) -> None:
        """Create a device (online); add it to an account to give it a key and a broker."""
        self.uuid = uuid or secrets.token_hex(16)
        self.mac = (mac or _random_mac()).lower()
        self.name = name
        self.channel_names = channel_names or []
        self.online = True
        self.user_id = ""
        self.key = ""
        self.broker_host = HOST
        self.broker_port = 0
        self.domain = HOST
        """``domain``/``reservedDomain`` of the device list: the app-side ``host:port`` of the
        broker the device is on (set by the cloud emulator)."""
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self.pushes: list[tuple[str, dict[str, Any]]] = []
        self.bad_sign_requests = 0
        self.sign_replies_with_wrong_key = False
        self.reply_delay = 0.0
        self.garbage_replies = False
        """Reply to every request with bytes that are not a Meross message (a fault switch)."""
        self.swallow_set_acks = 0
        """Apply the next ``swallow_set_acks`` SETs but publish neither their SETACK nor the
        pushes that follow them (acknowledgements lost on the way: the device changed, the
        app never hears it). Counts down; a poll batched in ``Control.Multiple`` is a SET too."""
        self.reconnect_delay = 0.1
        self.connect_delay = 0.0
        """Seconds between ``start()`` and the first connection (a device still booting)."""
        self._client: aiomqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self.connect_count = 0
        self._handlers: dict[tuple[str, str], Any] = {
            ("GET", "Appliance.System.All"): self._get_system_all,
            ("GET", "Appliance.System.Ability"): self._get_ability,
            ("GET", "Appliance.System.Online"): self._get_online,
            ("GET", "Appliance.System.Runtime"): lambda _p: {"runtime": {"signal": 76}},
            ("SET", "Appliance.Control.Multiple"): self._set_multiple,
        }

    # -- description ---------------------------------------------------------------------

    def abilities(self) -> dict[str, dict[str, Any]]:
        """Namespaces the device advertises in Appliance.System.Ability."""
        return {
            "Appliance.Config.Key": {},
            "Appliance.System.All": {},
            "Appliance.System.Ability": {},
            "Appliance.System.Online": {},
            "Appliance.System.Runtime": {},
            "Appliance.Control.Multiple": {"maxCmdNum": 5},
        }

    def digest(self) -> dict[str, Any]:
        """Return the ``digest`` part of Appliance.System.All."""
        return {}

    def channels(self) -> list[dict[str, Any]]:
        """Return the ``channels`` of the cloud's device list."""
        return [{}]

    def dev_list_item(self) -> dict[str, Any]:
        """Return the device as an item of ``/v1/Device/devList``."""
        domain = self.domain
        return {
            "uuid": self.uuid,
            "onlineStatus": 1 if self.online else 2,
            "devName": self.name,
            "devIconId": self.icon_id,
            "bindTime": 1677165116,
            "deviceType": self.device_type,
            "subType": self.sub_type,
            "channels": self.channels(),
            "region": "eu",
            "fmwareVersion": self.firmware_version,
            "hdwareVersion": self.hardware_version,
            "userDevIcon": "",
            "iconType": 1,
            "domain": domain,
            "reservedDomain": domain,
            "hardwareCapabilities": [],
        }

    def system_all(self) -> dict[str, Any]:
        """Payload of GETACK Appliance.System.All."""
        now = int(time.time())
        return {
            "all": {
                "system": {
                    "hardware": {
                        "type": self.device_type,
                        "subType": self.sub_type,
                        "version": self.hardware_version,
                        "chipType": "mt7682",
                        "uuid": self.uuid,
                        "macAddress": self.mac,
                    },
                    "firmware": {
                        "version": self.firmware_version,
                        "compileTime": "2025/03/10-10:49:56",
                        "encrypt": 0,
                        "wifiMac": "b0:95:75:00:00:01",
                        "innerIp": HOST,
                        "server": self.broker_host,
                        "port": self.broker_port,
                        "userId": int(self.user_id) if self.user_id.isdigit() else 0,
                    },
                    "time": {"timestamp": now, "timezone": "Europe/Berlin", "timeRule": []},
                    "online": {"status": 1 if self.online else 2, "bindId": "emulator", "who": 1},
                },
                "digest": self.digest(),
            }
        }

    def _get_system_all(self, _payload: dict[str, Any]) -> dict[str, Any]:
        return self.system_all()

    def _get_ability(self, _payload: dict[str, Any]) -> dict[str, Any]:
        return {"payloadVersion": 1, "ability": self.abilities()}

    def _get_online(self, _payload: dict[str, Any]) -> dict[str, Any]:
        return {"online": {"status": 1 if self.online else 2}}

    def _set_multiple(self, payload: dict[str, Any]) -> dict[str, Any]:
        replies = []
        for item in payload.get("multiple", []):
            header = item.get("header", {})
            method, namespace = header.get("method", ""), header.get("namespace", "")
            reply_method, reply = self.dispatch(method, namespace, item.get("payload") or {})
            replies.append(
                {
                    "header": {**header, "method": reply_method, "from": self.publish_topic},
                    "payload": reply,
                }
            )
        return {"multiple": replies}

    def dispatch(
        self, method: str, namespace: str, payload: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        """Handle a request: return (reply method, reply payload)."""
        handler = self._handlers.get((method, namespace))
        if handler is None:
            if namespace not in self.abilities():
                return "ERROR", {"error": {"code": -1, "detail": f"{namespace} not supported"}}
            return "ERROR", {"error": {"code": 5000, "detail": f"{method} not supported"}}
        try:
            reply = handler(payload)
        except DeviceErrorReply as err:
            return "ERROR", {"error": {"code": err.code, "detail": err.detail}}
        except (KeyError, TypeError, ValueError, IndexError) as err:
            return "ERROR", {"error": {"code": 5000, "detail": f"bad payload: {err!r}"}}
        return f"{method}ACK", reply

    # -- MQTT --------------------------------------------------------------------------------

    @property
    def subscribe_topic(self) -> str:
        """Topic the device listens on."""
        return f"/appliance/{self.uuid}/subscribe"

    @property
    def publish_topic(self) -> str:
        """Topic the device publishes on."""
        return f"/appliance/{self.uuid}/publish"

    @property
    def mqtt_username(self) -> str:
        """Broker username (the MAC)."""
        return self.mac

    @property
    def mqtt_password(self) -> str:
        """Broker password."""
        return device_mqtt_password(self.user_id, self.mac, self.key)

    @property
    def connected(self) -> bool:
        """Whether the device's MQTT session is up."""
        return self._connected.is_set()

    def _envelope(
        self, method: str, namespace: str, payload: dict[str, Any], message_id: str
    ) -> dict[str, Any]:
        now = time.time()
        timestamp = int(now)
        key = "not-the-key" if self.sign_replies_with_wrong_key else self.key
        return {
            "header": {
                "from": self.publish_topic,
                "messageId": message_id,
                "method": method,
                "namespace": namespace,
                "payloadVersion": 1,
                "sign": md5_hex(f"{message_id}{key}{timestamp}"),
                "timestamp": timestamp,
                "timestampMs": int((now - timestamp) * 1000),
                "triggerSrc": "DevicePush" if method == "PUSH" else "CloudControl",
                "uuid": self.uuid,
            },
            "payload": payload,
        }

    async def start(self, host: str, port: int) -> None:
        """Connect to the broker (TLS without certificate check, like real devices)."""
        self.broker_host, self.broker_port = host, port
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"meross-device-{self.uuid}")

    async def wait_connected(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until the device is connected to the broker."""
        async with asyncio.timeout(timeout):
            await self._connected.wait()

    async def stop(self) -> None:
        """Disconnect and stop reconnecting."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        if self.connect_delay:
            await asyncio.sleep(self.connect_delay)
        while True:
            client = aiomqtt.Client(
                self.broker_host,
                self.broker_port,
                username=self.mqtt_username,
                password=self.mqtt_password,
                identifier=f"fmware:{self.uuid}_{secrets.token_hex(8)}",
                tls_context=context,
                keepalive=30,
                clean_session=True,
                timeout=5,
            )
            try:
                await _async_connect(client)
                async with _connected(client):
                    await client.subscribe(self.subscribe_topic, qos=1)
                    self._client = client
                    self.connect_count += 1
                    self._connected.set()
                    if self.online:
                        # The cloud tells the account's apps when a device comes online.
                        await self.push("Appliance.System.Online", {"online": {"status": 1}})
                    async for message in client.messages:
                        await self._on_message(client, message.payload)
            except aiomqtt.MqttError as err:
                _LOGGER.debug("Emulated device %s: MQTT %s", self.uuid, err)
            finally:
                self._client = None
                self._connected.clear()
            await asyncio.sleep(self.reconnect_delay)

    async def _on_message(self, client: aiomqtt.Client, raw: Any) -> None:
        try:
            message = json.loads(raw)
            header = message["header"]
            message_id = str(header["messageId"])
            method = str(header["method"])
            namespace = str(header["namespace"])
            reply_to = str(header["from"])
            sign_ok = str(header.get("sign", "")).lower() == md5_hex(
                f"{message_id}{self.key}{header.get('timestamp')}"
            )
        except ValueError, TypeError, KeyError:
            return
        if method not in ("GET", "SET") or not self.online:
            return
        payload = message.get("payload") or {}
        if not sign_ok:
            self.bad_sign_requests += 1
            reply_method = "ERROR"
            reply: dict[str, Any] = {"error": {"code": DEVICE_SIGN_ERROR, "detail": "sign error"}}
        else:
            self.requests.append((method, namespace, payload))
            reply_method, reply = self.dispatch(method, namespace, payload)
        if self.swallow_set_acks > 0 and reply_method == "SETACK":
            self.swallow_set_acks -= 1
            return
        if self.reply_delay:
            await asyncio.sleep(self.reply_delay)
        if self.garbage_replies:
            await client.publish(reply_to, b'{"header": garbage \xff', qos=0)
            return
        envelope = self._envelope(reply_method, namespace, reply, message_id)
        await client.publish(reply_to, json.dumps(envelope), qos=0)
        if sign_ok and reply_method == "SETACK":
            await self.after_set(namespace, payload)

    async def after_set(self, namespace: str, payload: dict[str, Any]) -> None:
        """Publish the pushes a real device sends after a SET (overridden per model)."""

    async def push(self, namespace: str, payload: dict[str, Any]) -> None:
        """Publish a PUSH to the account's app topic and the device's publish topic."""
        self.pushes.append((namespace, payload))
        client = self._client
        if client is None or not self.user_id:
            return
        envelope = json.dumps(self._envelope("PUSH", namespace, payload, secrets.token_hex(16)))
        with contextlib.suppress(aiomqtt.MqttError):
            await client.publish(f"/app/{self.user_id}/subscribe", envelope, qos=0)
            await client.publish(self.publish_topic, envelope, qos=0)

    async def publish_raw(self, topic: str, payload: bytes) -> None:
        """Publish ``payload`` as is on ``topic`` (anything a client on the broker could send)."""
        client = self._client
        if client is None:
            raise RuntimeError("the device is not connected to the broker")
        await client.publish(topic, payload, qos=0)

    async def set_online(self, online: bool) -> None:
        """Go offline (stop answering) or come back; PUSH System.Online like the cloud."""
        if online:
            self.online = True
            await self.push("Appliance.System.Online", {"online": {"status": 1}})
        else:
            await self.push("Appliance.System.Online", {"online": {"status": 2}})
            self.online = False


async def _async_connect(client: aiomqtt.Client) -> None:
    """Connect, shielded: aiomqtt leaves a half-open socket behind when cancelled mid-connect."""
    attempt = asyncio.ensure_future(client.__aenter__())
    try:
        await asyncio.shield(attempt)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await attempt
            await client.__aexit__(None, None, None)
        raise


@contextlib.asynccontextmanager
async def _connected(client: aiomqtt.Client) -> AsyncIterator[aiomqtt.Client]:
    """Disconnect a client connected with ``_async_connect`` when the block ends."""
    try:
        yield client
    finally:
        await client.__aexit__(None, None, None)


def _lm_time() -> int:
    return int(time.time())


class _ToggleXMixin(MerossEmulatedDevice):
    """Appliance.Control.ToggleX over ``channel_count`` channels."""

    channel_count: ClassVar[int] = 1

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.onoff: dict[int, int] = dict.fromkeys(range(self.channel_count), 0)
        self.lm_time: dict[int, int] = dict.fromkeys(range(self.channel_count), _lm_time())
        self._handlers[("SET", "Appliance.Control.ToggleX")] = self._set_togglex
        self._handlers[("GET", "Appliance.Control.ToggleX")] = self._get_togglex
        self._changed: list[int] = []

    @override
    def abilities(self) -> dict[str, dict[str, Any]]:
        return {**super().abilities(), "Appliance.Control.ToggleX": {}}

    @override
    def digest(self) -> dict[str, Any]:
        return {**super().digest(), "togglex": self.togglex_items(), "triggerx": [], "timerx": []}

    def togglex_items(self, channels: list[int] | None = None) -> list[dict[str, Any]]:
        """ToggleX digest items."""
        return [
            {"channel": ch, "onoff": self.onoff[ch], "lmTime": self.lm_time[ch]}
            for ch in (channels if channels is not None else sorted(self.onoff))
        ]

    def _apply_toggle(self, channel: int, onoff: int) -> list[int]:
        if channel not in self.onoff:
            raise DeviceErrorReply(5000, f"no channel {channel}")
        self.onoff[channel] = 1 if onoff else 0
        self.lm_time[channel] = _lm_time()
        return [channel]

    def _set_togglex(self, payload: dict[str, Any]) -> dict[str, Any]:
        items = payload["togglex"]
        changed: list[int] = []
        for item in items if isinstance(items, list) else [items]:
            changed += self._apply_toggle(int(item.get("channel", 0)), int(item["onoff"]))
        self._changed = sorted(set(changed))
        return {}

    def _get_togglex(self, payload: dict[str, Any]) -> dict[str, Any]:
        channel = int(payload.get("channel", 0))
        return {"channel": channel, "togglex": self.togglex_items([channel])[0]}

    @override
    async def after_set(self, namespace: str, payload: dict[str, Any]) -> None:
        if namespace == "Appliance.Control.ToggleX" and self._changed:
            await self.push(
                "Appliance.Control.ToggleX", {"togglex": self.togglex_items(self._changed)}
            )
        await super().after_set(namespace, payload)

    async def push_toggle(self, onoff: bool, channel: int = 0) -> None:
        """Switch a channel by hand (button press) and PUSH the change."""
        changed = self._apply_toggle(channel, int(onoff))
        await self.push("Appliance.Control.ToggleX", {"togglex": self.togglex_items(changed)})


class MerossPlug(_ToggleXMixin):
    """mss310 smart plug with power metering."""

    device_type = "mss310"
    hardware_version = "2.0.0"
    firmware_version = "2.1.17"
    icon_id = "device045_it"

    def __init__(self, *, name: str = "Plug", **kwargs: Any) -> None:
        """Plug, off, drawing nothing."""
        super().__init__(name=name, **kwargs)
        self.power_mw = 0
        self.voltage_dv = 2301
        self.current_ma = 0
        today = datetime.date.today()
        self.consumption_wh: dict[str, int] = {
            (today - datetime.timedelta(days=n)).isoformat(): 100 + 10 * n for n in range(1, 4)
        }
        self.consumption_wh[today.isoformat()] = 50
        self._handlers[("GET", "Appliance.Control.Electricity")] = self._get_electricity
        self._handlers[("GET", "Appliance.Control.ConsumptionX")] = self._get_consumptionx

    @override
    def abilities(self) -> dict[str, dict[str, Any]]:
        return {
            **super().abilities(),
            "Appliance.Control.Electricity": {},
            "Appliance.Control.ConsumptionX": {},
        }

    def electricity(self) -> dict[str, Any]:
        """Electricity payload (mW, decivolts, mA)."""
        return {
            "electricity": {
                "channel": 0,
                "current": self.current_ma,
                "voltage": self.voltage_dv,
                "power": self.power_mw,
                "config": {"voltageRatio": 188, "electricityRatio": 100},
            }
        }

    def _get_electricity(self, _payload: dict[str, Any]) -> dict[str, Any]:
        return self.electricity()

    def _get_consumptionx(self, _payload: dict[str, Any]) -> dict[str, Any]:
        items = []
        for date, value in self.consumption_wh.items():
            day = datetime.datetime.fromisoformat(date).replace(tzinfo=datetime.UTC)
            items.append({"date": date, "time": int(day.timestamp()), "value": value})
        return {"consumptionx": items}

    async def set_power(
        self,
        power_w: float,
        voltage_v: float = 230.1,
        current_a: float | None = None,
        *,
        push: bool = True,
    ) -> None:
        """Set the readings (current derived from power/voltage unless given); PUSH them."""
        self.power_mw = round(power_w * 1000)
        self.voltage_dv = round(voltage_v * 10)
        if current_a is None:
            current_a = power_w / voltage_v if voltage_v else 0.0
        self.current_ma = round(current_a * 1000)
        if push:
            await self.push("Appliance.Control.Electricity", self.electricity())

    def add_energy(self, wh: int, date: str | None = None) -> None:
        """Add ``wh`` to a day's consumption (today by default)."""
        date = date or datetime.date.today().isoformat()
        self.consumption_wh[date] = self.consumption_wh.get(date, 0) + wh


class MerossStrip(_ToggleXMixin):
    """mss425 power strip: channel 0 is the master, 1-3 outlets, 4 the USB ports."""

    device_type = "mss425f"
    hardware_version = "2.0.0"
    firmware_version = "2.1.4"
    icon_id = "device024"
    channel_count = 5

    def __init__(self, *, name: str = "Strip", **kwargs: Any) -> None:
        """Strip with every outlet off."""
        super().__init__(name=name, **kwargs)

    @override
    def channels(self) -> list[dict[str, Any]]:
        names = self.channel_names or ["Outlet 1", "Outlet 2", "Outlet 3", "USB"]
        return [{}] + [
            {"type": "USB" if name == "USB" else "Switch", "devName": name} for name in names
        ]

    @override
    def _apply_toggle(self, channel: int, onoff: int) -> list[int]:
        if channel == 0:
            for ch in self.onoff:
                super()._apply_toggle(ch, onoff)
            return sorted(self.onoff)
        changed = super()._apply_toggle(channel, onoff)
        master = 1 if any(self.onoff[ch] for ch in self.onoff if ch) else 0
        if master != self.onoff[0]:
            changed += super()._apply_toggle(0, master)
        return changed


THERMOSTAT_MODE_HEAT = 0
THERMOSTAT_MODE_COOL = 1
THERMOSTAT_MODE_ECO = 2
THERMOSTAT_MODE_AUTO = 3
THERMOSTAT_MODE_MANUAL = 4
_THERMOSTAT_TARGET_KEY = {
    THERMOSTAT_MODE_HEAT: "heatTemp",
    THERMOSTAT_MODE_COOL: "coolTemp",
    THERMOSTAT_MODE_ECO: "ecoTemp",
    THERMOSTAT_MODE_MANUAL: "manualTemp",
}


class MerossThermostat(MerossEmulatedDevice):
    """MTS200 wall thermostat (Appliance.Control.Thermostat.Mode, temperatures in tenths of °C)."""

    device_type = "mts200"
    hardware_version = "9.0.0"
    firmware_version = "9.3.22"
    icon_id = "device051"

    def __init__(self, *, name: str = "Thermostat", **kwargs: Any) -> None:
        """Thermostat on, manual mode, 18.8 °C set, 17.7 °C measured."""
        super().__init__(name=name, **kwargs)
        self.mode: dict[str, Any] = {
            "channel": 0,
            "onoff": 1,
            "mode": THERMOSTAT_MODE_MANUAL,
            "state": 0,
            "currentTemp": 177,
            "heatTemp": 200,
            "coolTemp": 155,
            "ecoTemp": 50,
            "manualTemp": 188,
            "warning": 0,
            "targetTemp": 188,
            "min": 50,
            "max": 350,
            "lmTime": _lm_time(),
        }
        self._update_state()
        self._handlers[("SET", "Appliance.Control.Thermostat.Mode")] = self._set_mode
        self._handlers[("GET", "Appliance.Control.Thermostat.Mode")] = self._get_mode

    @override
    def abilities(self) -> dict[str, dict[str, Any]]:
        return {**super().abilities(), "Appliance.Control.Thermostat.Mode": {}}

    @override
    def digest(self) -> dict[str, Any]:
        return {**super().digest(), "thermostat": {"mode": [dict(self.mode)]}}

    def _update_state(self) -> None:
        key = _THERMOSTAT_TARGET_KEY.get(int(self.mode["mode"]))
        if key is not None:
            self.mode["targetTemp"] = self.mode[key]
        self.mode["state"] = int(
            bool(self.mode["onoff"]) and self.mode["currentTemp"] < self.mode["targetTemp"]
        )
        self.mode["lmTime"] = _lm_time()

    def _set_mode(self, payload: dict[str, Any]) -> dict[str, Any]:
        for item in payload["mode"]:
            if int(item.get("channel", 0)) != 0:
                raise DeviceErrorReply(5000, "no such channel")
            for key, value in item.items():
                if key == "channel":
                    continue
                if key.endswith("Temp") and not self.mode["min"] <= int(value) <= self.mode["max"]:
                    raise DeviceErrorReply(5000, f"{key} out of range")
                self.mode[key] = int(value)
        self._update_state()
        # meross-iot reads the new state from the SETACK (§5): echo it.
        return {"mode": [dict(self.mode)]}

    def _get_mode(self, _payload: dict[str, Any]) -> dict[str, Any]:
        return {"mode": [dict(self.mode)]}

    @override
    async def after_set(self, namespace: str, payload: dict[str, Any]) -> None:
        if namespace == "Appliance.Control.Thermostat.Mode":
            await self.push(namespace, {"mode": [dict(self.mode)]})

    async def set_current_temperature(self, celsius: float) -> None:
        """Change the measured temperature and PUSH Thermostat.Mode."""
        self.mode["currentTemp"] = round(celsius * 10)
        self._update_state()
        await self.push("Appliance.Control.Thermostat.Mode", {"mode": [dict(self.mode)]})

    async def push_mode(self, **changes: int) -> None:
        """Change mode fields by hand (on the device's buttons) and PUSH them."""
        self.mode.update(changes)
        self._update_state()
        await self.push("Appliance.Control.Thermostat.Mode", {"mode": [dict(self.mode)]})


MTS100_MODE_CUSTOM = 0
MTS100_MODE_COMFORT = 1
MTS100_MODE_ECONOMY = 2
MTS100_MODE_AUTO = 3
MTS100_MODE_AWAY = 4
_MTS100_PRESET_KEY = {
    MTS100_MODE_CUSTOM: "custom",
    MTS100_MODE_COMFORT: "comfort",
    MTS100_MODE_ECONOMY: "economy",
    MTS100_MODE_AWAY: "away",
}


@dataclass(kw_only=True)
class MerossValve:
    """MTS100 thermostatic radiator valve paired with a hub (temperatures in tenths of °C)."""

    subdevice_id: str
    name: str = "Valve"
    subdevice_type: str = "mts100v3"
    online: bool = True
    onoff: int = 1
    mode: int = MTS100_MODE_CUSTOM
    room: int = 185
    custom: int = 200
    comfort: int = 210
    economy: int = 180
    away: int = 150
    current_set: int = 200
    battery: int = 87
    min: int = 50
    max: int = 350
    last_active: int = field(default_factory=_lm_time)

    def update_target(self) -> None:
        """``currentSet`` follows the preset of the mode (auto keeps its schedule value)."""
        key = _MTS100_PRESET_KEY.get(self.mode)
        if key is not None:
            self.current_set = int(getattr(self, key))

    @property
    def heating(self) -> int:
        """1 while the valve is open."""
        return int(bool(self.onoff) and self.room < self.current_set)

    def temperature(self) -> dict[str, Any]:
        """Temperature item."""
        return {
            "id": self.subdevice_id,
            "room": self.room,
            "currentSet": self.current_set,
            "custom": self.custom,
            "comfort": self.comfort,
            "economy": self.economy,
            "away": self.away,
            "max": self.max,
            "min": self.min,
            "heating": self.heating,
            "openWindow": 0,
        }

    def all(self) -> dict[str, Any]:
        """Hub.Mts100.All item."""
        return {
            "id": self.subdevice_id,
            "scheduleBMode": 6,
            "online": {"status": 1 if self.online else 2, "lastActiveTime": self.last_active},
            "togglex": {"onoff": self.onoff},
            "timeSync": {"state": 1},
            "mode": {"state": self.mode},
            "temperature": self.temperature(),
        }

    def sub_device_item(self) -> dict[str, Any]:
        """Item of ``/v1/Hub/getSubDevices``."""
        return {
            "subDeviceId": self.subdevice_id,
            "subDeviceType": self.subdevice_type,
            "subDeviceName": self.name,
            "subDeviceIconId": "device_mts100",
            "subDeviceVendor": "meross",
            "trueId": self.subdevice_id,
        }


class MerossHub(MerossEmulatedDevice):
    """msh300 hub with MTS100 valves (Appliance.Hub.*)."""

    device_type = "msh300"
    hardware_version = "4.0.0"
    firmware_version = "4.1.26"
    icon_id = "device037"

    def __init__(self, *, name: str = "Hub", valves: list[MerossValve] | None = None, **kw: Any):
        """Hub; pass its ``valves`` or add them to ``self.valves``."""
        super().__init__(name=name, **kw)
        self.valves: dict[str, MerossValve] = {v.subdevice_id: v for v in valves or []}
        self._pushed_namespace: str | None = None
        self._pushed_ids: list[str] = []
        handlers = {
            ("GET", "Appliance.Hub.Mts100.All"): self._get_all,
            ("SET", "Appliance.Hub.Mts100.Mode"): self._set_mode,
            ("GET", "Appliance.Hub.Mts100.Mode"): self._get_mode,
            ("SET", "Appliance.Hub.Mts100.Temperature"): self._set_temperature,
            ("GET", "Appliance.Hub.Mts100.Temperature"): self._get_temperature,
            ("SET", "Appliance.Hub.ToggleX"): self._set_togglex,
            ("GET", "Appliance.Hub.ToggleX"): self._get_togglex,
            ("GET", "Appliance.Hub.Online"): self._get_online_sub,
            ("GET", "Appliance.Hub.Battery"): self._get_battery,
        }
        self._handlers.update(handlers)

    @override
    def abilities(self) -> dict[str, dict[str, Any]]:
        return {
            **super().abilities(),
            "Appliance.Hub.SubdeviceList": {},
            "Appliance.Hub.Mts100.All": {},
            "Appliance.Hub.Mts100.Mode": {},
            "Appliance.Hub.Mts100.Temperature": {},
            "Appliance.Hub.ToggleX": {},
            "Appliance.Hub.Online": {},
            "Appliance.Hub.Battery": {},
        }

    @override
    def digest(self) -> dict[str, Any]:
        return {
            **super().digest(),
            "hub": {
                "hubId": int(self.uuid[-8:], 16),
                "mode": 0,
                "subdevice": [
                    {
                        "id": v.subdevice_id,
                        "status": 1 if v.online else 2,
                        "scheduleBMode": 6,
                        "onoff": v.onoff,
                        "lastActiveTime": v.last_active,
                        v.subdevice_type: {"mode": v.mode},
                    }
                    for v in self.valves.values()
                ],
            },
        }

    def _selected(self, items: list[dict[str, Any]]) -> list[MerossValve]:
        ids = [item["id"] for item in items if isinstance(item, dict) and "id" in item]
        if not ids:
            return list(self.valves.values())
        missing = [i for i in ids if i not in self.valves]
        if missing:
            raise DeviceErrorReply(5000, f"unknown sub-device {missing[0]}")
        return [self.valves[i] for i in ids]

    def _get_all(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"all": [v.all() for v in self._selected(payload.get("all", []))]}

    def _set_mode(self, payload: dict[str, Any]) -> dict[str, Any]:
        for item in payload["mode"]:
            valve = self._selected([item])[0]
            state = int(item["state"])
            if state not in range(5):
                raise DeviceErrorReply(5000, "bad mode")
            valve.mode = state
            valve.update_target()
        self._pushed_namespace = "Appliance.Hub.Mts100.Mode"
        self._pushed_ids = [item["id"] for item in payload["mode"]]
        return {}

    def _get_mode(self, payload: dict[str, Any]) -> dict[str, Any]:
        valves = self._selected(payload.get("mode", []))
        return {"mode": [{"id": v.subdevice_id, "state": v.mode} for v in valves]}

    def _set_temperature(self, payload: dict[str, Any]) -> dict[str, Any]:
        for item in payload["temperature"]:
            valve = self._selected([item])[0]
            for key in ("custom", "comfort", "economy", "away"):
                if key in item:
                    value = int(item[key])
                    if not valve.min <= value <= valve.max:
                        raise DeviceErrorReply(5000, f"{key} out of range")
                    setattr(valve, key, value)
            valve.update_target()
        self._pushed_namespace = "Appliance.Hub.Mts100.Temperature"
        self._pushed_ids = [item["id"] for item in payload["temperature"]]
        valves = [self.valves[i] for i in self._pushed_ids]
        return {"temperature": [v.temperature() for v in valves]}

    def _get_temperature(self, payload: dict[str, Any]) -> dict[str, Any]:
        valves = self._selected(payload.get("temperature", []))
        return {"temperature": [v.temperature() for v in valves]}

    def _set_togglex(self, payload: dict[str, Any]) -> dict[str, Any]:
        for item in payload["togglex"]:
            self._selected([item])[0].onoff = 1 if int(item["onoff"]) else 0
        self._pushed_namespace = "Appliance.Hub.ToggleX"
        self._pushed_ids = [item["id"] for item in payload["togglex"]]
        return {}

    def _get_togglex(self, payload: dict[str, Any]) -> dict[str, Any]:
        valves = self._selected(payload.get("togglex", []))
        return {"togglex": [{"id": v.subdevice_id, "onoff": v.onoff} for v in valves]}

    def _get_online_sub(self, payload: dict[str, Any]) -> dict[str, Any]:
        valves = self._selected(payload.get("online", []))
        return {
            "online": [
                {
                    "id": v.subdevice_id,
                    "status": 1 if v.online else 2,
                    "lastActiveTime": v.last_active,
                }
                for v in valves
            ]
        }

    def _get_battery(self, payload: dict[str, Any]) -> dict[str, Any]:
        valves = self._selected(payload.get("battery", []))
        return {"battery": [{"id": v.subdevice_id, "value": v.battery} for v in valves]}

    def hub_push_payload(self, namespace: str, valves: list[MerossValve]) -> dict[str, Any]:
        """PUSH payload of a Hub namespace for ``valves``."""
        if namespace == "Appliance.Hub.Mts100.Mode":
            return {"mode": [{"id": v.subdevice_id, "state": v.mode} for v in valves]}
        if namespace == "Appliance.Hub.Mts100.Temperature":
            return {"temperature": [v.temperature() for v in valves]}
        if namespace == "Appliance.Hub.ToggleX":
            return {
                "togglex": [{"id": v.subdevice_id, "onoff": v.onoff, "channel": 0} for v in valves]
            }
        if namespace == "Appliance.Hub.Online":
            return self._get_online_sub({"online": [{"id": v.subdevice_id} for v in valves]})
        if namespace == "Appliance.Hub.Battery":
            return self._get_battery({"battery": [{"id": v.subdevice_id} for v in valves]})
        raise ValueError(namespace)

    @override
    async def after_set(self, namespace: str, payload: dict[str, Any]) -> None:
        pushed, self._pushed_namespace = self._pushed_namespace, None
        if pushed is not None:
            valves = [self.valves[i] for i in self._pushed_ids]
            await self.push(pushed, self.hub_push_payload(pushed, valves))

    async def push_valve(self, subdevice_id: str, namespace: str, **changes: Any) -> None:
        """Change a valve's fields (``room=190``, ``online=False``...) and PUSH ``namespace``."""
        valve = self.valves[subdevice_id]
        for key, value in changes.items():
            setattr(valve, key, value)
        valve.update_target()
        valve.last_active = _lm_time()
        await self.push(namespace, self.hub_push_payload(namespace, [valve]))


# --------------------------------------------------------------------------------------------
# Cloud


@dataclass(kw_only=True)
class MerossEmulatedAccount:
    """A Meross cloud account and its devices."""

    email: str
    password: str
    user_id: str
    key: str
    mfa_code: str | None = None
    devices: list[MerossEmulatedDevice] = field(default_factory=list)

    def device(self, uuid: str) -> MerossEmulatedDevice | None:
        """Return the device with ``uuid``, if it belongs to the account."""
        return next((d for d in self.devices if d.uuid == uuid), None)


@dataclass
class _Token:
    account: MerossEmulatedAccount
    expires: float | None
    expired: bool = False
    revoked: bool = False


@dataclass
class _Fault:
    code: int
    path: str | None
    remaining: int
    data: Any = None


class MerossCloudEmulator:
    """The Meross cloud: HTTP API on 127.0.0.1, devices on one or more mosquitto brokers."""

    def __init__(
        self,
        broker: Mosquitto,
        *,
        host: str = HOST,
        port: int = 0,
        token_ttl: float | None = None,
        extra_brokers: Sequence[Mosquitto] = (),
    ) -> None:
        """Serve the API for the accounts added with ``add_account``; devices use the brokers.

        Every broker needs a TLS listener (apps; the emulator adds each account's app user to
        all of them) and ``anonymous_tls_listener=True`` (devices). ``broker`` is the account's
        ``mqttDomain`` and where devices go by default; ``extra_brokers`` are further regions /
        clusters a device can be placed on (``add_device(..., broker=)``) or moved to
        (``move_device``). A device's ``domain``/``reservedDomain`` in the device list names
        the app-side TLS ``host:port`` of its broker.
        """
        self.brokers: list[Mosquitto] = [broker, *extra_brokers]
        for item in self.brokers:
            if not item.tls or not item.anonymous_tls_port:
                raise ValueError("use Mosquitto(tls=True, anonymous_tls_listener=True)")
        self.broker = broker
        self.host = host
        self.port = port
        self.token_ttl = token_ttl
        self.accounts: dict[str, MerossEmulatedAccount] = {}
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self._tokens: dict[str, _Token] = {}
        self._faults: list[_Fault] = []
        self._runner: web.AppRunner | None = None
        self._started = False
        self._placement: dict[str, Mosquitto] = {}

    # -- configuration -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL of the API (``api_base_url`` of meross-iot)."""
        return f"http://{self.host}:{self.port}"

    @property
    def mqtt_domain(self) -> str:
        """``mqttDomain`` returned at sign-in: the first broker's TLS ``host:port``."""
        return self.domain_of(self.broker)

    @staticmethod
    def domain_of(broker: Mosquitto) -> str:
        """The ``domain`` naming ``broker`` in the device list (its app-side TLS listener)."""
        return f"{HOST}:{broker.tls_port}"

    def broker_of(self, device: MerossEmulatedDevice) -> Mosquitto:
        """The broker ``device`` is placed on."""
        return self._placement.get(device.uuid, self.broker)

    def add_account(
        self,
        email: str,
        password: str,
        *,
        mfa_code: str | None = None,
        user_id: str | None = None,
        key: str | None = None,
    ) -> MerossEmulatedAccount:
        """Create an account (user id: random digits, key: random hex)."""
        account = MerossEmulatedAccount(
            email=email,
            password=password,
            user_id=user_id or str(secrets.randbelow(9_000_000) + 1_000_000),
            key=key or secrets.token_hex(16),
            mfa_code=mfa_code,
        )
        self.accounts[email.lower()] = account
        for broker in self.brokers:
            broker.add_user(account.user_id, app_mqtt_password(account.user_id, account.key))
        return account

    def _place(self, device: MerossEmulatedDevice, broker: Mosquitto) -> None:
        if broker not in self.brokers:
            raise ValueError("the broker is not one of this cloud's brokers")
        self._placement[device.uuid] = broker
        device.broker_host, device.broker_port = HOST, broker.anonymous_tls_port
        device.domain = self.domain_of(broker)

    async def add_device[D: MerossEmulatedDevice](
        self, account: MerossEmulatedAccount, device: D, *, broker: Mosquitto | None = None
    ) -> D:
        """Bind ``device`` to ``account`` on ``broker`` (default: the first one).

        A running cloud connects it at once.
        """
        device.user_id, device.key = account.user_id, account.key
        self._place(device, broker or self.broker)
        account.devices.append(device)
        if self._started:
            await device.start(device.broker_host, device.broker_port)
        return device

    async def move_device(self, device: MerossEmulatedDevice, broker: Mosquitto) -> None:
        """Migrate ``device`` to ``broker`` (as after a Meross region move).

        It reconnects there and the device list's ``domain``/``reservedDomain`` name the new
        broker.
        """
        await device.stop()
        self._place(device, broker)
        if self._started:
            await device.start(device.broker_host, device.broker_port)
            await device.wait_connected()

    async def remove_device(
        self, account: MerossEmulatedAccount, device: MerossEmulatedDevice
    ) -> None:
        """Unbind ``device`` from the account and disconnect it."""
        account.devices.remove(device)
        self._placement.pop(device.uuid, None)
        await device.stop()

    def all_devices(self) -> list[MerossEmulatedDevice]:
        """Every device of every account."""
        return [d for a in self.accounts.values() for d in a.devices]

    # -- fault injection ---------------------------------------------------------------------

    def fail_next(
        self, code: int, *, path: str | None = None, count: int = 1, data: Any = None
    ) -> None:
        """Answer the next ``count`` requests (to ``path`` if given) with apiStatus ``code``."""
        self._faults.append(_Fault(code, path, count, data))

    def rate_limit(self, count: int = 1) -> None:
        """Refuse the next ``count`` requests with 1028 "Requested too frequently"."""
        self.fail_next(API_TOO_FREQUENT, count=count)

    def expire_tokens(self, account: MerossEmulatedAccount | None = None) -> None:
        """Expire every issued token (of ``account``): further calls get apiStatus 1200."""
        for token in self._tokens.values():
            if account is None or token.account is account:
                token.expired = True

    def revoke_tokens(self, account: MerossEmulatedAccount | None = None) -> None:
        """Revoke tokens (password changed elsewhere): further calls get apiStatus 1022."""
        for token in self._tokens.values():
            if account is None or token.account is account:
                token.revoked = True

    @property
    def issued_tokens(self) -> list[str]:
        """Tokens handed out so far."""
        return list(self._tokens)

    # -- HTTP --------------------------------------------------------------------------------

    @staticmethod
    def _reply(code: int, data: Any = None) -> web.Response:
        body: dict[str, Any] = {
            "apiStatus": code,
            "sysStatus": 0,
            "info": API_INFO.get(code, "Error"),
            "timeStamp": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S"),
        }
        if data is not None or code == API_OK:
            body["data"] = data if data is not None else {}
        return web.json_response(body)

    def _take_fault(self, path: str) -> _Fault | None:
        for fault in self._faults:
            if fault.path in (None, path) and fault.remaining > 0:
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                return fault
        return None

    async def _handle(self, request: web.Request) -> web.Response:
        path = request.path
        try:
            body = await request.json()
            params_b64 = str(body["params"])
            sign = md5_hex(f"{CLOUD_SALT}{body['timestamp']}{body['nonce']}{params_b64}")
            if str(body["sign"]).lower() != sign:
                return self._reply(API_SIGN_CHECK_FAILED)
            params = json.loads(base64.b64decode(params_b64)) if params_b64 else {}
        except ValueError, KeyError, TypeError, binascii.Error:
            return self._reply(API_SIGN_CHECK_FAILED)
        self.requests.append((path, params))
        fault = self._take_fault(path)
        if fault is not None:
            return self._reply(fault.code, fault.data)
        if path == "/v1/Auth/signIn":
            return self._sign_in(params)
        auth = request.headers.get("Authorization", "")
        token_text = auth.removeprefix("Basic").strip()
        token = self._tokens.get(token_text)
        if token is None:
            return self._reply(API_TOKEN_INVALID)
        if token.revoked:
            return self._reply(API_TOKEN_ERROR)
        if token.expired or (token.expires is not None and time.monotonic() > token.expires):
            return self._reply(API_TOKEN_EXPIRED)
        account = token.account
        if path == "/v1/log/user":
            return self._reply(API_OK, {})
        if path == "/v1/Device/devList":
            return self._reply(API_OK, [d.dev_list_item() for d in account.devices])
        if path == "/v1/Hub/getSubDevices":
            hub = account.device(str(params.get("uuid", "")))
            valves = hub.valves.values() if isinstance(hub, MerossHub) else []
            return self._reply(API_OK, [v.sub_device_item() for v in valves])
        if path == "/v1/Profile/logout":
            token.revoked = True
            return self._reply(API_OK, {})
        raise web.HTTPNotFound

    def _sign_in(self, params: dict[str, Any]) -> web.Response:
        account = self.accounts.get(str(params.get("email", "")).lower())
        if account is None:
            return self._reply(API_ACCOUNT_MISSING)
        if str(params.get("password", "")).lower() != md5_hex(account.password):
            return self._reply(API_WRONG_PASSWORD)
        if account.mfa_code is not None:
            code = params.get("mfaCode")
            if not code:
                return self._reply(API_MFA_REQUIRED)
            if str(code) != account.mfa_code:
                return self._reply(API_MFA_WRONG)
        token = secrets.token_hex(32)
        expires = time.monotonic() + self.token_ttl if self.token_ttl else None
        self._tokens[token] = _Token(account, expires)
        return self._reply(
            API_OK,
            {
                "userid": account.user_id,
                "email": account.email,
                "key": account.key,
                "token": token,
                "domain": self.url,
                "mqttDomain": self.mqtt_domain,
            },
        )

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Serve HTTP and connect every device to the broker (which must be running)."""
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self._started = True
        # The apps' users are added by SIGHUP, which mosquitto handles in its own time: an app
        # signing in at once must not be refused.
        for broker in self.brokers:
            if broker.running:
                for account in self.accounts.values():
                    await broker.wait_user(
                        account.user_id, app_mqtt_password(account.user_id, account.key)
                    )
        devices = self.all_devices()
        for device in devices:
            await device.start(device.broker_host, device.broker_port)
        # Generous: on a loaded machine a dozen TLS handshakes take a while.
        await asyncio.gather(*(d.wait_connected(30) for d in devices))

    async def stop(self) -> None:
        """Disconnect the devices and stop serving."""
        self._started = False
        await asyncio.gather(*(d.stop() for d in self.all_devices()))
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def wait_devices_connected(
        self,
        timeout: float = 10.0,  # noqa: ASYNC109
        *,
        broker: Mosquitto | None = None,
    ) -> None:
        """Wait until every device (on ``broker``) is connected (after a broker restart)."""
        devices = [d for d in self.all_devices() if broker is None or self.broker_of(d) is broker]
        async with asyncio.timeout(timeout):
            await asyncio.gather(*(d.wait_connected(timeout) for d in devices))

    async def __aenter__(self) -> Self:
        """Start (a failed start stops what it started, so no device task is left behind)."""
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop."""
        await self.stop()


# --------------------------------------------------------------------------------------------
# Command line


async def _serve(args: argparse.Namespace) -> None:
    broker = Mosquitto(
        tls=True, tls_port=args.mqtt_port, allow_anonymous=False, anonymous_tls_listener=True
    )
    async with broker:
        cloud = MerossCloudEmulator(broker, port=args.http_port)
        account = cloud.add_account(args.email, args.password, mfa_code=args.mfa_code)
        await cloud.add_device(account, MerossPlug(name="Emulated plug"))
        await cloud.add_device(account, MerossStrip(name="Emulated strip"))
        await cloud.add_device(account, MerossThermostat(name="Emulated thermostat"))
        if args.hub:
            hub = MerossHub(name="Emulated hub", valves=[MerossValve(subdevice_id="03002B0E")])
            await cloud.add_device(account, hub)
        async with cloud:
            print(f"Meross cloud API: {cloud.url}")
            print(f"  email:    {account.email}")
            print(f"  password: {account.password}")
            if account.mfa_code:
                print(f"  MFA code: {account.mfa_code}")
            print(f"MQTT broker (TLS): {cloud.mqtt_domain}, CA {broker.ca_cert_path}")
            for device in account.devices:
                print(f"  {device.device_type:8} {device.uuid} {device.name}")
            print("Ctrl-C stops.", flush=True)
            await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    """Run mosquitto, the cloud and a plug, a strip and a thermostat until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m emulators.meross", description=main.__doc__)
    parser.add_argument("--email", default="meross@example.com")
    parser.add_argument("--password", default="switchboard")
    parser.add_argument("--mfa-code", default=None, help="require this MFA code at sign-in")
    parser.add_argument("--http-port", type=int, default=0, help="cloud API port (0: any)")
    parser.add_argument("--mqtt-port", type=int, default=0, help="broker TLS port (0: any)")
    parser.add_argument("--hub", action="store_true", help="add an msh300 hub with a valve")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
