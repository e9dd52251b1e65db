"""Home Assistant for the development stack: its config directory, its process, its REST API.

:func:`prepare_config` readies a config directory (the integration linked in, loopback-only
network and HTTP settings), :class:`HomeAssistantProcess` runs ``hass`` in its own process
group, and :class:`HassClient` drives it over the REST API (``--check``, the benchmarks).
"""

import asyncio
from collections.abc import Callable
import contextlib
import ctypes
from datetime import UTC, datetime
import json
import os
from pathlib import Path
import shutil
import signal
import sys
import time
from typing import Any

import aiohttp

from devtools.develop.report import CheckFailed

REPO_ROOT = Path(__file__).resolve().parents[2]
"""The repository (``scripts/develop`` runs from here)."""

CONFIG_DIR = REPO_ROOT / "config"
"""The developer's Home Assistant configuration directory (only configuration.yaml tracked)."""

INTEGRATION_DIR = REPO_ROOT / "custom_components" / "switchboard"

HASS_START_TIMEOUT = 90.0
HASS_STOP_TIMEOUT = 30.0
RESTART_EXIT_CODE = 100
"""Exit code with which Home Assistant asks its supervisor for a restart."""

LOOPBACK_ADAPTER = "lo"

HASS_ARGS = ("--skip-pip", "--log-no-color")
"""Home Assistant never installs packages here: ``scripts/setup`` owns ``.venv``."""

CHECK_USER = {"name": "Switchboard Developer", "username": "dev", "password": "switchboard-dev"}
"""The owner account ``--check`` creates during onboarding (in a throw-away config only)."""


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
        self.refresh_token: str | None = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        form: dict[str, str] | None = None,
        auth: bool = True,
        limit: float = 30,
    ) -> Any:
        """Send one request and return the decoded JSON (or text) of a 2xx answer.

        ``limit``: seconds for the whole request. An access token lives 30 minutes: on a 401
        the token is refreshed (``/auth/token``, ``grant_type=refresh_token``) and the request
        sent once more.
        """
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self.token}"} if auth and self.token else {}
            async with self.session.request(
                method,
                f"{self.base_url}{path}",
                json=json_body,
                data=form,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=limit),
            ) as response:
                text = await response.text()
                status, content_type = response.status, response.content_type
            if status == 401 and auth and self.refresh_token and attempt == 1:
                tokens = await self.request(
                    "POST",
                    "/auth/token",
                    form={
                        "grant_type": "refresh_token",
                        "refresh_token": self.refresh_token,
                        "client_id": self.client_id,
                    },
                    auth=False,
                )
                self.token = str(tokens["access_token"])
                continue
            break
        if status >= 300:
            raise CheckFailed(f"{method} {path} -> HTTP {status}: {text[:300]}")
        if content_type == "application/json":
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
        self.refresh_token = str(tokens["refresh_token"])
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

    async def flow_menu(self, option: str) -> tuple[str, dict[str, Any]]:
        """Start Switchboard's config flow and pick ``option`` (a family) in its menu.

        Returns the flow id and the step the option leads to; CheckFailed when the menu does
        not offer ``option``.
        """
        flow = await self.flow_start("switchboard")
        if flow.get("type") != "menu" or option not in flow.get("menu_options", []):
            raise CheckFailed(f"expected a menu offering {option}, got {flow}")
        return flow["flow_id"], await self.flow_step(flow["flow_id"], {"next_step_id": option})

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


def expect_entry(result: dict[str, Any]) -> dict[str, Any]:
    """The entry a flow step created (``result["result"]``); CheckFailed for anything else."""
    if result.get("type") != "create_entry":
        raise CheckFailed(
            f"no entry created: {result.get('errors') or result.get('reason') or result}"
        )
    entry: dict[str, Any] = result.get("result") or {}
    return entry


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


async def terminate_process_group(process: asyncio.subprocess.Process, grace: float) -> None:
    """SIGTERM the process group ``process`` leads, SIGKILL it after ``grace`` seconds.

    Returns once ``process`` has exited; a group that is already gone is no error.
    """
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        async with asyncio.timeout(grace):
            await process.wait()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()


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
            await terminate_process_group(process, grace)
        # Anything Home Assistant left in its group (it starts none itself) goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        return process.returncode
