"""Development stack: emulated devices plus Home Assistant with its frontend (``scripts/develop``).

``python -m devtools.develop [--port 8123]`` starts every available *stack* (two emulated
MaxSmart strips of different firmware; a mosquitto broker with TLS, the emulated Meross cloud
and a Meross plug, strip and thermostat; the real ``indiserver`` with four simulators when
``indiserver`` is on PATH), prepares ``config/`` (``configuration.yaml`` is
tracked; the script creates ``config/custom_components/switchboard`` as a symlink to the
repository's integration, ``config/.storage/core.network`` with only the loopback adapter
enabled, so discovery never leaves loopback, and ``config/.storage/http`` listening on
127.0.0.1 only; see :func:`prepare_config`) and runs Home Assistant on
``http://127.0.0.1:8123``. It prints what a user sees and has to enter, e.g.::

    MaxSmart: Settings > Devices & services > Add integration > Switchboard > MaxSmart lists
      Desk (127.0.0.2, SWP6...) 6 ports, firmware 1.30
      Rack (127.0.0.3, SWP6...) 6 ports, firmware 2.11

Ctrl-C (SIGINT) or SIGTERM stops Home Assistant (SIGTERM, then SIGKILL after 30 s) and every
stack. Home Assistant runs in its own process group with a parent-death signal, so it also
stops if this process is killed. A restart requested from the UI (exit code 100) starts Home
Assistant again. Home Assistant runs with ``--skip-pip``: ``scripts/setup`` installs what it
needs and it never changes ``.venv``. Onboarding is Home Assistant's own (user, location,
analytics). Home Assistant's console output goes to ``config/home-assistant.console.log`` so the
instructions stay on screen; Enter (or ``scripts/develop --info`` from another terminal) prints
them again. ``config/`` keeps its state across runs; ``--fresh`` empties it first.
``--isolated`` runs the same interactively but as ``--check`` does (temporary config, free
ports, private addresses), beside another run: the browser test (``tests/e2e``) uses it.

``--check`` runs the same stacks headless against a fresh temporary copy of ``config/`` on a
free HTTP port and drives Home Assistant through its REST API only: onboarding, then each
stack's check (MaxSmart: the config flow with discovery, a port toggled off and on with the
switch state and the power read back, a second strip added by address; Meross: the account
added through the config flow, the plug's switch turned on, a push from the plug seen; INDI:
the server added, the simulators' entities found, the telescope connected; SEPL: the platform
connector added, a MaxSmart port switched off and on by platform commands, its state events seen
on the emulated platform). Each step prints one
line, ``ok   <step>[: detail]``, ``note <step>: detail`` (informational) or
``FAIL <step>: reason``; the exit status is 0 only if no step failed. The run is bounded by
``--timeout`` (180 s by default) and always stops everything before exiting.

Adding a stack (the hook for other families)
--------------------------------------------
Subclass :class:`Stack` and append the class to :data:`STACKS`::

    class IndiStack(Stack):
        name = "INDI"

        def unavailable(self) -> str | None:
            return None if shutil.which("indiserver") else "indiserver is not installed"

        async def start(self, context: StackContext) -> None:
            ...  # spawn indiserver with simulators; context.check selects private ports

        async def stop(self) -> None:
            ...  # must be idempotent and must not raise

        def describe(self) -> list[str]:
            return ["INDI: Add integration > Switchboard > INDI, host 127.0.0.1:7624"]

        async def check(self, hass: HassClient, report: CheckReport) -> None:
            async with report.step("INDI: add server") as step:
                ...  # drive hass; raise CheckFailed("why") to fail; set step.detail

* ``start`` runs before Home Assistant starts (files may be written into
  ``context.config_dir``); it raises :class:`StackError` with a readable message if the stack
  cannot run. Stacks are started in :data:`STACKS` order and stopped in reverse order.
* ``describe`` returns the lines printed once Home Assistant answers: what a user sees and
  what they must enter (addresses, ports, credentials).
* ``check`` (optional; the default does nothing) runs after onboarding in ``--check`` mode.
  A step that raises fails and ends that stack's check; the other stacks still run.
* ``unavailable`` returns a reason to skip the stack (printed as ``skip``), or None.
"""

from abc import ABC, abstractmethod
import argparse
import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
import contextlib
import ctypes
from dataclasses import dataclass, field
from datetime import UTC, datetime
import json
import math
import os
from pathlib import Path
import shutil
import signal
import socket
import sys
import tempfile
import time
from typing import Any, ClassVar, override

import aiohttp
from aiohttp.test_utils import unused_port
import aiomqtt

from emulators.indiserver import (
    SIMULATOR_DEVICES as INDI_DEVICES,
    IndiServer,
    IndiServerError,
    indiserver_missing,
)
from emulators.maxsmart import MaxSmartBroadcastRelay, MaxSmartEmulator
from emulators.meross import (
    MerossCloudEmulator,
    MerossEmulatedAccount,
    MerossPlug,
    MerossStrip,
    MerossThermostat,
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
from emulators.mosquitto import Mosquitto, MosquittoError, mosquitto_available
from emulators.sepl import SeplPlatform

REPO_ROOT = Path(__file__).resolve().parents[2]
"""The repository (``scripts/develop`` runs from here)."""

CONFIG_DIR = REPO_ROOT / "config"
"""The developer's Home Assistant configuration directory (only configuration.yaml tracked)."""

INTEGRATION_DIR = REPO_ROOT / "custom_components" / "switchboard"

DEFAULT_HTTP_PORT = 8123
CHECK_TIMEOUT = 180.0
HASS_START_TIMEOUT = 90.0
HASS_STOP_TIMEOUT = 30.0
RESTART_EXIT_CODE = 100
"""Exit code with which Home Assistant asks its supervisor for a restart."""

LOOPBACK_ADAPTER = "lo"

HASS_ARGS = ("--skip-pip", "--log-no-color")
"""Home Assistant never installs packages here: ``scripts/setup`` owns ``.venv``."""

CHECK_USER = {"name": "Switchboard Developer", "username": "dev", "password": "switchboard-dev"}
"""The owner account ``--check`` creates during onboarding (in a throw-away config only)."""


class StackError(Exception):
    """A stack cannot start; the message tells the user why and what to do."""


class CheckFailed(Exception):
    """A check step failed; the message is printed after ``FAIL <step>:``."""


class _StepFailed(Exception):
    """Internal: a step already reported its failure; ends the current stack's check."""


# ------------------------------------------------------------------------------ check report


@dataclass(slots=True)
class Step:
    """One running check step: ``name`` and ``detail`` may be changed while it runs."""

    name: str
    detail: str = ""


@dataclass(slots=True)
class CheckReport:
    """Prints one line per check step and counts failures.

    ``ok   <step>: detail``, ``note <step>: detail`` and ``FAIL <step>: reason``.
    """

    write: Callable[[str], None] = field(default=lambda line: print(line, flush=True))
    passed: int = 0
    failed: int = 0

    def ok(self, name: str, detail: str = "") -> None:
        """Report a passed step."""
        self.passed += 1
        self.write(f"ok   {name}" + (f": {detail}" if detail else ""))

    def note(self, name: str, detail: str) -> None:
        """Report something a reader should know that is not a failure."""
        self.write(f"note {name}: {detail}")

    def skip(self, name: str, detail: str) -> None:
        """Report a step or stack that did not run (not a failure)."""
        self.write(f"skip {name}: {detail}")

    def fail(self, name: str, detail: str) -> None:
        """Report a failed step."""
        self.failed += 1
        self.write(f"FAIL {name}: {detail}")

    @contextlib.asynccontextmanager
    async def step(self, name: str) -> AsyncIterator[Step]:
        """Run one step: ``ok`` when the block ends, ``FAIL`` (and stop the stack) if it raises.

        Any exception fails the step (its message, or its type when it has none); the block
        then raises an internal exception that ends the current stack's check.
        """
        step = Step(name)
        try:
            yield step
        except _StepFailed:
            raise
        except Exception as err:
            self.fail(step.name, str(err) or type(err).__name__)
            raise _StepFailed from err
        self.ok(step.name, step.detail)


# ------------------------------------------------------------------------------ REST client


class HassClient:
    """Home Assistant's REST API (``/api``, ``/auth``) for ``--check``; no websocket.

    Methods raise :class:`CheckFailed` with the status and body of an unexpected answer,
    ``aiohttp.ClientError`` when Home Assistant cannot be reached.
    """

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        """Talk to Home Assistant at ``base_url`` (``http://127.0.0.1:<port>``)."""
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.client_id = f"{self.base_url}/"
        self.token: str | None = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        form: dict[str, str] | None = None,
        auth: bool = True,
    ) -> Any:
        """Send one request and return the decoded JSON (or text) of a 2xx answer."""
        headers = {"Authorization": f"Bearer {self.token}"} if auth and self.token else {}
        async with self.session.request(
            method,
            f"{self.base_url}{path}",
            json=json_body,
            data=form,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=30),
        ) as response:
            text = await response.text()
            if response.status >= 300:
                raise CheckFailed(f"{method} {path} -> HTTP {response.status}: {text[:300]}")
            if response.content_type == "application/json":
                return json.loads(text) if text else None
            return text

    async def wait_until_up(self, is_alive: Callable[[], bool], limit: float) -> float:
        """Poll ``GET /api/onboarding`` until it answers 200; return the seconds waited.

        Raises CheckFailed if ``is_alive()`` turns False or after ``limit`` seconds.
        """
        started = time.monotonic()
        while True:
            if not is_alive():
                raise CheckFailed("Home Assistant exited while starting (see its log)")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with self.session.get(
                    f"{self.base_url}/api/onboarding", timeout=aiohttp.ClientTimeout(total=5)
                ) as response:
                    if response.status == 200:
                        return time.monotonic() - started
            if time.monotonic() - started > limit:
                raise CheckFailed(f"no answer on {self.base_url} after {limit:.0f} s")
            await asyncio.sleep(0.25)

    async def onboard(self) -> str:
        """Run the onboarding steps not done yet and keep an access token; return a summary.

        Creates :data:`CHECK_USER` (``/api/onboarding/users``), exchanges the auth code at
        ``/auth/token``, then finishes ``core_config``, ``analytics`` and ``integration``.
        Raises CheckFailed if the user step is already done (no way to log in then).
        """
        status = await self.request("GET", "/api/onboarding", auth=False)
        pending = [item["step"] for item in status if not item["done"]]
        if "user" not in pending:
            raise CheckFailed("onboarding user step already done; cannot obtain a token")
        created = await self.request(
            "POST",
            "/api/onboarding/users",
            json_body={**CHECK_USER, "client_id": self.client_id, "language": "en"},
            auth=False,
        )
        tokens = await self.request(
            "POST",
            "/auth/token",
            form={
                "grant_type": "authorization_code",
                "code": created["auth_code"],
                "client_id": self.client_id,
            },
            auth=False,
        )
        self.token = str(tokens["access_token"])
        for step in ("core_config", "analytics"):
            if step in pending:
                await self.request("POST", f"/api/onboarding/{step}", json_body={})
        if "integration" in pending:
            await self.request(
                "POST",
                "/api/onboarding/integration",
                json_body={"client_id": self.client_id, "redirect_uri": self.client_id},
            )
        return f"user {CHECK_USER['username']!r}, steps {', '.join(pending)}"

    async def flow_start(self, handler: str) -> dict[str, Any]:
        """Start a config flow (``POST /api/config/config_entries/flow``)."""
        result: dict[str, Any] = await self.request(
            "POST",
            "/api/config/config_entries/flow",
            json_body={"handler": handler, "show_advanced_options": False},
        )
        return result

    async def flow_step(self, flow_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """Answer the current step of a config flow (a form's data or a menu's next_step_id)."""
        result: dict[str, Any] = await self.request(
            "POST", f"/api/config/config_entries/flow/{flow_id}", json_body=data
        )
        return result

    async def state(self, entity_id: str) -> dict[str, Any]:
        """``GET /api/states/<entity_id>``."""
        result: dict[str, Any] = await self.request("GET", f"/api/states/{entity_id}")
        return result

    async def states(self) -> dict[str, dict[str, Any]]:
        """``GET /api/states`` keyed by entity id."""
        return {state["entity_id"]: state for state in await self.request("GET", "/api/states")}

    async def call_service(self, domain: str, service: str, data: dict[str, Any]) -> Any:
        """``POST /api/services/<domain>/<service>`` (waits until the action has run)."""
        return await self.request("POST", f"/api/services/{domain}/{service}", json_body=data)

    async def template(self, template: str) -> str:
        """Render a template (``POST /api/template``)."""
        return str(await self.request("POST", "/api/template", json_body={"template": template}))

    async def integration_entities(self, domain: str) -> set[str]:
        """Entity ids of an integration (template ``integration_entities``)."""
        rendered = await self.template(f"{{{{ integration_entities({domain!r}) | tojson }}}}")
        return set(json.loads(rendered))


# ------------------------------------------------------------------------------ stacks


@dataclass(frozen=True, slots=True, kw_only=True)
class StackContext:
    """What a stack knows when it starts.

    ``check`` is True for ``--check`` and ``--isolated`` (possibly next to an interactive run:
    use addresses, ports and identities that cannot collide with it); ``isolated`` tells
    ``--isolated`` from ``--check`` where fixed private addresses must differ between the two
    (MaxSmart's loopback hosts); ``config_dir`` is the Home Assistant configuration directory in
    use; ``hass_url`` where Home Assistant will answer.
    """

    check: bool
    config_dir: Path
    hass_url: str
    isolated: bool = False


class Stack(ABC):
    """Everything one family needs besides Home Assistant; see the module docstring."""

    name: ClassVar[str]

    def unavailable(self) -> str | None:
        """Return why this stack cannot run here (it is skipped), or None."""
        return None

    @abstractmethod
    async def start(self, context: StackContext) -> None:
        """Start emulators/servers before Home Assistant starts; StackError if impossible."""

    @abstractmethod
    async def stop(self) -> None:
        """Stop everything started; idempotent, never raises."""

    @abstractmethod
    def describe(self) -> list[str]:
        """Lines telling a user what they will see and what to enter."""

    async def check(self, hass: HassClient, report: CheckReport) -> None:
        """Drive Home Assistant through this stack's devices in ``--check`` (optional)."""


@dataclass(frozen=True, slots=True)
class _StripSpec:
    """One emulated strip of the MaxSmart stack."""

    name: str
    interactive_host: str
    check_host: str
    isolated_host: str
    serial: str
    firmware: str
    port_count: int
    mac: str
    port_names: tuple[str, ...]


DESK_PORTS = ("Monitor", "Desk lamp", "Laptop", "Speakers", "Printer", "Charger")
RACK_PORTS = ("Router", "NAS", "Switch", "Modem", "Camera hub", "Fan")
"""The emulated strips' own port names (a strip's names are shown by Home Assistant)."""


class MaxSmartStack(Stack):
    """Two emulated MaxSmart strips of different firmware plus the broadcast relay.

    Interactive: ``Desk`` (6 ports, firmware 1.30) on 127.0.0.2 and ``Rack`` (6 ports,
    firmware 2.11) on 127.0.0.3, HTTP on port 80 and UDP discovery on 8888 like real strips,
    and a relay on 0.0.0.0:8888 so that the config flow's broadcast to 127.255.255.255 finds
    both. ``--check`` uses 127.0.0.4/127.0.0.5 (``--isolated`` 127.0.0.6/127.0.0.7) and serials
    derived from its process id, so it
    never collides with an interactive run (or another check). If port 80 or 8888 cannot be
    bound (not root, or taken), the strips get free high ports and :meth:`describe` shows the
    ``host:port`` and discovery port to enter by hand.
    """

    name = "MaxSmart"

    def __init__(self) -> None:
        """Nothing runs before :meth:`start`."""
        self.emulators: list[MaxSmartEmulator] = []
        self.relay: MaxSmartBroadcastRelay | None = None
        self.fallback: list[str] = []
        self.check_mode = False

    def _specs(self, check: bool) -> list[_StripSpec]:
        # Serials must be unique per run in --check, because discovery (UDP 8888) is shared
        # with any other run on this machine and entries are keyed by serial.
        tag = os.getpid() % 10**6 if check else 0
        return [
            _StripSpec(
                name="Desk",
                interactive_host="127.0.0.2",
                check_host="127.0.0.4",
                isolated_host="127.0.0.6",
                serial=f"SWP6023{tag:06d}001",
                firmware="1.30",
                port_count=6,
                mac="BC:2B:00:00:00:02",
                port_names=DESK_PORTS,
            ),
            _StripSpec(
                name="Rack",
                interactive_host="127.0.0.3",
                check_host="127.0.0.5",
                isolated_host="127.0.0.7",
                serial=f"SWP6023{tag:06d}002",
                firmware="2.11",
                port_count=6,
                mac="BC:2B:00:00:00:03",
                port_names=RACK_PORTS,
            ),
        ]

    @override
    async def start(self, context: StackContext) -> None:
        """Start both strips (port 80/8888, else free ports) and the relay on UDP 8888.

        Raises StackError if even free ports cannot be bound (e.g. 127.0.0.2 unusable).
        """
        self.check_mode = context.check
        for spec in self._specs(context.check):
            host = spec.interactive_host
            if context.check:
                host = spec.isolated_host if context.isolated else spec.check_host
            kwargs: dict[str, Any] = {
                "serial": spec.serial,
                "name": spec.name,
                "port_count": spec.port_count,
                "firmware": spec.firmware,
                "mac": spec.mac,
                "port_names": spec.port_names,
            }
            emulator = MaxSmartEmulator(host, 80, 8888, **kwargs)
            try:
                await emulator.start()
            except OSError as err:
                self.fallback.append(f"port 80/8888 on {host} unavailable ({err.strerror or err})")
                emulator = MaxSmartEmulator(host, 0, 0, **kwargs)
                try:
                    await emulator.start()
                except OSError as err2:
                    raise StackError(f"MaxSmart: cannot bind {host}: {err2}") from err2
            self.emulators.append(emulator)
        relay = MaxSmartBroadcastRelay(8888)
        try:
            await relay.start()
        except OSError as err:
            self.fallback.append(f"broadcast relay on UDP 8888 unavailable ({err}); no discovery")
        else:
            self.relay = relay
            for emulator in self.emulators:
                relay.register(emulator)

    @override
    async def stop(self) -> None:
        """Stop the relay and the strips."""
        if self.relay is not None:
            await self.relay.stop()
            self.relay = None
        for emulator in self.emulators:
            with contextlib.suppress(Exception):
                await emulator.stop()

    @staticmethod
    def address(emulator: MaxSmartEmulator) -> str:
        """What a user enters as Host: ``host`` on port 80, else ``host:port``."""
        port = emulator.http_port
        return emulator.host if port == 80 else f"{emulator.host}:{port}"

    @override
    def describe(self) -> list[str]:
        """Where the strips are and how to add them."""
        lines = [
            "MaxSmart: Settings > Devices & services > Add integration > Switchboard > "
            "MaxSmart / Revogi lists:"
        ]
        for emulator in self.emulators:
            lines.append(
                f"  {emulator.name} ({emulator.host}, {emulator.serial}) "
                f"{emulator.port_count} ports, firmware {emulator.firmware}: "
                f"host {self.address(emulator)}, discovery port {emulator.udp_port}"
            )
        if self.fallback:
            lines.append(
                f"  note: {'; '.join(self.fallback)}; choose 'manual' and enter the host above, "
                "with the discovery port under Advanced"
            )
        return lines

    # ---------------------------------------------------------------- --check

    @override
    async def check(self, hass: HassClient, report: CheckReport) -> None:
        """Add the first strip through discovery, the second by address; toggle and measure."""
        first, second = self.emulators
        known = await hass.integration_entities("switchboard")
        async with report.step("MaxSmart: config flow menu") as step:
            flow = await hass.flow_start("switchboard")
            if flow.get("type") != "menu" or "maxsmart" not in flow.get("menu_options", []):
                raise CheckFailed(f"expected a menu offering maxsmart, got {flow}")
            step.detail = f"options {', '.join(flow['menu_options'])}"
        await self._add_via_discovery(hass, report, flow["flow_id"], first)
        known = await self._exercise(hass, report, first, known)
        await self._add_manually(hass, report, second)
        await self._exercise(hass, report, second, known)

    async def _add_via_discovery(
        self, hass: HassClient, report: CheckReport, flow_id: str, emulator: MaxSmartEmulator
    ) -> None:
        """Pick ``emulator`` from the discovery list (by address if it is not selectable)."""
        label = f"{emulator.name} (fw {emulator.firmware})"
        async with report.step("MaxSmart: discovery") as step:
            result = await hass.flow_step(flow_id, {"next_step_id": "maxsmart"})
            listed = (
                _select_options(result, "device") if result.get("step_id") == "maxsmart" else {}
            )
            ours = [serial for serial in listed if serial in {e.serial for e in self.emulators}]
            step.detail = f"{len(ours)} of our strips listed: " + "; ".join(
                listed[serial] for serial in ours
            )
        use_discovery = emulator.serial in listed and emulator.http_port == 80
        if not use_discovery:
            report.note(
                "MaxSmart: discovery",
                f"{emulator.name} not selectable there; adding it by address instead",
            )
        async with report.step(f"MaxSmart: add {label} via discovery") as step:
            if use_discovery:
                result = await hass.flow_step(flow_id, {"device": emulator.serial})
            else:
                if result.get("step_id") == "maxsmart":
                    result = await hass.flow_step(flow_id, {"device": "manual"})
                result = await hass.flow_step(flow_id, self._manual_input(emulator))
                step.name = f"MaxSmart: add {label} by address"
            step.detail = _expect_entry(result, emulator)

    async def _add_manually(
        self, hass: HassClient, report: CheckReport, emulator: MaxSmartEmulator
    ) -> None:
        """Add ``emulator`` through the address form (``host[:port]`` + discovery port)."""
        address = self.address(emulator)
        label = f"{emulator.name} (fw {emulator.firmware})"
        async with report.step(f"MaxSmart: add {label} by address {address}") as step:
            flow = await hass.flow_start("switchboard")
            result = await hass.flow_step(flow["flow_id"], {"next_step_id": "maxsmart"})
            if result.get("step_id") == "maxsmart":
                result = await hass.flow_step(flow["flow_id"], {"device": "manual"})
            if result.get("step_id") not in {"maxsmart_manual", "maxsmart_none_found"}:
                raise CheckFailed(f"expected the address form, got {result}")
            result = await hass.flow_step(flow["flow_id"], self._manual_input(emulator))
            step.detail = _expect_entry(result, emulator)

    def _manual_input(self, emulator: MaxSmartEmulator) -> dict[str, Any]:
        return {"host": self.address(emulator), "advanced": {"discovery_port": emulator.udp_port}}

    async def _exercise(
        self,
        hass: HassClient,
        report: CheckReport,
        emulator: MaxSmartEmulator,
        known: set[str],
    ) -> set[str]:
        """Find the new strip's entities, toggle port 1 off and on, read its power."""
        async with report.step(f"MaxSmart: {emulator.name} entities") as step:
            entities: set[str] = set()
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                entities = await hass.integration_entities("switchboard") - known
                if any(entity.startswith("switch.") for entity in entities):
                    break
                await asyncio.sleep(0.25)
            states = await hass.states()
            switch, power = _port_entities(states, entities, emulator.port_names[0])
            step.detail = (
                f"{sum(e.startswith('switch.') for e in entities)} switches, "
                f"{sum(e.startswith('sensor.') for e in entities)} sensors; "
                f"port 1 is {switch}, its power {power}"
            )
        for target, service in ((False, "turn_off"), (True, "turn_on")):
            async with report.step(f"MaxSmart: {service} {switch}") as step:
                await hass.call_service("switch", service, {"entity_id": switch})
                state = (await hass.state(switch))["state"]
                expected = "on" if target else "off"
                if state != expected:
                    raise CheckFailed(f"state right after {service} is {state!r}")
                if emulator.switch[0] != target:
                    raise CheckFailed(f"the emulated port 1 is still {not target}")
                step.detail = f"state {state} at once, emulated port 1 {expected}"
            async with report.step(f"MaxSmart: power {power} while {expected}") as step:
                step.detail = await _wait_power(hass, power, emulator, on=target)
        return known | entities


def _select_options(result: dict[str, Any], field_name: str) -> dict[str, str]:
    """The ``{value: label}`` options of a select field of a flow form."""
    for item in result.get("data_schema") or []:
        if item.get("name") == field_name:
            options = item.get("selector", {}).get("select", {}).get("options", [])
            return {
                str(option["value"]): str(option.get("label", option["value"]))
                for option in options
                if isinstance(option, dict)
            }
    return {}


def _expect_entry(result: dict[str, Any], emulator: MaxSmartEmulator) -> str:
    """Return a summary of a created entry; CheckFailed for anything else."""
    if result.get("type") != "create_entry":
        reason = result.get("errors") or result.get("reason") or result
        raise CheckFailed(f"no entry created: {reason}")
    entry = result.get("result") or {}
    title = entry.get("title") or result.get("title")
    if title != emulator.name:
        raise CheckFailed(f"entry titled {title!r}, expected {emulator.name!r}")
    return f"entry {title!r} ({emulator.serial}) {entry.get('state', '')}".rstrip()


def _port_entities(
    states: dict[str, dict[str, Any]], entities: set[str], port_name: str
) -> tuple[str, str]:
    """The switch of the port named ``port_name`` on the strip and its power sensor.

    Found among ``entities`` by friendly name: ``<strip> <port name>`` and
    ``<strip> <port name> power``, the names a user sees.
    """
    names = {
        entity: str(states[entity]["attributes"].get("friendly_name", ""))
        for entity in entities
        if entity in states
    }
    switches = [
        e for e, n in names.items() if e.startswith("switch.") and n.endswith(f" {port_name}")
    ]
    if len(switches) != 1:
        raise CheckFailed(f"no single {port_name!r} switch among {sorted(entities)}")
    switch = switches[0]
    power_name = f"{names[switch]} power"
    sensors = [e for e, n in names.items() if e.startswith("sensor.") and n == power_name]
    if len(sensors) != 1:
        raise CheckFailed(f"no sensor named {power_name!r} among {sorted(entities)}")
    return switch, sensors[0]


async def _wait_power(
    hass: HassClient, sensor: str, emulator: MaxSmartEmulator, *, on: bool, limit: float = 10
) -> str:
    """Poll ``sensor`` until it shows the power of port 1 (> 0 near its load when on, else 0).

    Returns a summary; raises CheckFailed with the last value after ``limit`` seconds.
    """
    load = emulator.loads[0]
    started = time.monotonic()
    value: float | None = None
    shown = "?"
    while True:
        state = await hass.state(sensor)
        shown = f"{state['state']} {state['attributes'].get('unit_of_measurement', '')}".strip()
        try:
            value = float(state["state"])
        except ValueError:
            value = None
        if value is not None and math.isfinite(value):
            good = abs(value - load) <= 0.2 * load + 1 if on else value == 0
            if good:
                waited = time.monotonic() - started
                return f"{shown} after {waited:.1f} s (emulated load {load:.1f} W)"
        if time.monotonic() - started > limit:
            expected = f"about {load:.1f} W" if on else "0"
            raise CheckFailed(f"shows {shown} after {limit:.0f} s, expected {expected}")
        await asyncio.sleep(0.2)


# ------------------------------------------------------------------------------ Meross

MEROSS_EMAIL = "meross@example.com"
MEROSS_PASSWORD = "switchboard"  # noqa: S105 (the emulated account's, printed for the user)
MEROSS_USER_ID = "4242001"
MEROSS_KEY = "5f1d0c7e6a3b48e29d7c1b0a9e8f7d6c"
"""Fixed account identity in interactive runs, so an entry made once keeps working."""
MEROSS_HTTP_PORT = 8125
MEROSS_MQTT_PORT = 8883
MEROSS_PUSH_LIMIT = 5.0
"""Seconds a push from the emulated plug may take to show in Home Assistant's REST state."""


class MerossStack(Stack):
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
    def unavailable(self) -> str | None:

        return (
            None if mosquitto_available() else "mosquitto is not installed (apt install mosquitto)"
        )

    @staticmethod
    def _port_or_free(port: int, check: bool) -> int:
        if check:
            return 0
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return 0
        return port

    @override
    async def start(self, context: StackContext) -> None:
        """Start the broker, then the cloud with its three devices; StackError on failure."""
        mqtt_port = self._port_or_free(MEROSS_MQTT_PORT, context.check)
        http_port = self._port_or_free(MEROSS_HTTP_PORT, context.check)
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
        if cloud is not None:
            with contextlib.suppress(Exception):
                await cloud.stop()
        broker, self.broker = self.broker, None
        if broker is not None:
            with contextlib.suppress(Exception):
                await broker.close()

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
            flow = await hass.flow_start("switchboard")
            if "meross" not in flow.get("menu_options", []):
                raise CheckFailed(f"expected a menu offering meross, got {flow}")
            result = await hass.flow_step(flow["flow_id"], {"next_step_id": "meross"})
            if result.get("step_id") != "meross":
                raise CheckFailed(f"expected the sign-in form, got {result}")
            result = await hass.flow_step(
                flow["flow_id"],
                {
                    "email": MEROSS_EMAIL,
                    "password": MEROSS_PASSWORD,
                    "advanced": {"api_base_url": cloud.url, "verify_ssl": False},
                },
            )
            if result.get("type") != "create_entry":
                raise CheckFailed(f"no entry created: {result.get('errors') or result}")
            entry = result.get("result") or {}
            step.detail = f"entry {entry.get('title')!r} {entry.get('state', '')}".rstrip()
        async with report.step("Meross: plug switch") as step:
            switch = await _wait_entity(hass, known, "switch.", plug.name)
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
            state = await _wait_state(hass, switch, "off", MEROSS_PUSH_LIMIT)
            step.detail = (
                f"button press off -> {switch} {state} after "
                f"{(time.monotonic() - started) * 1000:.0f} ms"
            )


async def _wait_entity(hass: HassClient, known: set[str], prefix: str, name: str) -> str:
    """The new entity of the integration with ``prefix`` and friendly name ``name`` (15 s)."""
    deadline = time.monotonic() + 15
    while True:
        entities = await hass.integration_entities("switchboard") - known
        states = await hass.states()
        found = [
            e
            for e in entities
            if e.startswith(prefix)
            and e in states
            and states[e]["attributes"].get("friendly_name") == name
            and states[e]["state"] != "unavailable"
        ]
        if found:
            return found[0]
        if time.monotonic() > deadline:
            raise CheckFailed(f"no {prefix}* named {name!r} among {sorted(entities)}")
        await asyncio.sleep(0.2)


async def _wait_state(hass: HassClient, entity_id: str, expected: str, limit: float) -> str:
    """Poll ``entity_id`` until its state is ``expected``; CheckFailed after ``limit`` s."""
    deadline = time.monotonic() + limit
    while True:
        state = (await hass.state(entity_id))["state"]
        if state == expected:
            return str(state)
        if time.monotonic() > deadline:
            raise CheckFailed(f"{entity_id} is {state!r} after {limit:.0f} s, expected {expected}")
        await asyncio.sleep(0.02)


# ------------------------------------------------------------------------------ INDI

INDI_PORT = 7624


class IndiStack(Stack):
    """The real ``indiserver`` with the telescope, CCD, focuser and filter wheel simulators.

    Interactive: port 7624 (INDI's default) if free, else a free port; ``--check``: a free
    port. indiserver runs in its own process group, which :meth:`stop` terminates (the driver
    processes with it).
    """

    name = "INDI"

    def __init__(self) -> None:
        """Nothing runs before :meth:`start`."""
        self.server: IndiServer | None = None
        self.port = 0

    @override
    def unavailable(self) -> str | None:
        if missing := indiserver_missing():
            return f"{', '.join(missing)} not on PATH (Debian package indi-bin)"
        return None

    @override
    async def start(self, context: StackContext) -> None:
        """Spawn indiserver and wait until it accepts connections (10 s)."""
        self.port = INDI_PORT
        if context.check or not _port_free(INDI_PORT):
            self.port = 0
        self.server = IndiServer(self.port)
        try:
            await asyncio.to_thread(self.server.start)
        except IndiServerError as err:
            self.server = None
            raise StackError(f"INDI: {err}") from err
        self.port = self.server.port

    @override
    async def stop(self) -> None:
        """SIGTERM indiserver's process group, SIGKILL after 5 s."""
        server, self.server = self.server, None
        if server is not None:
            await asyncio.to_thread(server.stop)

    @override
    def describe(self) -> list[str]:
        """Host and port to enter."""
        return [
            "INDI: Add integration > Switchboard > INDI server: host 127.0.0.1, "
            f"port {self.port} ({', '.join(INDI_DEVICES)})",
        ]

    @override
    async def check(self, hass: HassClient, report: CheckReport) -> None:
        """Add the server over REST, find the simulators, connect the telescope."""
        known = await hass.integration_entities("switchboard")
        async with report.step("INDI: add server") as step:
            flow = await hass.flow_start("switchboard")
            if "indi" not in flow.get("menu_options", []):
                raise CheckFailed(f"expected a menu offering indi, got {flow}")
            result = await hass.flow_step(flow["flow_id"], {"next_step_id": "indi"})
            result = await hass.flow_step(flow["flow_id"], {"host": "127.0.0.1", "port": self.port})
            if result.get("step_id") != "indi_devices":
                raise CheckFailed(f"expected the device choice, got {result}")
            found = result.get("description_placeholders", {}).get("found", "")
            result = await hass.flow_step(flow["flow_id"], {"devices": []})
            if result.get("type") != "create_entry":
                raise CheckFailed(f"no entry created: {result.get('errors') or result}")
            step.detail = f"entry {result.get('title')!r}; found {found}"
        async with report.step("INDI: entities") as step:
            switch = await _wait_connection_switch(hass, known, "Telescope Simulator")
            entities = await hass.integration_entities("switchboard") - known
            states = await hass.states()
            names = {str(states[e]["attributes"].get("friendly_name", "")) for e in entities}
            devices = [d for d in INDI_DEVICES if any(n.startswith(d) for n in names)]
            if len(devices) != len(INDI_DEVICES):
                raise CheckFailed(f"entities only for {devices}")
            step.detail = f"{len(entities)} entities for {len(devices)} simulators"
        async with report.step(f"INDI: connect the telescope ({switch})") as step:
            before = (await hass.state(switch))["state"]
            await hass.call_service("switch", "turn_on", {"entity_id": switch})
            state = await _wait_state(hass, switch, "on", 10)
            step.detail = f"{before} -> {state}"


async def _wait_connection_switch(hass: HassClient, known: set[str], device: str) -> str:
    """The CONNECTION switch of INDI ``device`` (friendly name ``<device> Connection``)."""
    deadline = time.monotonic() + 15
    while True:
        entities = await hass.integration_entities("switchboard") - known
        states = await hass.states()
        for entity in sorted(entities):
            name = str(states.get(entity, {}).get("attributes", {}).get("friendly_name", ""))
            if entity.startswith("switch.") and name.lower() == f"{device} connection".lower():
                return entity
        if time.monotonic() > deadline:
            raise CheckFailed(f"no '{device} Connection' switch among {sorted(entities)}")
        await asyncio.sleep(0.2)


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


MAXSMART_MANUFACTURER = "Max Hauri / Revogi"
"""The manufacturer MaxSmart devices carry (the platform device's ``manufacturer`` tag)."""
SEPL_PORT = 8093
"""The platform connector's port in the client library's default configuration."""
SEPL_USER = "switchboard"
SEPL_PASSWORD = "switchboard-sepl"  # noqa: S105 - the emulated account of the dev stack


class SeplStack(Stack):
    """The emulated SEPL platform connector with one account (``emulators/sepl.py``).

    Interactive: ``ws://127.0.0.1:8093`` if free, else a free port; ``--check``: a free port.
    Its check runs after the MaxSmart stack's (a strip's switches exist): the connector entry
    is added through the config flow, a platform command switches a MaxSmart port off and on,
    and the port's state events arrive on the platform.
    """

    name = "SEPL"

    def __init__(self) -> None:
        """Nothing runs before :meth:`start`."""
        self.platform: SeplPlatform | None = None

    @override
    async def start(self, context: StackContext) -> None:
        """Start the platform emulator with the account."""
        port = SEPL_PORT if not context.check and _port_free(SEPL_PORT) else 0
        self.platform = SeplPlatform(users={SEPL_USER: SEPL_PASSWORD}, port=port)
        try:
            await self.platform.start()
        except OSError as err:
            self.platform = None
            raise StackError(f"SEPL: cannot listen: {err}") from err

    @override
    async def stop(self) -> None:
        """Stop the platform emulator."""
        platform, self.platform = self.platform, None
        if platform is not None:
            with contextlib.suppress(Exception):
                await platform.stop()

    @override
    def describe(self) -> list[str]:
        """What to enter; the device types are preloaded."""
        url = self.platform.url if self.platform else "?"
        return [
            "SEPL: Add integration > Switchboard > SEPL platform connector: "
            f"URL {url}, user {SEPL_USER}, password {SEPL_PASSWORD} (device types preloaded; "
            "every Switchboard entity becomes a platform device)",
        ]

    @override
    async def check(self, hass: HassClient, report: CheckReport) -> None:
        """Connect Home Assistant, switch a MaxSmart port from the platform, see its events."""
        platform = self.platform
        assert platform is not None
        async with report.step("SEPL: add the platform connector") as step:
            flow = await hass.flow_start("switchboard")
            if "sepl" not in flow.get("menu_options", []):
                raise CheckFailed(f"expected a menu offering sepl, got {flow}")
            await hass.flow_step(flow["flow_id"], {"next_step_id": "sepl"})
            result = await hass.flow_step(
                flow["flow_id"],
                {
                    "url": platform.url,
                    "username": SEPL_USER,
                    "password": SEPL_PASSWORD,
                    "verify_ssl": True,
                },
            )
            if result.get("type") != "create_entry":
                raise CheckFailed(f"no entry created: {result.get('errors') or result}")
            step.detail = f"entry {result.get('title')!r}"
        async with report.step("SEPL: devices synchronised") as step:
            uri, entity = await self._maxsmart_port(hass, platform)
            step.detail = f"{len(platform.devices)} platform devices; {entity} is {uri}"
        for service, expected in (("turn_off", "off"), ("turn_on", "on")):
            async with report.step(f"SEPL: platform command {service} for {entity}") as step:
                started = time.monotonic()
                response = await platform.async_command(SEPL_USER, uri, service, within=15)
                outputs = response["outputs"]
                if outputs.get("status") != 200:
                    raise CheckFailed(f"response {outputs}")
                state = await _wait_state(hass, entity, expected, 10)
                event = await _wait_sepl_event(platform, uri, expected)
                step.detail = (
                    f"status 200 in {1000 * (time.monotonic() - started):.0f} ms, "
                    f"Home Assistant state {state}, platform event {event}"
                )

    @staticmethod
    async def _maxsmart_port(hass: HassClient, platform: SeplPlatform) -> tuple[str, str]:
        """The uri and entity id of a MaxSmart port switch once the platform listens to it."""
        deadline = time.monotonic() + 30
        while True:
            states = await hass.states()
            names = {
                str(state["attributes"].get("friendly_name")): entity_id
                for entity_id, state in states.items()
                if entity_id.startswith("switch.")
            }
            for (_user, uri), device in sorted(platform.devices.items()):
                entity = names.get(device.name)
                listened = any(uri in session.listening for session in platform.sessions)
                if (
                    entity is not None
                    and listened
                    and device.tags.get("domain") == "switch"
                    and device.tags.get("manufacturer") == MAXSMART_MANUFACTURER
                    and not entity.endswith("_all_ports")
                    and states[entity]["state"] == "on"
                ):
                    return uri, entity
            if time.monotonic() > deadline:
                raise CheckFailed(
                    f"no MaxSmart port switch among {len(platform.devices)} platform devices"
                )
            await asyncio.sleep(0.25)


async def _wait_sepl_event(platform: SeplPlatform, uri: str, state: str) -> str:
    """Until the platform received a ``state`` event of ``uri`` with that state."""
    deadline = time.monotonic() + 10
    while True:
        for event in reversed(platform.events):
            if event.get("uri") == uri and event["value"].get("state", {}).get("state") == state:
                return json.dumps(event["value"]["state"])
        if time.monotonic() > deadline:
            raise CheckFailed(f"no state event {state!r} for {uri}")
        await asyncio.sleep(0.1)


# ------------------------------------------------------------------------------ Midea

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
        relay_port = 0 if check or not _udp_free(MIDEA_DISCOVERY_PORT) else MIDEA_DISCOVERY_PORT
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
            cloud_port = 0 if check or not _port_free(MIDEA_CLOUD_PORT) else MIDEA_CLOUD_PORT
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
        if cloud is not None:
            with contextlib.suppress(Exception):
                await cloud.stop()
        relay, self.relay = self.relay, None
        if relay is not None:
            await relay.stop()
        for responder in self.responders:
            await responder.stop()
        self.responders.clear()
        for server in self.servers:
            with contextlib.suppress(Exception):
                await server.stop()
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
            flow = await hass.flow_start("switchboard")
            if "midea" not in flow.get("menu_options", []):
                raise CheckFailed(f"expected a menu offering midea, got {flow}")
            result = await hass.flow_step(flow["flow_id"], {"next_step_id": "midea"})
            result = await hass.flow_step(flow["flow_id"], {"next_step_id": "midea_account"})
            if result.get("step_id") != "midea_account":
                raise CheckFailed(f"expected the account form, got {result}")
            result = await hass.flow_step(
                flow["flow_id"],
                {
                    "account": MIDEA_ACCOUNT,
                    "password": MIDEA_PASSWORD,
                    "cloud": "NetHome Plus",
                    "advanced": {"api_url": cloud.url, "discovery_port": relay.port},
                },
            )
            if result.get("type") != "create_entry":
                raise CheckFailed(f"no entry created: {result.get('errors') or result}")
            step.detail = f"entry {result.get('title')!r} with {len(self.servers)} appliances"
        async with report.step("Midea: dehumidifier target humidity") as step:
            humidifier = await _wait_entity(hass, known, "humidifier.", dehumidifier.name)
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
            climate = await _wait_entity(hass, known, "climate.", air_conditioner.name)
            await hass.call_service(
                "climate", "set_hvac_mode", {"entity_id": climate, "hvac_mode": "cool"}
            )
            state = (await hass.state(climate))["state"]
            if state != "cool" or not air_conditioner.power or air_conditioner.mode != 2:
                raise CheckFailed(f"{climate} is {state!r}, appliance mode {air_conditioner.mode}")
            step.detail = f"{climate} cool at once, appliance cooling"


def _udp_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


# ------------------------------------------------------------------------------ MQTT

MQTT_PORT = 1883
MQTT_BASE_TOPIC = "switchboard"


class MqttStack(Stack):
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
    def unavailable(self) -> str | None:
        return (
            None if mosquitto_available() else "mosquitto is not installed (apt install mosquitto)"
        )

    @override
    async def start(self, context: StackContext) -> None:
        """Start the broker; StackError if it cannot."""
        port = MQTT_PORT if not context.check and _port_free(MQTT_PORT) else 0
        self.broker = Mosquitto(tls=False, port=port)
        try:
            await self.broker.start()
        except (OSError, MosquittoError, TimeoutError) as err:
            await self.stop()
            raise StackError(f"MQTT: cannot start mosquitto: {err}") from err

    @override
    async def stop(self) -> None:
        """Stop the broker (its process and files)."""
        broker, self.broker = self.broker, None
        if broker is not None:
            with contextlib.suppress(Exception):
                await broker.close()

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
            if result.get("type") != "create_entry":
                raise CheckFailed(f"no entry created: {result.get('errors') or result}")
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


STACKS: list[Callable[[], Stack]] = [
    MaxSmartStack,
    MerossStack,
    IndiStack,
    SeplStack,
    MideaStack,
    MqttStack,
]
"""The registry: one factory per family (see the module docstring); started in this order."""


# ------------------------------------------------------------------------------ Home Assistant


def prepare_config(config_dir: Path, port: int) -> None:
    """Create what Home Assistant needs besides ``configuration.yaml`` in ``config_dir``.

    * ``custom_components/switchboard``: a symlink to the repository's integration (relative
      for the repository's ``config/``, absolute elsewhere); an existing symlink is replaced,
      anything else there raises FileExistsError;
    * ``.storage/core.network``: Home Assistant's network settings with only the loopback
      adapter enabled (rewritten on every start), so discovery broadcasts reach 127.255.255.255
      and nothing else;
    * ``.storage/http``: Home Assistant's HTTP settings (rewritten on every start) as a confirmed
      configuration listening on 127.0.0.1:``port`` only. Home Assistant 2026.10 would import an
      ``http:`` YAML section once as a trial that reverts after five minutes unless confirmed
      in the UI, and ignore the YAML afterwards, so ``configuration.yaml`` has none.

    Onboarding is left to Home Assistant: every step (user, location, analytics) is the
    frontend's own. Its location step also starts ``met``, ``radio_browser`` and
    ``google_translate``, whose packages are not installed (``--skip-pip``): Home Assistant
    logs that, and onboarding is not affected.
    """
    components = config_dir / "custom_components"
    components.mkdir(parents=True, exist_ok=True)
    link = components / "switchboard"
    target = (
        Path("../../custom_components/switchboard")
        if config_dir.resolve() == CONFIG_DIR.resolve()
        else INTEGRATION_DIR
    )
    if link.is_symlink():
        link.unlink()
    elif link.exists():
        raise FileExistsError(f"{link} exists and is not a symlink; remove it")
    link.symlink_to(target, target_is_directory=True)
    storage = config_dir / ".storage"
    storage.mkdir(exist_ok=True)
    network = {
        "version": 1,
        "minor_version": 1,
        "key": "core.network",
        "data": {"configured_adapters": [LOOPBACK_ADAPTER]},
    }
    (storage / "core.network").write_text(json.dumps(network, indent=2) + "\n")
    http = {
        "version": 2,
        "minor_version": 2,
        "key": "http",
        "data": {
            "stable": {
                "server_host": ["127.0.0.1"],
                "server_port": port,
                "cors_allowed_origins": ["https://cast.home-assistant.io"],
                "login_attempts_threshold": -1,
                "ip_ban_enabled": True,
                "ssl_profile": "modern",
                "use_x_frame_options": True,
                "created_at": datetime.now(UTC).isoformat(),
                "error": None,
                "error_message": None,
            },
            "pending": None,
            "yaml_migration_done": True,
        },
    }
    (storage / "http").write_text(json.dumps(http, indent=2) + "\n")


def clear_state(config_dir: Path) -> list[str]:
    """``--fresh``: delete everything in ``config_dir`` but ``configuration.yaml``.

    That is Home Assistant's state (``.storage/``: users, entries, entities), its database and
    logs. Returns the names removed.
    """
    removed: list[str] = []
    for path in sorted(config_dir.iterdir()):
        if path.name == "configuration.yaml":
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
        removed.append(path.name)
    return removed


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to send SIGTERM to this process when its parent dies (PR_SET_PDEATHSIG)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


class HomeAssistantProcess:
    """``hass -c <config_dir> --skip-pip`` in its own process group.

    ``log_path`` None lets Home Assistant write to this terminal; otherwise its console output
    goes to that file. It dies with this process (parent-death signal, Linux).
    """

    def __init__(self, config_dir: Path, log_path: Path | None = None) -> None:
        """Describe the process; nothing runs before :meth:`start`."""
        self.config_dir = config_dir
        self.log_path = log_path
        self.process: asyncio.subprocess.Process | None = None

    @property
    def alive(self) -> bool:
        """Whether the process runs."""
        return self.process is not None and self.process.returncode is None

    async def start(self) -> None:
        """Spawn Home Assistant (returns at once; see :meth:`HassClient.wait_until_up`)."""
        hass = Path(sys.executable).with_name("hass")
        command = [str(hass)] if hass.exists() else [sys.executable, "-m", "homeassistant"]
        output: Any = None
        if self.log_path is not None:
            output = self.log_path.open("ab")
        try:
            self.process = await asyncio.create_subprocess_exec(
                *command,
                "-c",
                str(self.config_dir),
                *HASS_ARGS,
                cwd=self.config_dir,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                process_group=0,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        finally:
            if output is not None:
                output.close()

    async def wait(self) -> int:
        """Wait for the process to exit; return its exit code."""
        assert self.process is not None
        return await self.process.wait()

    async def stop(self, grace: float = HASS_STOP_TIMEOUT) -> int | None:
        """SIGTERM the process group, SIGKILL it after ``grace`` seconds; return the exit code."""
        process = self.process
        if process is None:
            return None
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                async with asyncio.timeout(grace):
                    await process.wait()
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
        # Anything Home Assistant left in its group (it starts none itself) goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        return process.returncode


# ------------------------------------------------------------------------------ orchestration


async def _start_stacks(context: StackContext, report: CheckReport) -> list[Stack]:
    """Start every available stack; skipped ones are reported; StackError propagates."""
    started: list[Stack] = []
    try:
        for factory in STACKS:
            stack = factory()
            if reason := stack.unavailable():
                report.skip(stack.name, reason)
                continue
            await stack.start(context)
            started.append(stack)
    except BaseException:
        await _stop_stacks(started)
        raise
    return started


async def _stop_stacks(stacks: Sequence[Stack]) -> None:
    for stack in reversed(stacks):
        with contextlib.suppress(Exception):
            await stack.stop()


def _tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a log file (empty if it does not exist)."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


async def run_check(limit: float = CHECK_TIMEOUT) -> int:
    """``--check``: the stacks and Home Assistant in a temporary config; 0 if all passed."""
    report = CheckReport()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="switchboard-develop-") as tmp:
        config_dir = Path(tmp)
        shutil.copy2(CONFIG_DIR / "configuration.yaml", config_dir / "configuration.yaml")
        port = unused_port()
        prepare_config(config_dir, port)
        url = f"http://127.0.0.1:{port}"
        log = config_dir / "hass-console.log"
        context = StackContext(check=True, config_dir=config_dir, hass_url=url)
        hass_process = HomeAssistantProcess(config_dir, log)
        stacks: list[Stack] = []
        try:
            async with asyncio.timeout(limit):
                stacks = await _start_stacks(context, report)
                report.ok("stacks started", ", ".join(stack.name for stack in stacks))
                for stack in stacks:
                    for line in stack.describe():
                        report.write(f"     {line}")
                await hass_process.start()
                async with aiohttp.ClientSession() as session:
                    hass = HassClient(session, url)
                    try:
                        async with report.step("home assistant started") as step:
                            waited = await hass.wait_until_up(
                                lambda: hass_process.alive, HASS_START_TIMEOUT
                            )
                            step.detail = f"{url} answered after {waited:.1f} s"
                        async with report.step("onboarding") as step:
                            step.detail = await hass.onboard()
                    except _StepFailed:
                        pass
                    else:
                        for stack in stacks:
                            with contextlib.suppress(_StepFailed):
                                await stack.check(hass, report)
        except TimeoutError:
            report.fail("overall", f"timed out after {limit:.0f} s")
        except StackError as err:
            report.fail("stacks started", str(err))
        finally:
            code = await hass_process.stop()
            await _stop_stacks(stacks)
        if code not in {None, 0}:
            report.note("home assistant", f"exit code {code} on stop")
        if report.failed:
            report.write(f"---- last lines of the Home Assistant log ({log.name}) ----")
            report.write(_tail(config_dir / "home-assistant.log") or _tail(log))
    elapsed = time.monotonic() - started
    verdict = "passed" if not report.failed else "FAILED"
    report.write(f"check {verdict}: {report.passed} ok, {report.failed} failed in {elapsed:.1f} s")
    return 1 if report.failed else 0


INFO_FILE = "develop-info.txt"
"""Written into the config directory once Home Assistant is up: what the banner said."""

CONSOLE_LOG = "home-assistant.console.log"
"""Home Assistant's console output (its own log is ``home-assistant.log`` beside it)."""


async def run_interactive(port: int, stop: asyncio.Event, *, isolated: bool = False) -> int:
    """Run the stacks and Home Assistant until ``stop`` is set; return an exit code.

    With ``config/`` on ``port``; ``isolated`` (``--isolated``) uses a temporary copy of
    ``config/``, a free HTTP port (``port`` 0) and the stacks' private addresses and free ports,
    as ``--check`` does, so it can run beside another run (the browser test uses it).
    Home Assistant's console goes to :data:`CONSOLE_LOG` in the config directory, so the
    instructions stay readable; they are printed again on Enter and by ``--info``.
    Returns 1 at once if ``port`` is taken on 127.0.0.1 or a stack cannot start, else Home
    Assistant's exit code (0 after Ctrl-C).
    """
    if not isolated:
        return await _run_interactive(CONFIG_DIR, port, stop, isolated=False)
    with tempfile.TemporaryDirectory(prefix="switchboard-develop-") as tmp:
        config_dir = Path(tmp)
        shutil.copy2(CONFIG_DIR / "configuration.yaml", config_dir / "configuration.yaml")
        return await _run_interactive(config_dir, port or unused_port(), stop, isolated=True)


async def _run_interactive(
    config_dir: Path, port: int, stop: asyncio.Event, *, isolated: bool
) -> int:
    report = CheckReport()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", port))
    except OSError as err:
        print(
            f"scripts/develop: 127.0.0.1:{port} is in use ({err.strerror}); "
            "stop what uses it or pass --port N",
            file=sys.stderr,
            flush=True,
        )
        return 1
    prepare_config(config_dir, port)
    info_file = config_dir / INFO_FILE
    info_file.unlink(missing_ok=True)
    url = f"http://127.0.0.1:{port}"
    context = StackContext(check=isolated, isolated=isolated, config_dir=config_dir, hass_url=url)
    try:
        stacks = await _start_stacks(context, report)
    except StackError as err:
        print(f"scripts/develop: {err}", file=sys.stderr, flush=True)
        return 1
    console_log = config_dir / CONSOLE_LOG
    hass_process = HomeAssistantProcess(config_dir, console_log)
    print(f"scripts/develop: starting Home Assistant (console: {console_log})", flush=True)
    stop_reprint = _reprint_on_enter(info_file)
    code = 0
    try:
        while True:
            await hass_process.start()
            async with aiohttp.ClientSession() as session:
                hass = HassClient(session, url)
                waiter = asyncio.ensure_future(hass.wait_until_up(lambda: hass_process.alive, 300))
                stopper = asyncio.ensure_future(stop.wait())
                await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
                stopper.cancel()
                if not waiter.done():
                    waiter.cancel()
                    break
                if waiter.exception() is None:
                    banner = _banner(url, config_dir, stacks, isolated=isolated)
                    info_file.write_text(banner)
                    print(banner, flush=True)
                else:
                    print(f"scripts/develop: {waiter.exception()}", flush=True)
            exited = asyncio.ensure_future(hass_process.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({exited, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if not exited.done():
                exited.cancel()
                break
            if exited.result() != RESTART_EXIT_CODE:
                code = exited.result()
                print(f"scripts/develop: Home Assistant exited ({code})", flush=True)
                break
            print("scripts/develop: restarting Home Assistant", flush=True)
    finally:
        print("scripts/develop: stopping Home Assistant and the emulators", flush=True)
        if stop_reprint is not None:
            stop_reprint()
        info_file.unlink(missing_ok=True)
        await hass_process.stop()
        await _stop_stacks(stacks)
    print("scripts/develop: stopped", flush=True)
    return code


def _reprint_on_enter(info_file: Path) -> Callable[[], None] | None:
    """On a terminal, print the instructions again whenever Enter is pressed.

    Returns the function that stops listening (None when stdin is not a terminal).
    """
    if not sys.stdin.isatty():
        return None
    loop = asyncio.get_running_loop()
    fd = sys.stdin.fileno()

    def on_input() -> None:
        sys.stdin.readline()
        with contextlib.suppress(OSError):
            print(info_file.read_text(), flush=True)

    def stop_listening() -> None:
        loop.remove_reader(fd)

    loop.add_reader(fd, on_input)
    return stop_listening


def print_info(config_dir: Path = CONFIG_DIR) -> int:
    """``--info``: print the instructions of the run using ``config_dir``; 1 if none runs."""
    try:
        print((config_dir / INFO_FILE).read_text(), flush=True)
    except OSError:
        print("scripts/develop: no development stack is running (start it with scripts/develop)")
        return 1
    return 0


def _banner(url: str, config_dir: Path, stacks: Sequence[Stack], *, isolated: bool) -> str:
    """The instructions: where Home Assistant and its logs are, what to enter per stack."""
    state = (
        "a temporary copy, deleted on exit"
        if isolated
        else "kept across runs (users, entries, history); scripts/develop --fresh starts empty"
    )
    lines = [
        "",
        f"Home Assistant is up: {url}  (Ctrl-C stops everything)",
        f"  config: {config_dir} ({state})",
        f"  logs: {config_dir / 'home-assistant.log'} (console: {config_dir / CONSOLE_LOG})",
        "  instructions again: press Enter here, or run scripts/develop --info",
        "  first visit: create a user (onboarding), then add Switchboard:",
    ]
    for stack in stacks:
        lines.extend(f"  {line}" for line in stack.describe())
    return "\n".join(lines) + "\n"


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scripts/develop",
        description=(
            "Run the emulated devices and Home Assistant with its frontend on "
            "http://127.0.0.1:PORT using config/, until Ctrl-C."
        ),
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="run headless in a temporary config, drive it over the REST API, exit 0 if all ok",
    )
    parser.add_argument(
        "--isolated",
        action="store_true",
        help="interactive, but in a temporary config on a free port with the stacks' private "
        "addresses and free ports (as --check); runs beside another run",
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="start from an empty config/ (deletes its users, entries, history and logs; "
        "configuration.yaml stays)",
    )
    parser.add_argument(
        "--info",
        action="store_true",
        help="print the instructions of the running scripts/develop again and exit",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help="HTTP port (default 8123; --check and --isolated: a free port)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=CHECK_TIMEOUT,
        help=f"--check: give up after this many seconds (default {CHECK_TIMEOUT:.0f})",
    )
    return parser


async def _main(args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    if args.check:
        task = asyncio.current_task()
        assert task is not None
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        try:
            return await run_check(args.timeout)
        except asyncio.CancelledError:
            print("FAIL check: interrupted", flush=True)
            return 130
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if args.isolated:
        return await run_interactive(args.port or 0, stop, isolated=True)
    return await run_interactive(args.port or DEFAULT_HTTP_PORT, stop)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m devtools.develop``; returns the exit status."""
    args = _build_parser().parse_args(argv)
    if args.info:
        return print_info()
    if args.fresh:
        if args.check or args.isolated:
            print("scripts/develop: --check and --isolated always start empty", flush=True)
        elif (CONFIG_DIR / INFO_FILE).exists():
            print(
                f"scripts/develop: another scripts/develop runs on config/ ({INFO_FILE} exists); "
                "stop it first",
                flush=True,
            )
            return 1
        else:
            removed = clear_state(CONFIG_DIR)
            print(
                f"scripts/develop: --fresh: removed {', '.join(removed) or 'nothing'} "
                f"from {CONFIG_DIR}",
                flush=True,
            )
    if args.check and args.port is not None:
        print("scripts/develop: --check always uses a free port; --port ignored", flush=True)
    return asyncio.run(_main(args))


if __name__ == "__main__":
    sys.exit(main())
