"""Start and stop a real Eclipse Mosquitto broker (the Debian ``mosquitto`` binary) for tests.

The broker runs as a separate process, so clients that block their event loop while connecting
(meross-iot calls paho's blocking ``connect()`` inside the loop) cannot deadlock it.

    async with Mosquitto(tls=True, users={"alice": "secret"}) as broker:
        broker.port, broker.tls_port, broker.ca_cert_path
        await broker.restart()          # same ports, clients see a dropped connection

A plain listener is always opened on ``port``; ``tls=True`` adds a TLS listener on ``tls_port``
with a certificate signed by a throw-away CA written to ``ca_cert_path``. With ``users`` the broker
checks passwords (``allow_anonymous false`` unless asked otherwise); users can be added later with
``add_user`` (the password file is reloaded with SIGHUP; ``wait_user`` waits until it is).
``anonymous_tls_listener=True`` opens one more TLS listener without any authentication
(``anonymous_tls_port``).
"""

import asyncio
import base64
from collections.abc import Mapping
import contextlib
import datetime
import hashlib
import ipaddress
import os
from pathlib import Path
import pwd
import secrets
import shutil
import signal
import ssl
import tempfile
import time
from types import TracebackType
from typing import Self

from aiohttp.test_utils import unused_port
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HOST = "127.0.0.1"
_SEARCH_PATH = os.pathsep.join(
    [os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin", "/opt/homebrew/sbin"]
)


def mosquitto_binary() -> str | None:
    """Return the path of the mosquitto executable, or None (Debian installs it in /usr/sbin)."""
    return shutil.which("mosquitto", path=_SEARCH_PATH)


def mosquitto_available() -> bool:
    """Tell whether a mosquitto broker can be started (for ``pytest.skip``)."""
    return mosquitto_binary() is not None


def _connect_packet(username: str | None = None, password: str | None = None) -> bytes:
    """An MQTT 3.1.1 CONNECT: clean session, keepalive 60 s, empty client id.

    With credentials if given (short ones: the remaining length fits one byte).
    """
    flags = 0x02
    payload = b"\x00\x00"
    for flag, text in ((0x80, username), (0x40, password)):
        if text is not None:
            flags |= flag
            data = text.encode()
            payload += len(data).to_bytes(2, "big") + data
    body = b"\x00\x04MQTT\x04" + bytes([flags]) + b"\x00\x3c" + payload
    if len(body) > 127:
        raise ValueError("user name and password too long for this probe")
    return bytes([0x10, len(body)]) + body


def hash_password(password: str, *, iterations: int = 101) -> str:
    """Hash a password the way ``mosquitto_passwd`` does (``$7$``: PBKDF2-SHA512)."""
    salt = secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def write_self_signed_tls(directory: Path, hosts: tuple[str, ...] = (HOST, "localhost")) -> None:
    """Write ``ca.crt`` and the ``server.crt``/``server.key`` pair that CA signs."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Switchboard test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    (directory / "ca.crt").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    (directory / "server.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "server.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


class MosquittoError(RuntimeError):
    """The broker could not be started."""


class Mosquitto:
    """A mosquitto process on 127.0.0.1 with a plain and an optional TLS listener."""

    def __init__(
        self,
        *,
        tls: bool = True,
        users: Mapping[str, str] | None = None,
        allow_anonymous: bool | None = None,
        port: int = 0,
        tls_port: int = 0,
        anonymous_tls_listener: bool = False,
        start_timeout: float = 10.0,
    ) -> None:
        """Prepare a broker; nothing runs until ``start()`` (or ``async with``).

        ``allow_anonymous`` defaults to True without ``users`` and False with them (decided
        when the broker starts). ``anonymous_tls_listener`` adds a TLS listener on
        ``anonymous_tls_port`` that accepts any client, for clients whose user names a password
        file cannot hold (mosquitto splits its lines at the first ``:``, so no MAC addresses).
        """
        binary = mosquitto_binary()
        if binary is None:
            raise MosquittoError("mosquitto is not installed (Debian: apt-get install mosquitto)")
        self._binary = binary
        self.tls = tls
        self.users: dict[str, str] = dict(users or {})
        self.allow_anonymous = allow_anonymous
        self.port = port or unused_port()
        self.tls_port = (tls_port or unused_port()) if tls else 0
        self.anonymous_tls_port = unused_port() if anonymous_tls_listener else 0
        self._start_timeout = start_timeout
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._password_file_used = False

    @property
    def directory(self) -> Path:
        """Folder holding the configuration, password file, certificates and log."""
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="switchboard-mosquitto-")
        return Path(self._tmp.name)

    @property
    def ca_cert_path(self) -> Path:
        """PEM file of the CA that signed the broker certificate (trust it in clients)."""
        return self.directory / "ca.crt"

    @property
    def log_path(self) -> Path:
        """The broker's log file."""
        return self.directory / "mosquitto.log"

    @property
    def running(self) -> bool:
        """Whether the broker process is alive."""
        return self._process is not None and self._process.returncode is None

    def client_ssl_context(self, *, verify: bool = True) -> ssl.SSLContext:
        """Return a client context that trusts the broker's CA (or checks nothing)."""
        if not verify:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        return ssl.create_default_context(cafile=str(self.ca_cert_path))

    def add_user(self, username: str, password: str) -> None:
        """Add or change a user; a running broker reloads its password file."""
        if ":" in username:
            raise ValueError("mosquitto password files cannot hold user names with ':'")
        self.users[username] = password
        if self._process is not None and self._process.returncode is None:
            if not self._password_file_used:
                raise RuntimeError("anonymous broker: add users before start(), or restart()")
            self._write_password_file()
            self._process.send_signal(signal.SIGHUP)

    async def wait_user(self, username: str, password: str, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        """Wait until the running broker accepts ``username``.

        mosquitto reloads its password file after :meth:`add_user` in its own time; the user is
        in once a CONNECT with the credentials on the plain listener gets CONNACK code 0.
        Raises ``TimeoutError`` after ``timeout`` s.
        """
        async with asyncio.timeout(timeout):
            while await self._connack(_connect_packet(username, password)) != 0:  # noqa: ASYNC110 - nothing to wait on but the broker's answer
                await asyncio.sleep(0.02)

    async def _connack(self, connect: bytes) -> int | None:
        """Send ``connect`` to the plain listener; the CONNACK's return code, or None."""
        try:
            reader, writer = await asyncio.open_connection(HOST, self.port)
        except OSError:
            return None
        try:
            writer.write(connect)
            reply = await reader.read(4)
        except OSError:
            return None
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        return reply[3] if len(reply) == 4 and reply[0] == 0x20 else None

    def _write_password_file(self) -> None:
        path = self.directory / "passwd"
        path.write_text("".join(f"{user}:{hash_password(pw)}\n" for user, pw in self.users.items()))
        path.chmod(0o600)

    def _write_config(self) -> Path:
        directory = self.directory
        allow_anonymous = (not self.users) if self.allow_anonymous is None else self.allow_anonymous
        # Without anonymous access, always name a (maybe empty) password file, so add_user works
        # while the broker runs.
        self._password_file_used = bool(self.users) or not allow_anonymous
        auth = [f"allow_anonymous {'true' if allow_anonymous else 'false'}"]
        if self._password_file_used:
            self._write_password_file()
            auth.append(f"password_file {directory / 'passwd'}")
        tls = [
            f"cafile {directory / 'ca.crt'}",
            f"certfile {directory / 'server.crt'}",
            f"keyfile {directory / 'server.key'}",
        ]
        if (self.tls or self.anonymous_tls_port) and not (directory / "server.crt").exists():
            write_self_signed_tls(directory)
        lines = [
            # As root, mosquitto would switch to user "mosquitto" and lose access to our files.
            f"user {pwd.getpwuid(os.geteuid()).pw_name}",
            "per_listener_settings true",
            "persistence false",
            f"log_dest file {directory / 'mosquitto.log'}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
            f"listener {self.port} {HOST}",
            *auth,
        ]
        if self.tls:
            lines += [f"listener {self.tls_port} {HOST}", *tls, *auth]
        if self.anonymous_tls_port:
            lines += [f"listener {self.anonymous_tls_port} {HOST}", *tls, "allow_anonymous true"]
        conf = directory / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n")
        return conf

    def _open_stderr(self) -> int:
        return os.open(self.directory / "stderr.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)

    def _failure_text(self) -> str:
        texts = []
        for name in ("stderr.log", "mosquitto.log"):
            with contextlib.suppress(OSError):
                texts.append((self.directory / name).read_text()[-2000:])
        return "\n".join(texts)

    async def start(self) -> None:
        """Start the broker and wait until every listener accepts connections."""
        if self.running:
            return
        conf = self._write_config()
        stderr = self._open_stderr()
        try:
            self._process = await asyncio.create_subprocess_exec(
                self._binary,
                "-c",
                str(conf),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=stderr,
            )
        finally:
            os.close(stderr)
        ports = [p for p in (self.port, self.tls_port, self.anonymous_tls_port) if p]
        deadline = time.monotonic() + self._start_timeout
        for port in ports:
            while True:
                if self._process.returncode is not None:
                    raise MosquittoError(f"mosquitto exited:\n{self._failure_text()}")
                try:
                    _, writer = await asyncio.open_connection(HOST, port)
                except OSError:
                    if time.monotonic() > deadline:
                        await self.stop()
                        raise MosquittoError(
                            f"mosquitto did not listen on {port}:\n{self._failure_text()}"
                        ) from None
                    await asyncio.sleep(0.02)
                    continue
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
                break
        await self._wait_main_loop(deadline)

    async def _wait_main_loop(self, deadline: float) -> None:
        """Wait until the broker answers a CONNECT on its plain listener with a CONNACK.

        mosquitto listens before it installs its signal handlers, so a listener accepting
        connections does not mean the broker is ready: a SIGHUP (:meth:`add_user`) in that
        window terminates it (on a loaded machine the window is long enough to hit). The
        handlers are in place before its main loop runs, and only the main loop answers a
        CONNECT (refused or not, a CONNACK: ``0x20``).
        """
        while True:
            if self._process is None or self._process.returncode is not None:
                raise MosquittoError(f"mosquitto exited:\n{self._failure_text()}")
            code = None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.1, deadline - time.monotonic())):
                    code = await self._connack(_connect_packet())
            if code is not None:
                return
            if time.monotonic() > deadline:
                await self.stop()
                raise MosquittoError(
                    f"mosquitto did not answer on {self.port}:\n{self._failure_text()}"
                )
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        """Stop the broker (clients see their connection drop); keeps config and certificates."""
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 5)
        except TimeoutError:
            process.kill()
            await process.wait()

    async def restart(self, downtime: float = 0.0) -> None:
        """Stop the broker, stay down ``downtime`` seconds, then start it on the same ports."""
        await self.stop()
        if downtime:
            await asyncio.sleep(downtime)
        await self.start()

    async def close(self) -> None:
        """Stop the broker and remove its folder."""
        await self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    async def __aenter__(self) -> Self:
        """Start the broker."""
        try:
            await self.start()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the broker and remove its files."""
        await self.close()
