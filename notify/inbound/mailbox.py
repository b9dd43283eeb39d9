"""The IMAP mailbox the sites answer to: connect, list what is to do, fetch, move, wait.

Everything still in `[inbound] folder` is to do: a message is moved out (to the
processed or the unreadable folder) only after what it meant was committed, so the
folder itself is the work queue, and a crash leaves nothing half done (the next pass
finds the committed row by the message's key and only moves the message).

Built on aioimaplib (asyncio), which lacks a few things added here: STARTTLS, a LOGIN
that quotes the user name, AUTHENTICATE PLAIN for UTF-8 passwords, commands that fail
at once when the connection drops instead of waiting for their time-out, UID MOVE with
the RFC 6851 fallback, folder names in modified UTF-7, and a FETCH reader that keeps
each message's bytes with its UID (the wire's pieces are in `notify.inbound.imap`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Sequence
from typing import Any, TypeVar

import aioimaplib

from meetings.core.settings import InboundSettings
from notify.inbound.imap import Client, Fetch, Fetched, folder_name, parse_fetch, uid_set

T = TypeVar("T")

#: How long one command may go without a word from the server.
COMMAND_SECONDS = 60.0
#: An IDLE is renewed this often (RFC 2177: servers may drop one idle for 30 minutes).
IDLE_SECONDS = 25 * 60.0


class MailboxError(Exception):
    """The mailbox cannot be reached or used: the text says which and why, for the log."""


def tls_context(settings: InboundSettings) -> ssl.SSLContext:
    """Verifies the server's certificate and name, against `imap_cafile` when set, else
    against the system's authorities; never switched off."""
    cafile = str(settings.imap_cafile) if settings.imap_cafile else None
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class Mailbox:
    """One logged-in IMAP session on the inbound folder; `connect()` opens it."""

    def __init__(self, settings: InboundSettings, *, timeout: float = COMMAND_SECONDS) -> None:
        self.settings = settings
        self.timeout = timeout
        self._lost = asyncio.Event()
        self._client: Any = None

    @property
    def where(self) -> str:
        return f"{self.settings.imap_host}:{self.settings.imap_port}"

    @property
    def can_idle(self) -> bool:
        return self._has("IDLE")

    def _has(self, capability: str) -> bool:
        return self._client is not None and capability in self._client.protocol.capabilities

    # -- opening ----------------------------------------------------------------------

    async def open(self) -> None:
        """Connects (TLS or STARTTLS), logs in, makes the processed and unreadable folders
        when missing, and selects the inbound folder."""
        settings = self.settings
        context = tls_context(settings)
        implicit = settings.imap_tls == "tls"
        self._client = Client(
            host=settings.imap_host,
            port=settings.imap_port,
            timeout=self.timeout,
            conn_lost_cb=self._connection_lost,
            ssl_context=context if implicit else None,
        )
        try:
            await self._client.wait_hello_from_server()
        except ssl.SSLCertVerificationError as error:
            raise MailboxError(f"{self.where}: certificate not trusted: {error}") from None
        except (OSError, TimeoutError) as error:
            raise MailboxError(f"{self.where}: cannot connect: {error!r}") from None
        if not implicit:
            await self._starttls(context)
        await self._login()
        for folder in (settings.processed_folder, settings.unreadable_folder):
            await self._ensure_folder(folder)
        response = await self._call(
            self._client.protocol.select(folder_name(settings.folder)), "SELECT"
        )
        self._ok(response, f"SELECT {settings.folder}")

    async def _starttls(self, context: ssl.SSLContext) -> None:
        protocol = self._client.protocol
        if "STARTTLS" not in protocol.capabilities:
            raise MailboxError(f"{self.where}: the server offers no STARTTLS")
        command = aioimaplib.Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)
        self._ok(await self._call(protocol.execute(command), "STARTTLS"), "STARTTLS")
        loop = asyncio.get_running_loop()
        try:
            transport = await asyncio.wait_for(
                loop.start_tls(
                    protocol.transport, protocol, context, server_hostname=self.settings.imap_host
                ),
                self.timeout,
            )
        except ssl.SSLCertVerificationError as error:
            raise MailboxError(f"{self.where}: certificate not trusted: {error}") from None
        except (OSError, TimeoutError, ssl.SSLError) as error:
            raise MailboxError(f"{self.where}: STARTTLS failed: {error!r}") from None
        protocol.transport = transport
        # What the server offered before TLS is not to be trusted (RFC 3501 6.2.1).
        await self._call(protocol.capability(), "CAPABILITY")

    async def _login(self) -> None:
        """AUTHENTICATE PLAIN (UTF-8 safe) when offered with SASL-IR, else LOGIN."""
        settings, protocol = self.settings, self._client.protocol
        user, password = settings.imap_user, settings.imap_password
        if self._has("AUTH=PLAIN") and self._has("SASL-IR"):
            token = base64.b64encode(f"\0{user}\0{password}".encode()).decode("ascii")
            command = aioimaplib.Command(
                "AUTHENTICATE", protocol.new_tag(), "PLAIN", token, loop=protocol.loop
            )
            response = await self._call(protocol.execute(command, scrub=token), "AUTHENTICATE")
        elif self._has("LOGINDISABLED"):
            raise MailboxError(f"{self.where}: the server refuses to log in (LOGINDISABLED)")
        else:
            command = aioimaplib.Command(
                "LOGIN",
                protocol.new_tag(),
                aioimaplib.quoted(user),
                aioimaplib.quoted(password),
                loop=protocol.loop,
            )
            response = await self._call(
                protocol.execute(command, scrub=aioimaplib.quoted(password)), "LOGIN"
            )
        if response.result != "OK":
            raise MailboxError(
                f"{self.where}: login refused for {user!r}: {_text(response.lines[-1:])}"
            )
        protocol.state = aioimaplib.AUTH
        await self._call(protocol.capability(), "CAPABILITY")

    async def _ensure_folder(self, name: str) -> None:
        """CREATE, accepted when the folder is already there (another worker, or before);
        subscribed so that a mail client shows it."""
        protocol = self._client.protocol
        encoded = folder_name(name)
        created = await self._call(protocol.simple_command("CREATE", encoded), "CREATE")
        if created.result != "OK":
            if b"[ALREADYEXISTS]" in bytes(created.lines[-1]):
                return
            # No response code: is it there? (aioimaplib gives "* LIST …" without "LIST";
            # the last line is the completion's text.)
            listed = await self._call(protocol.simple_command("LIST", '""', encoded), "LIST")
            if listed.result != "OK" or len(listed.lines) < 2:
                raise MailboxError(
                    f"{self.where}: cannot create folder {name!r}: {_text(created.lines[-1:])}"
                )
            return
        await self._call(protocol.simple_command("SUBSCRIBE", encoded), "SUBSCRIBE")

    # -- work -------------------------------------------------------------------------

    async def uids(self) -> list[int]:
        """Every message still in the folder (not flagged deleted), oldest first."""
        response = await self._call(
            self._client.protocol.search("UNDELETED", charset=None, by_uid=True), "UID SEARCH"
        )
        self._ok(response, "UID SEARCH")
        found: list[int] = []
        # aioimaplib leaves out the "SEARCH" word of "* SEARCH 1 2 3"; the last line is
        # the tagged completion's text.
        for line in response.lines[:-1]:
            words = bytes(line).split()
            if words[:1] == [b"SEARCH"]:
                words = words[1:]
            if all(word.isdigit() for word in words):
                found.extend(int(word) for word in words)
        return sorted(found)

    async def fetch(self, uids: Sequence[int]) -> list[Fetched]:
        """The messages' bytes, without setting \\Seen (BODY.PEEK): one that is not
        applied stays unread for whoever looks at the mailbox."""
        if not uids:
            return []
        # FETCH's own timer restarts with each piece received: a large chunk is fine.
        protocol = self._client.protocol
        command = Fetch(
            protocol.new_tag(),
            uid_set(uids),
            "(UID BODY.PEEK[])",
            prefix="UID",
            loop=protocol.loop,
            timeout=self.timeout,
        )
        response = await self._call(protocol.execute(command), "UID FETCH", limit=None)
        self._ok(response, "UID FETCH", gone_ok=True)
        return parse_fetch(response.lines)

    async def move(self, uids: Sequence[int], folder: str) -> None:
        """UID MOVE when the server has it; else COPY, flag \\Deleted, expunge those UIDs
        (UID EXPUNGE with UIDPLUS; a plain EXPUNGE otherwise, RFC 6851 section 3.3)."""
        if not uids:
            return
        protocol, which, target = self._client.protocol, uid_set(uids), folder_name(folder)
        if self._has("MOVE"):
            response = await self._call(protocol.move(which, target, by_uid=True), "UID MOVE")
            self._ok(response, f"UID MOVE to {folder}", gone_ok=True)
            return
        copied = await self._call(protocol.copy(which, target, by_uid=True), "COPY")
        self._ok(copied, "UID COPY", gone_ok=True)
        stored = await self._call(
            protocol.store(which, "+FLAGS.SILENT", r"(\Deleted)", by_uid=True), "STORE"
        )
        self._ok(stored, "UID STORE", gone_ok=True)
        if self._has("UIDPLUS"):
            expunged = await self._call(protocol.expunge(which, by_uid=True), "EXPUNGE")
        else:
            expunged = await self._call(protocol.expunge(), "EXPUNGE")
        self._ok(expunged, "EXPUNGE")

    async def wait(
        self, seconds: float, stopping: asyncio.Event, *, waiting: asyncio.Event | None = None
    ) -> None:
        """Until new mail arrives (IDLE, when the server has it), `stopping` is set, or
        `seconds` pass (the caller's poll interval without IDLE; IDLE is renewed).
        `waiting` is set while this listens (the server has confirmed the IDLE)."""
        waiting = waiting if waiting is not None else asyncio.Event()
        try:
            await self._wait(seconds, stopping, waiting)
        finally:
            waiting.clear()

    async def _wait(self, seconds: float, stopping: asyncio.Event, waiting: asyncio.Event) -> None:
        if not self.can_idle:
            waiting.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._first(stopping.wait()), seconds)
            if self._lost.is_set():
                raise MailboxError(f"{self.where}: connection lost")
            return
        client = self._client
        while not client.protocol.idle_queue.empty():  # pushes of an earlier IDLE
            client.protocol.idle_queue.get_nowait()
        seconds = min(seconds, IDLE_SECONDS)
        idle = await self._call(client.idle_start(timeout=seconds), "IDLE")
        waiting.set()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        try:
            while not stopping.is_set():
                left = deadline - loop.time()
                if left <= 0:
                    break
                push = asyncio.ensure_future(client.wait_server_push(timeout=left + 1))
                stop = asyncio.ensure_future(stopping.wait())
                lost = asyncio.ensure_future(self._lost.wait())
                done, pending = await asyncio.wait(
                    {push, stop, lost}, return_when=asyncio.FIRST_COMPLETED
                )
                for task in pending:
                    task.cancel()
                if lost in done:
                    raise MailboxError(f"{self.where}: connection lost while idle")
                if push not in done or push.exception() is not None:
                    break
                lines = push.result()
                if lines == aioimaplib.STOP_WAIT_SERVER_PUSH or any(
                    b"EXISTS" in line for line in lines if isinstance(line, bytes)
                ):
                    break
                # "OK Still here", flags of another client: not new mail; idle on.
        finally:
            if client.has_pending_idle() and not self._lost.is_set():
                client.idle_done()
                with contextlib.suppress(MailboxError):
                    await self._call(idle, "IDLE DONE")

    async def close(self) -> None:
        """LOGOUT and close; never raises (the connection may be gone already)."""
        client, self._client = self._client, None
        if client is None:
            return
        with contextlib.suppress(Exception):
            if not self._lost.is_set() and not client.has_pending_idle():
                await asyncio.wait_for(client.protocol.logout(), 5)
        if client.protocol.transport is None:
            return  # never connected
        with contextlib.suppress(Exception):
            client.protocol.transport.close()
        # TLS closes in steps (close_notify, then the socket): let them run, or the socket
        # is left open when the event loop ends.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._lost.wait(), 5)

    # -- plumbing ---------------------------------------------------------------------

    def _connection_lost(self, error: Exception | None) -> None:
        self._lost.set()

    async def _first(self, awaitable: Awaitable[T]) -> T:
        """`awaitable`, unless the connection is lost first."""
        task = asyncio.ensure_future(awaitable)
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            await asyncio.wait({task, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
        if not task.done():
            task.cancel()
            raise MailboxError(f"{self.where}: connection lost")
        return task.result()

    async def _call(self, awaitable: Awaitable[T], what: str, *, limit: float | None = -1) -> T:
        """A command that fails with MailboxError when the connection drops, the server
        is silent for `timeout`, or aioimaplib refuses it."""
        seconds = self.timeout if limit == -1 else limit
        try:
            if seconds is None:
                return await self._first(awaitable)
            return await asyncio.wait_for(self._first(awaitable), seconds)
        except (TimeoutError, aioimaplib.CommandTimeout):
            raise MailboxError(f"{self.where}: {what} timed out") from None
        except aioimaplib.AioImapException as error:
            raise MailboxError(f"{self.where}: {what} failed: {error}") from None

    def _ok(self, response: Any, what: str, *, gone_ok: bool = False) -> None:
        """Raises unless OK. `gone_ok`: a NO [EXPUNGEISSUED] is fine (another worker moved
        some of these messages out meanwhile; RFC 5530), the others were done."""
        if gone_ok and response.result == "NO" and b"[EXPUNGEISSUED]" in bytes(response.lines[-1]):
            return
        if response.result != "OK":
            raise MailboxError(
                f"{self.where}: {what}: {response.result} {_text(response.lines[-1:])}"
            )


def _text(lines: Sequence[Any]) -> str:
    return " ".join(bytes(line).decode("utf-8", "replace") for line in lines).strip()


@contextlib.asynccontextmanager
async def connect(
    settings: InboundSettings, *, command_seconds: float = COMMAND_SECONDS
) -> AsyncIterator[Mailbox]:
    """An open mailbox, logged out and closed on leaving (also when opening fails)."""
    mailbox = Mailbox(settings, timeout=command_seconds)
    try:
        await mailbox.open()
        yield mailbox
    finally:
        await mailbox.close()
