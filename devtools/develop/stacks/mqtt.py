"""The MQTT stack: a plain mosquitto for Home Assistant's MQTT integration and the bridge."""

import asyncio
from typing import override

import aiomqtt

from devtools.develop.hass import HassClient, expect_entry
from devtools.develop.report import CheckFailed, CheckReport
from devtools.develop.stack import MosquittoStack, StackContext, StackError, fixed_or_free
from emulators.mosquitto import Mosquitto, MosquittoError

MQTT_PORT = 1883
MQTT_BASE_TOPIC = "switchboard"


class MqttStack(MosquittoStack):
    """A plain mosquitto for Home Assistant's MQTT integration and Switchboard's MQTT bridge.

    Interactive: 127.0.0.1:1883 (MQTT's default) if free, else a free port; ``--check`` and
    ``--isolated``: a free port. Anonymous clients are allowed (loopback only). ``--check``
    adds Home Assistant's MQTT integration over REST, turns the bridge on in the first
    MaxSmart entry's options and waits for the strip's availability on the broker.
    """

    name = "MQTT"

    def __init__(self) -> None:
        """Nothing runs before :meth:`start`."""
        self.broker: Mosquitto | None = None

    @override
    async def start(self, context: StackContext) -> None:
        """Start the broker; StackError if it cannot."""
        port = fixed_or_free(MQTT_PORT, context.check)
        self.broker = Mosquitto(tls=False, port=port)
        try:
            await self.broker.start()
        except (OSError, MosquittoError, TimeoutError) as err:
            await self.stop()
            raise StackError(f"MQTT: cannot start mosquitto: {err}") from err

    @override
    async def stop(self) -> None:
        """Stop the broker (its process and files)."""
        await self.stop_broker()

    @override
    def describe(self) -> list[str]:
        """What to enter for Home Assistant's MQTT integration and where the bridge publishes."""
        if self.broker is None:
            return []
        return [
            "MQTT: Add integration > MQTT: broker 127.0.0.1, port "
            f"{self.broker.port}, no user name or password; then a Switchboard entry's "
            f"Configure > MQTT bridge > Publish to MQTT (topics under {MQTT_BASE_TOPIC}/)",
        ]

    @override
    async def check(self, hass: HassClient, report: CheckReport) -> None:
        """Add the MQTT integration, enable the bridge on a strip, see it on the broker."""
        broker = self.broker
        if broker is None:
            report.skip(self.name, "not started")
            return
        async with report.step("MQTT: add Home Assistant's MQTT integration") as step:
            flow = await hass.flow_start("mqtt")
            result = await hass.flow_step(
                flow["flow_id"],
                {
                    "broker": "127.0.0.1",
                    "port": broker.port,
                    "other_settings": {"set_client_cert": False, "set_ca_cert": "off"},
                },
            )
            expect_entry(result)
            step.detail = f"broker 127.0.0.1:{broker.port}"
        async with report.step("MQTT: bridge on for a MaxSmart strip") as step:
            entries = await hass.request(
                "GET", "/api/config/config_entries/entry?domain=switchboard"
            )
            strips = [e for e in entries if e.get("title") in {"Desk", "Rack"}]
            if not strips:
                raise CheckFailed("no MaxSmart entry to bridge")
            entry = strips[0]
            flow = await hass.request(
                "POST",
                "/api/config/config_entries/options/flow",
                json_body={"handler": entry["entry_id"]},
            )
            result = await hass.request(
                "POST",
                f"/api/config/config_entries/options/flow/{flow['flow_id']}",
                json_body={
                    "scan_interval": 5,
                    "burst_interval": 2,
                    "burst_cycles": 4,
                    "mqtt_bridge": {
                        "enabled": True,
                        "base_topic": MQTT_BASE_TOPIC,
                        "discovery": False,
                        "exclude_devices": [],
                    },
                },
            )
            if result.get("type") != "create_entry":
                raise CheckFailed(f"options not saved: {result.get('errors') or result}")
            step.detail = f"entry {entry['title']!r}"
        async with report.step("MQTT: the bridge publishes") as step:
            topic = await _first_message(broker.port, f"{MQTT_BASE_TOPIC}/#", limit=20)
            step.detail = f"first message on {topic}"


async def _first_message(port: int, topic_filter: str, limit: float) -> str:
    """The topic of the first message matching ``topic_filter`` (CheckFailed after ``limit``)."""
    try:
        async with asyncio.timeout(limit):
            async with aiomqtt.Client("127.0.0.1", port) as client:
                await client.subscribe(topic_filter)
                async for message in client.messages:
                    return str(message.topic)
    except TimeoutError:
        pass
    raise CheckFailed(f"nothing on {topic_filter} within {limit:.0f} s")
