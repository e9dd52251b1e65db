"""Development stack: emulated devices plus Home Assistant with its frontend (``scripts/develop``).

``python -m devtools.develop [--port 8123]`` starts every available *stack* (two emulated
MaxSmart strips of different firmware; a mosquitto broker with TLS, the emulated Meross cloud
and a Meross plug, strip and thermostat; the real ``indiserver`` with four simulators when
``indiserver`` is on PATH), prepares ``config/`` (``configuration.yaml`` is
tracked; the script creates ``config/custom_components/switchboard`` as a symlink to the
repository's integration, ``config/.storage/core.network`` with only the loopback adapter
enabled, so discovery never leaves loopback, and ``config/.storage/http`` listening on
127.0.0.1 only; see :func:`devtools.develop.hass.prepare_config`) and runs Home Assistant on
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

The parts: :mod:`devtools.develop.stack` (what a stack is, how to add one, the helpers stacks
share), :mod:`devtools.develop.stacks` (one module per family and the :data:`STACKS` registry),
:mod:`devtools.develop.hass` (the config directory, Home Assistant's process and REST client),
:mod:`devtools.develop.report` (the ``--check`` report); this module runs them.
"""

import argparse
import asyncio
from collections.abc import Callable, Sequence
import contextlib
from pathlib import Path
import shutil
import signal
import socket
import sys
import tempfile
import time

import aiohttp
from aiohttp.test_utils import unused_port

from devtools.develop.hass import (
    CONFIG_DIR,
    HASS_START_TIMEOUT,
    RESTART_EXIT_CODE,
    HassClient,
    HomeAssistantProcess,
    clear_state,
    prepare_config,
)
from devtools.develop.report import CheckReport, StepFailed
from devtools.develop.stack import Stack, StackContext, StackError
from devtools.develop.stacks import STACKS

DEFAULT_HTTP_PORT = 8123
CHECK_TIMEOUT = 180.0


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
                    except StepFailed:
                        pass
                    else:
                        for stack in stacks:
                            with contextlib.suppress(StepFailed):
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
