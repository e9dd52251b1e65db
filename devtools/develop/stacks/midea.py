"""The Midea stack: an emulated dehumidifier and air conditioner, and their cloud account."""

from typing import override

from devtools.develop.hass import HassClient, expect_entry
from devtools.develop.report import CheckFailed, CheckReport
from devtools.develop.stack import (
    Stack,
    StackContext,
    StackError,
    fixed_or_free,
    stop_quietly,
    wait_entity,
)
from emulators.midea import (
    AirConditioner,
    Dehumidifier,
    FakeNetHomeCloud,
    MideaBroadcastRelay,
    MideaDiscoveryResponder,
    MideaLanServer,
    default_air_conditioner,
    default_dehumidifier,
)

MIDEA_ACCOUNT = "comfee@example.com"
MIDEA_PASSWORD = "switchboard"  # noqa: S105 (the emulated account's, printed for the user)
MIDEA_CLOUD_PORT = 8126
MIDEA_DISCOVERY_PORT = 6445
MIDEA_LAN_PORT = 6444
MIDEA_TOKEN_DEHUMIDIFIER = "a1" * 64
MIDEA_KEY_DEHUMIDIFIER = "1a" * 32
MIDEA_TOKEN_AIR_CONDITIONER = "ac" * 64
MIDEA_KEY_AIR_CONDITIONER = "ca" * 32
"""Fixed tokens and keys in interactive runs, so an entry made once keeps working."""


class MideaStack(Stack):
    """An emulated Comfee dehumidifier and Midea air conditioner, and the NetHome Plus account.

    Interactive: the dehumidifier on 127.0.0.6 and the air conditioner on 127.0.0.7, each on TCP
    6444 with discovery on UDP 6445 at its own address, as on a real network, a relay on
    0.0.0.0:6445 so the account flow's broadcast finds both, and the cloud on 127.0.0.1:8126
    (free ports when taken: :meth:`describe` says what to enter). ``--check``: 127.0.0.8 and
    127.0.0.9 on free ports, so it never collides with an interactive run.
    """

    name = "Midea"

    def __init__(self) -> None:
        """Nothing runs before :meth:`start`."""
        self.servers: list[MideaLanServer] = []
        self.responders: list[MideaDiscoveryResponder] = []
        self.relay: MideaBroadcastRelay | None = None
        self.cloud: FakeNetHomeCloud | None = None
        self.dehumidifier: Dehumidifier | None = None
        self.air_conditioner: AirConditioner | None = None

    @override
    async def start(self, context: StackContext) -> None:
        """Start both appliances, their discovery, the relay and the cloud."""
        check = context.check
        hosts = ("127.0.0.8", "127.0.0.9") if check else ("127.0.0.6", "127.0.0.7")
        relay_port = fixed_or_free(MIDEA_DISCOVERY_PORT, check, udp=True)
        self.dehumidifier = default_dehumidifier(
            host=hosts[0],
            token=None if check else MIDEA_TOKEN_DEHUMIDIFIER,
            key=None if check else MIDEA_KEY_DEHUMIDIFIER,
        )
        self.air_conditioner = default_air_conditioner(
            host=hosts[1],
            token=None if check else MIDEA_TOKEN_AIR_CONDITIONER,
            key=None if check else MIDEA_KEY_AIR_CONDITIONER,
        )
        try:
            for appliance, host in zip(
                (self.dehumidifier, self.air_conditioner), hosts, strict=True
            ):
                server = MideaLanServer(appliance, host, 0 if check else MIDEA_LAN_PORT)
                try:
                    await server.start()
                except OSError:
                    server = MideaLanServer(appliance, host, 0)
                    await server.start()
                self.servers.append(server)
            self.relay = MideaBroadcastRelay(relay_port, reuse_port=True)
            await self.relay.start()
            for server in self.servers:
                # Each appliance answers unicast probes on its own address, on the relay's port.
                responder = MideaDiscoveryResponder(server.host, [self.relay.port], reuse_port=True)
                await responder.start()
                responder.register(server)
                self.responders.append(responder)
                self.relay.responders.append(responder)
            cloud_port = fixed_or_free(MIDEA_CLOUD_PORT, check)
            self.cloud = FakeNetHomeCloud("127.0.0.1", cloud_port)
            self.cloud.add_account(
                MIDEA_ACCOUNT, MIDEA_PASSWORD, [self.dehumidifier, self.air_conditioner]
            )
            await self.cloud.start()
        except OSError as err:
            await self.stop()
            raise StackError(f"Midea: cannot start the appliances or the cloud: {err}") from err

    @override
    async def stop(self) -> None:
        """Stop the cloud, the relay, the responders and the appliances."""
        cloud, self.cloud = self.cloud, None
        await stop_quietly(cloud)
        relay, self.relay = self.relay, None
        if relay is not None:
            await relay.stop()
        for responder in self.responders:
            await responder.stop()
        self.responders.clear()
        await stop_quietly(*self.servers)
        self.servers.clear()

    @override
    def describe(self) -> list[str]:
        """What to enter in the Midea forms."""
        if self.cloud is None or self.relay is None:
            return []
        lines = [
            "Midea: Add integration > Switchboard > Midea / Comfee > My Midea account:",
            f"  account {MIDEA_ACCOUNT}, password {MIDEA_PASSWORD}, cloud NetHome Plus; under "
            f"Advanced: API address {self.cloud.url}, discovery port {self.relay.port}",
        ]
        for server in self.servers:
            appliance = server.appliance
            lines.append(
                f"  {appliance.name} ({appliance.type_name}) at {server.host}, TCP {server.port}"
                f"; token {appliance.token[:8]}..., key {appliance.key[:8]}... "
                "(the fake cloud hands them out)"
            )
        return lines

    @override
    async def check(self, hass: HassClient, report: CheckReport) -> None:
        """Add the account, change the dehumidifier's target humidity and the AC's mode."""
        cloud, relay = self.cloud, self.relay
        dehumidifier, air_conditioner = self.dehumidifier, self.air_conditioner
        if cloud is None or relay is None or dehumidifier is None or air_conditioner is None:
            report.skip(self.name, "not started")
            return
        known = await hass.integration_entities("switchboard")
        async with report.step("Midea: add account") as step:
            flow_id, _ = await hass.flow_menu("midea")
            result = await hass.flow_step(flow_id, {"next_step_id": "midea_account"})
            if result.get("step_id") != "midea_account":
                raise CheckFailed(f"expected the account form, got {result}")
            result = await hass.flow_step(
                flow_id,
                {
                    "account": MIDEA_ACCOUNT,
                    "password": MIDEA_PASSWORD,
                    "cloud": "NetHome Plus",
                    "advanced": {"api_url": cloud.url, "discovery_port": relay.port},
                },
            )
            expect_entry(result)
            step.detail = f"entry {result.get('title')!r} with {len(self.servers)} appliances"
        async with report.step("Midea: dehumidifier target humidity") as step:
            humidifier = await wait_entity(hass, known, "humidifier.", dehumidifier.name)
            await hass.call_service(
                "humidifier", "set_humidity", {"entity_id": humidifier, "humidity": 45}
            )
            shown = (await hass.state(humidifier))["attributes"].get("humidity")
            if shown != 45 or dehumidifier.target_humidity != 45:
                raise CheckFailed(
                    f"target humidity shown {shown}, appliance {dehumidifier.target_humidity}"
                )
            step.detail = f"{humidifier} humidity 45 at once, appliance at 45 %"
        async with report.step("Midea: air conditioner mode") as step:
            climate = await wait_entity(hass, known, "climate.", air_conditioner.name)
            await hass.call_service(
                "climate", "set_hvac_mode", {"entity_id": climate, "hvac_mode": "cool"}
            )
            state = (await hass.state(climate))["state"]
            if state != "cool" or not air_conditioner.power or air_conditioner.mode != 2:
                raise CheckFailed(f"{climate} is {state!r}, appliance mode {air_conditioner.mode}")
            step.detail = f"{climate} cool at once, appliance cooling"
