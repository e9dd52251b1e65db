"""The Meross stack: a TLS mosquitto, the emulated Meross cloud, a plug, a strip, a thermostat."""

import time
from typing import override

from devtools.develop.hass import HassClient, expect_entry
from devtools.develop.report import CheckFailed, CheckReport
from devtools.develop.stack import (
    MosquittoStack,
    StackContext,
    StackError,
    fixed_or_free,
    stop_quietly,
    wait_entity,
    wait_state,
)
from emulators.meross import (
    MerossCloudEmulator,
    MerossEmulatedAccount,
    MerossPlug,
    MerossStrip,
    MerossThermostat,
)
from emulators.mosquitto import Mosquitto, MosquittoError

MEROSS_EMAIL = "meross@example.com"
MEROSS_PASSWORD = "switchboard"  # noqa: S105 (the emulated account's, printed for the user)
MEROSS_USER_ID = "4242001"
MEROSS_KEY = "5f1d0c7e6a3b48e29d7c1b0a9e8f7d6c"
"""Fixed account identity in interactive runs, so an entry made once keeps working."""
MEROSS_HTTP_PORT = 8125
MEROSS_MQTT_PORT = 8883
MEROSS_PUSH_LIMIT = 5.0
"""Seconds a push from the emulated plug may take to show in Home Assistant's REST state."""


class MerossStack(MosquittoStack):
    """A mosquitto broker (TLS), the emulated Meross cloud and a plug, a strip and a thermostat.

    The broker is a separate process (Debian ``mosquitto``); the cloud's HTTP API and the
    devices (MQTT clients of the broker) run in the orchestrator's event loop. Interactive runs
    use a fixed account, device identities and ports (cloud 127.0.0.1:8125, broker TLS 8883;
    free ports if taken) so that an entry keeps working across runs; ``--check`` uses free
    ports and a fresh account. The broker's certificate is signed by a throw-away CA, so the
    certificate check must be off.
    """

    name = "Meross"

    def __init__(self) -> None:
        """Nothing runs before :meth:`start`."""
        self.broker: Mosquitto | None = None
        self.cloud: MerossCloudEmulator | None = None
        self.account: MerossEmulatedAccount | None = None
        self.plug: MerossPlug | None = None
        self.notes: list[str] = []

    @override
    async def start(self, context: StackContext) -> None:
        """Start the broker, then the cloud with its three devices; StackError on failure."""
        mqtt_port = fixed_or_free(MEROSS_MQTT_PORT, context.check)
        http_port = fixed_or_free(MEROSS_HTTP_PORT, context.check)
        if not context.check and not (mqtt_port and http_port):
            self.notes.append(
                f"port {MEROSS_HTTP_PORT} or {MEROSS_MQTT_PORT} taken: free ports used, "
                "an entry from an earlier run needs Reconfigure"
            )
        self.broker = Mosquitto(
            tls=True, tls_port=mqtt_port, allow_anonymous=False, anonymous_tls_listener=True
        )
        try:
            await self.broker.start()
            self.cloud = MerossCloudEmulator(self.broker, port=http_port)
            fixed = not context.check
            self.account = self.cloud.add_account(
                MEROSS_EMAIL,
                MEROSS_PASSWORD,
                user_id=MEROSS_USER_ID if fixed else None,
                key=MEROSS_KEY if fixed else None,
            )
            self.plug = await self.cloud.add_device(
                self.account,
                MerossPlug(
                    name="Meross plug",
                    uuid="2001000000000000000000000000d001" if fixed else None,
                    mac="48:e1:e9:00:d0:01" if fixed else None,
                ),
            )
            await self.cloud.add_device(
                self.account,
                MerossStrip(
                    name="Meross strip",
                    uuid="2001000000000000000000000000d002" if fixed else None,
                    mac="48:e1:e9:00:d0:02" if fixed else None,
                ),
            )
            await self.cloud.add_device(
                self.account,
                MerossThermostat(
                    name="Meross thermostat",
                    uuid="2001000000000000000000000000d003" if fixed else None,
                    mac="48:e1:e9:00:d0:03" if fixed else None,
                ),
            )
            await self.cloud.start()
        except (OSError, MosquittoError, TimeoutError) as err:
            await self.stop()
            raise StackError(f"Meross: cannot start the broker or the cloud: {err}") from err

    @override
    async def stop(self) -> None:
        """Stop the devices and the cloud, then the broker (its process and files)."""
        cloud, self.cloud = self.cloud, None
        await stop_quietly(cloud)
        await self.stop_broker()

    @override
    def describe(self) -> list[str]:
        """What to enter in the Meross form."""
        if self.cloud is None or self.account is None:
            return []
        lines = [
            "Meross: Add integration > Switchboard > Meross cloud account:",
            f"  email {MEROSS_EMAIL}, password {MEROSS_PASSWORD}; under Advanced: API URL "
            f"{self.cloud.url}, 'Verify the certificate' off (broker {self.cloud.mqtt_domain}, "
            "self-signed)",
            "  devices: " + ", ".join(f"{d.name} ({d.device_type})" for d in self.account.devices),
        ]
        lines += [f"  note: {note}" for note in self.notes]
        return lines

    @override
    async def check(self, hass: HassClient, report: CheckReport) -> None:
        """Add the account over REST, toggle the plug, push a change from the plug."""
        plug, cloud = self.plug, self.cloud
        if plug is None or cloud is None:
            report.skip(self.name, "not started")
            return
        known = await hass.integration_entities("switchboard")
        async with report.step("Meross: add account") as step:
            flow_id, result = await hass.flow_menu("meross")
            if result.get("step_id") != "meross":
                raise CheckFailed(f"expected the sign-in form, got {result}")
            result = await hass.flow_step(
                flow_id,
                {
                    "email": MEROSS_EMAIL,
                    "password": MEROSS_PASSWORD,
                    "advanced": {"api_base_url": cloud.url, "verify_ssl": False},
                },
            )
            entry = expect_entry(result)
            step.detail = f"entry {entry.get('title')!r} {entry.get('state', '')}".rstrip()
        async with report.step("Meross: plug switch") as step:
            switch = await wait_entity(hass, known, "switch.", plug.name)
            state = (await hass.state(switch))["state"]
            step.detail = f"{switch} is {state}"
        async with report.step(f"Meross: turn_on {switch}") as step:
            await hass.call_service("switch", "turn_on", {"entity_id": switch})
            state = (await hass.state(switch))["state"]
            if state != "on":
                raise CheckFailed(f"state right after turn_on is {state!r}")
            if plug.onoff[0] != 1:
                raise CheckFailed("the emulated plug is still off")
            step.detail = "state on at once, emulated plug on"
        async with report.step("Meross: push from the plug") as step:
            started = time.monotonic()
            await plug.push_toggle(False)
            state = await wait_state(hass, switch, "off", MEROSS_PUSH_LIMIT)
            step.detail = (
                f"button press off -> {switch} {state} after "
                f"{(time.monotonic() - started) * 1000:.0f} ms"
            )
