"""Start and stop the real ``indiserver`` (Debian ``indi-bin``) with the C++ simulators.

One launcher for the tests (``tests/indi/conftest.py``) and the development stack
(``devtools/develop``)::

    with IndiServer() as server:        # port 0: a free port on 127.0.0.1
        server.port

The server runs in its own session (process group), so its driver processes stop with it, and
on its own local socket name (``-u``): the default ``/tmp/indiserver`` allows only one
indiserver per machine, so a developer's running server would break the tests.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from types import TracebackType
from typing import Self

from aiohttp.test_utils import unused_port

HOST = "127.0.0.1"

SIMULATORS = (
    "indi_simulator_telescope",
    "indi_simulator_ccd",
    "indi_simulator_focus",
    "indi_simulator_wheel",
)
"""The drivers started by default (all in ``indi-bin``)."""

SIMULATOR_DEVICES = (
    "Telescope Simulator",
    "CCD Simulator",
    "Focuser Simulator",
    "Filter Simulator",
)
"""The INDI device names of :data:`SIMULATORS`, in the same order."""


class IndiServerError(RuntimeError):
    """indiserver exited at start or did not accept connections in time."""


def indiserver_missing(drivers: tuple[str, ...] = SIMULATORS) -> list[str]:
    """The executables among ``indiserver`` and ``drivers`` that are not on PATH."""
    return [name for name in ("indiserver", *drivers) if shutil.which(name) is None]


class IndiServer:
    """``indiserver -p PORT -u /tmp/indiserver-switchboard-PORT DRIVERS...``.

    ``port`` 0 picks a free port at :meth:`start`. :meth:`start` blocks until the server
    accepts TCP connections on 127.0.0.1 (``timeout`` seconds, else :class:`IndiServerError`);
    async callers run it with ``asyncio.to_thread``. :meth:`stop` is idempotent: SIGTERM to the
    process group, SIGKILL after 5 s.
    """

    def __init__(self, port: int = 0, drivers: tuple[str, ...] = SIMULATORS) -> None:
        """Describe the server; nothing runs before :meth:`start`."""
        self.port = port
        self.drivers = drivers
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> None:
        """Spawn indiserver and wait until it accepts connections."""
        binary = shutil.which("indiserver")
        if binary is None:
            raise IndiServerError("indiserver is not installed (Debian package indi-bin)")
        if not self.port:
            self.port = unused_port()
        self.process = subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
            [
                binary,
                "-p",
                str(self.port),
                "-u",
                f"/tmp/indiserver-switchboard-{self.port}",  # noqa: S108 - abstract socket name
                *self.drivers,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                code = self.process.returncode
                self.stop()
                raise IndiServerError(f"indiserver exited with {code} on port {self.port}")
            try:
                socket.create_connection((HOST, self.port), timeout=0.5).close()
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise IndiServerError(
                        f"indiserver does not accept connections on {self.port} "
                        f"after {timeout:.0f} s"
                    ) from None
                time.sleep(0.01)
                continue
            return

    def stop(self) -> None:
        """Terminate indiserver's process group (its drivers with it)."""
        process, self.process = self.process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)

    def __enter__(self) -> Self:
        """Start the server."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop the server."""
        self.stop()
