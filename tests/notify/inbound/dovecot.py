"""A real IMAP server for the tests: Debian's Dovecot 2.3, run in a temporary directory.

API (the fixtures are in tests/notify/inbound/conftest.py)::

    server = Dovecot.start()          # or the session fixture `dovecot_server`
    box = server.new_mailbox()        # or the fixture `dovecot`: a fresh user per test
    server.new_mailbox(bare=True)     # a user offered IMAP4rev1 only (no IDLE/MOVE/UIDPLUS)
    box.deliver(raw: bytes, folder="INBOX") -> Path   # as an MTA does (Maildir tmp/ → new/)
    box.deliver_many(raws, folder="INBOX") -> None    # the same for thousands, quickly
    box.folder_count(name="INBOX") -> int             # files in the folder (incl. \\Deleted)
    box.messages(name="INBOX") -> list[bytes]         # their bytes, oldest first
    box.inbound(tls="tls" | "starttls", **more) -> dict  # the [inbound] settings section
    box.environ() -> {"GIAOBAN_IMAP_PASSWORD": …}        # make_settings(…, environ=…)
    server.host, server.tls_port, server.starttls_port, server.cafile, server.stop()

Dovecot listens on 127.0.0.1 at two free ports: IMAP with STARTTLS, and IMAPS (TLS from
the first byte); `ssl = required`, so no password crosses in clear. Its certificate is
for 127.0.0.1, signed by a CA the test makes (tests/tls.py): clients trust it through
`[inbound] imap_cafile`, never by switching verification off. Users are in a
passwd-file (re-read by Dovecot when it changes, so each test adds its own user and
sees only its own mail); mail is Maildir under the temporary directory. Nothing outside
that directory is read or written (`-c` names our configuration; base_dir, state_dir
and the log are ours).

Run as root (here and in CI), Dovecot refuses to give mail uid 0: mail belongs to
`nobody`, the server's own processes run as the `dovecot`/`dovenull` users the Debian
package creates. Run as anyone else, everything is the current user.
"""

from __future__ import annotations

import grp
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.tls import Certificates, make_certificates

DOVECOT = "/usr/sbin/dovecot"
HOST = "127.0.0.1"
PASSWORD = "mật khẩu thử"  # spaces and non-ASCII: LOGIN must quote it (a literal)
#: Users written into the passwd-file at a time (see `Dovecot._add_users`).
USERS = 200
_users = itertools.count(1)
_files = itertools.count(1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class _Accounts:
    """Who Dovecot runs as, and who owns the mail."""

    internal_user: str
    login_user: str
    mail_uid: int
    mail_gid: int

    @classmethod
    def here(cls) -> _Accounts:
        if os.geteuid() != 0:
            me = pwd.getpwuid(os.geteuid()).pw_name
            return cls(me, me, os.geteuid(), os.getegid())
        nobody = pwd.getpwnam("nobody")
        return cls("dovecot", "dovenull", nobody.pw_uid, nobody.pw_gid)


class Dovecot:
    """One running Dovecot; `stop()` ends it and removes its directory."""

    def __init__(self, root: Path, certificates: Certificates, accounts: _Accounts) -> None:
        self.root = root
        self.host = HOST
        self.cafile = certificates.ca
        self.certificates = certificates
        self.accounts = accounts
        self.starttls_port = _free_port()
        self.tls_port = _free_port()
        self.users_file = root / "users"
        self.mail_root = root / "mail"
        self.log = root / "dovecot.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._unused: dict[str, list[str]] = {"site": [], "bare": []}
        self._stamp = 0

    @classmethod
    def start(cls, *, timeout: float = 20.0) -> Dovecot:
        """Starts a server and returns once both ports answer (or raises with its log)."""
        if not Path(DOVECOT).exists():
            raise RuntimeError(f"{DOVECOT} is missing: apt-get install dovecot-imapd")
        # Not pytest's tmp_path: its parents are 0700, and the mail processes run as
        # another user who must reach the Maildirs.
        root = Path(tempfile.mkdtemp(prefix="giaoban-dovecot-"))
        root.chmod(0o755)
        (root / "tls").mkdir()
        server = cls(root, make_certificates(root / "tls"), _Accounts.here())
        try:
            server._launch(timeout)
        except BaseException:
            server.stop()
            raise
        return server

    def _configuration(self) -> str:
        root, accounts = self.root, self.accounts
        return f"""\
base_dir = {root}/run
state_dir = {root}/state
log_path = {self.log}
instance_name = giaoban-test-{root.name}
protocols = imap
listen = {HOST}
ssl = required
ssl_cert = <{self.certificates.chain}
ssl_key = <{self.certificates.key}
ssl_min_protocol = TLSv1.2
default_internal_user = {accounts.internal_user}
default_internal_group = {grp.getgrgid(pwd.getpwnam(accounts.internal_user).pw_gid).gr_name}
default_login_user = {accounts.login_user}
auth_mechanisms = plain login
# A wrong password is tested on purpose: no 2 s delay, and no penalty growing per
# failure from 127.0.0.1 (every test connects from there).
auth_failure_delay = 0
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
mail_location = maildir:~/Maildir
first_valid_uid = 1
first_valid_gid = 1
mail_max_userip_connections = 100
service imap-login {{
  inet_listener imap {{
    address = {HOST}
    port = {self.starttls_port}
  }}
  inet_listener imaps {{
    address = {HOST}
    port = {self.tls_port}
    ssl = yes
  }}
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.users_file}
}}
userdb {{
  driver = static
  args = uid={accounts.mail_uid} gid={accounts.mail_gid} home={self.mail_root}/%u
}}
"""

    def _launch(self, timeout: float) -> None:
        for name in ("run", "state"):
            (self.root / name).mkdir()
        self.mail_root.mkdir()
        os.chown(self.mail_root, self.accounts.mail_uid, self.accounts.mail_gid)
        self.users_file.write_text("")
        self.users_file.chmod(0o644)
        self._add_users()
        config = self.root / "dovecot.conf"
        config.write_text(self._configuration())
        with (self.root / "stderr.log").open("wb") as stderr:
            self._process = subprocess.Popen(
                [DOVECOT, "-F", "-c", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        waiting = {self.starttls_port, self.tls_port}
        while waiting:
            if self._process.poll() is not None:
                raise RuntimeError(f"dovecot exited ({self._process.returncode}):\n{self.logs()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"dovecot did not listen within {timeout}s:\n{self.logs()}")
            for port in list(waiting):
                try:
                    socket.create_connection((HOST, port), timeout=1).close()
                    waiting.discard(port)
                except OSError:
                    pass
            if waiting:
                time.sleep(0.02)

    def logs(self) -> str:
        """The server's log and its stderr: what a failing test shows."""
        parts = []
        for path in (self.root / "stderr.log", self.log):
            if path.exists():
                parts.append(path.read_text(errors="replace"))
        return "\n".join(parts)

    def new_mailbox(self, *, bare: bool = False) -> Mailbox:
        """A user of its own with an empty mailbox (its Maildir made, INBOX only).
        `bare`: the server offers this user IMAP4rev1 alone after login — no IDLE, MOVE
        or UIDPLUS, as older servers — through Dovecot's per-user `imap_capability`."""
        kind = "bare" if bare else "site"
        fresh = self._unused[kind]
        if not fresh:
            self._add_users()
        box = Mailbox(self, fresh.pop(0), PASSWORD)
        box.folder_path("INBOX")
        return box

    def _add_users(self) -> None:
        """USERS more of each kind in the passwd-file. Dovecot re-reads it when its
        mtime changes, in whole seconds, and looks at most once a second: users added
        one at a time during a run would now and then be unknown for a second, so they
        are added by the hundred, and a later batch waits for the next second."""
        later = bool(self._stamp)
        while later and int(time.time()) <= self._stamp:
            time.sleep(0.05)
        lines = []
        for kind, extra in (("site", ""), ("bare", "userdb_imap_capability=IMAP4rev1")):
            for _ in range(USERS if kind == "site" else USERS // 10):
                user = f"{kind}{next(_users)}"
                self._unused[kind].append(user)
                lines.append(f"{user}:{{PLAIN}}{PASSWORD}::::::{extra}\n")
        with self.users_file.open("a", encoding="utf-8") as users:
            users.writelines(lines)
        self._stamp = int(time.time())
        while later and int(time.time()) <= self._stamp:  # a look this second missed it
            time.sleep(0.05)

    def stop(self) -> None:
        """Ends Dovecot (its master ends its children) and removes its directory."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


class Mailbox:
    """One user's mailbox: what the tests deliver into and look at, behind IMAP's back."""

    def __init__(self, server: Dovecot, user: str, password: str) -> None:
        self.server = server
        self.user = user
        self.password = password
        self.maildir = server.mail_root / user / "Maildir"

    #: The variable `[inbound] imap_password_env` names in `inbound()`.
    PASSWORD_ENV = "GIAOBAN_IMAP_PASSWORD"

    def inbound(self, tls: str = "tls", **more: Any) -> dict[str, Any]:
        """The `[inbound]` settings section for this mailbox (`tls`: "tls"/"starttls");
        the password comes from the environment, as in production: give `environ()`
        to `make_settings(..., environ=box.environ(), inbound=box.inbound())`."""
        server = self.server
        return {
            "enabled": True,
            "address": "giaoban@inbound.example.gov.vn",
            "imap_host": server.host,
            "imap_port": server.tls_port if tls == "tls" else server.starttls_port,
            "imap_tls": tls,
            "imap_cafile": str(server.cafile),
            "imap_user": self.user,
            "imap_password_env": self.PASSWORD_ENV,
        } | more

    def environ(self) -> dict[str, str]:
        return {self.PASSWORD_ENV: self.password}

    def folder_path(self, name: str = "INBOX") -> Path:
        """The Maildir folder for an IMAP name (Maildir++: ".Name", "/" → "."), made with
        the mail owner when missing, as Dovecot would."""
        inbox = name.upper() == "INBOX"
        path = self.maildir if inbox else self.maildir / ("." + name.replace("/", "."))
        if not (path / "new").exists():
            uid, gid = self.server.accounts.mail_uid, self.server.accounts.mail_gid
            for folder in (self.maildir.parent, self.maildir, path):
                folder.mkdir(mode=0o700, exist_ok=True)
                os.chown(folder, uid, gid)
            for sub in ("cur", "new", "tmp"):
                (path / sub).mkdir(mode=0o700, exist_ok=True)
                os.chown(path / sub, uid, gid)
        return path

    def deliver(self, raw: bytes, folder: str = "INBOX") -> Path:
        """Puts one message into the folder the way an MTA does: written whole into tmp/,
        then renamed into new/ (so the server never sees half a message)."""
        path = self.folder_path(folder)
        return self._deliver(
            raw, path, self.server.accounts.mail_uid, self.server.accounts.mail_gid
        )

    def deliver_many(self, raws: Iterable[bytes], folder: str = "INBOX") -> None:
        """`deliver` for many messages (10,000 in a few seconds)."""
        path = self.folder_path(folder)
        uid, gid = self.server.accounts.mail_uid, self.server.accounts.mail_gid
        for raw in raws:
            self._deliver(raw, path, uid, gid)

    @staticmethod
    def _deliver(raw: bytes, path: Path, uid: int, gid: int) -> Path:
        name = f"{time.time_ns()}.P{os.getpid()}Q{next(_files)}.giaoban-test"
        temporary = path / "tmp" / name
        with temporary.open("wb") as file:
            file.write(raw)
        os.chown(temporary, uid, gid)
        final = path / "new" / name
        temporary.rename(final)
        return final

    def _files(self, name: str) -> list[Path]:
        path = self.folder_path(name)
        files = [*(path / "new").iterdir(), *(path / "cur").iterdir()]
        return sorted(files, key=lambda file: file.name)

    def folder_count(self, name: str = "INBOX") -> int:
        """How many messages the folder holds (a \\Deleted one not yet expunged counts)."""
        return len(self._files(name))

    def messages(self, name: str = "INBOX") -> list[bytes]:
        """The folder's messages, in the order of their file names (delivery order for
        mail that `deliver` put there)."""
        return [file.read_bytes() for file in self._files(name)]
