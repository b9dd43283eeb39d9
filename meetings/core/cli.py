"""The `giaoban` command: serve, migrate, manage accounts and the register, load the demo."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import secrets
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.core.config import ConfigError, default_config_path
from meetings.core.logs import log_to_console
from meetings.core.settings import Settings, load_settings

T = TypeVar("T")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="giaoban", description="Online multi-site briefing sessions (giao ban trực tuyến)."
    )
    parser.add_argument("--config", type=Path, help="configuration file (default: ./config.toml)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the web service")
    serve.add_argument("--host", help="override [server] host")
    serve.add_argument("--port", type=int, help="override [server] port")

    commands.add_parser(
        "scheduler",
        help="run only the scheduler, the delivery worker and the mailbox reader"
        " (when the web runs elsewhere)",
    )
    commands.add_parser("jobs", help="list the scheduler's stored jobs, soonest first")

    database = commands.add_parser("db", help="database schema")
    db_commands = database.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="apply pending migrations")

    users = commands.add_parser("users", help="accounts")
    user_commands = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    add = user_commands.add_parser("add", help="create an account")
    add.add_argument("username")
    add.add_argument(
        "--role",
        required=True,
        choices=["admin", "organiser", "secretary", "chair", "cluster_leader"],
    )
    add.add_argument("--cluster", help="the code of a cluster leader's cluster", metavar="CODE")
    add.add_argument("--full-name", default="")
    add.add_argument("--email")
    add.add_argument(
        "--password",
        help="the password (default: ask, or generate and print one when not on a terminal)",
    )
    user_commands.add_parser("list", help="list accounts")

    tokens = commands.add_parser("tokens", help="API bearer tokens")
    token_commands = tokens.add_subparsers(dest="tokens_command", required=True, metavar="ACTION")
    create = token_commands.add_parser("create", help="make a token for USER and print it once")
    create.add_argument("username", metavar="USER")
    create.add_argument("--name", default="", help="what the token is for")
    revoke = token_commands.add_parser("revoke", help="revoke every token of USER")
    revoke.add_argument("username", metavar="USER")

    register = commands.add_parser("sites", help="the site register")
    site_commands = register.add_subparsers(dest="sites_command", required=True, metavar="ACTION")
    imp = site_commands.add_parser("import", help="import sites from a CSV or XLSX file")
    imp.add_argument("file", type=Path)
    imp.add_argument("--dry-run", action="store_true", help="check and report; write nothing")
    exp = site_commands.add_parser("export", help="export all sites as CSV")
    exp.add_argument("file", nargs="?", default="-", help="output file (default: stdout)")

    commands.add_parser("demo", help="load illustrative demo data and print the demo accounts")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(args.config or default_config_path(), overrides=_overrides(args))
        return _dispatch(args, settings)
    except ConfigError as exc:
        print(f"giaoban: configuration error: {exc}", file=sys.stderr)
        return 2
    except CommandError as exc:
        print(f"giaoban: {exc}", file=sys.stderr)
        return 1
    except ValidationError as exc:
        print(f"giaoban: {_validation_summary(exc)}", file=sys.stderr)
        return 1


def _overrides(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """`serve --host/--port` win over the file and the environment, so that links built
    from an empty public_url follow them too."""
    server = {
        key: value
        for key, value in (
            ("host", getattr(args, "host", None)),
            ("port", getattr(args, "port", None)),
        )
        if value is not None
    }
    return {"server": server} if server else {}


def _validation_summary(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())


class CommandError(Exception):
    """A command failed for a reason the user can act on; printed as one line."""


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "serve":
        return _serve(settings)
    if args.command == "db":
        from meetings.core.migrate import upgrade

        upgrade(settings.database)
        print(f"database is up to date ({_describe_database(settings)})")
        return 0
    _require_schema(settings)
    if args.command == "users":
        return _users(args, settings)
    if args.command == "tokens":
        return _tokens(args, settings)
    if args.command == "sites":
        return _sites(args, settings)
    if args.command == "demo":
        return _demo(settings)
    if args.command == "scheduler":
        return _scheduler(settings)
    if args.command == "jobs":
        return _jobs(settings)
    raise CommandError(f"unknown command {args.command}")


def _describe_database(settings: Settings) -> str:
    url = settings.database.url
    return url.split("@")[-1] if "@" in url else url


def _require_schema(settings: Settings) -> None:
    from meetings.core.migrate import current_revision_is_head, upgrade

    if settings.server.is_development:
        upgrade(settings.database)
    elif not current_revision_is_head(settings.database):
        raise CommandError("the database schema is not up to date: run `giaoban db upgrade`")


def _serve(settings: Settings) -> int:
    from aiohttp import web

    from meetings.core.app import create_app
    from meetings.core.keys import listening_key

    _require_schema(settings)
    log_to_console(settings.server.log_format)
    host, port = settings.server.host, settings.server.port
    app = create_app(settings)

    def announce(_: str) -> None:
        # aiohttp calls this once the socket listens, so the line means "ready".
        print(f"giaoban: serving on http://{host}:{port}/  (config: {settings.source})", flush=True)
        print(f"giaoban: links point at {settings.server.public_url}/", flush=True)
        app[listening_key].set()  # start-up checks that need the server up may run

    web.run_app(app, host=host, port=port, print=announce, access_log=None)
    return 0


def run_with_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one transaction against the configured database, then dispose; the
    packages react to its events as they would in the app (a cancellation is queued)."""
    from meetings.core.app import receivers
    from meetings.core.store import create_engine, session_maker

    async def go() -> T:
        engine = create_engine(settings.database)
        try:
            async with session_maker(engine, signals=receivers())() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def _domain_guard(
    work: Callable[[AsyncSession], Awaitable[T]],
) -> Callable[[AsyncSession], Awaitable[T]]:
    async def guarded(session: AsyncSession) -> T:
        from meetings.core.errors import DomainError, Invalid

        try:
            return await work(session)
        except Invalid as exc:
            lines = [exc.message] + [
                f"  line {p.line}, {p.field}: {p.message}"
                if p.line
                else f"  {p.field}: {p.message}"
                for p in exc.problems
            ]
            raise CommandError("\n".join(lines)) from None
        except DomainError as exc:
            raise CommandError(exc.message) from None
        except ValidationError as exc:
            raise CommandError(_validation_summary(exc)) from None

    return guarded


def _users(args: argparse.Namespace, settings: Settings) -> int:
    from meetings.accounts import accounts
    from meetings.accounts.models import Role, UserCreate

    if args.users_command == "list":
        for user in run_with_session(settings, _domain_guard(accounts.list_users)):
            state = "" if user.is_active else " (inactive)"
            print(f"{user.username}\t{user.role}\t{user.full_name}{state}")
        return 0
    password = args.password
    generated = False
    if password is None:
        if sys.stdin.isatty():
            password = getpass.getpass("Password (10 characters or more): ")
        else:
            password, generated = secrets.token_urlsafe(12), True

    async def create(session: AsyncSession) -> object:
        from meetings.register import sites

        cluster = (await sites.cluster_by_code(session)).get(args.cluster or "")
        if args.cluster and cluster is None:
            raise CommandError(f"no cluster with the code {args.cluster}")
        data = UserCreate(
            username=args.username,
            role=Role(args.role),
            full_name=args.full_name,
            email=args.email,
            password=password,
            cluster_id=cluster.id if cluster else None,
        )
        return await accounts.create_user(session, data)

    run_with_session(settings, _domain_guard(create))
    print(
        f"created {args.role} {args.username}" + (f" with password {password}" if generated else "")
    )
    return 0


def _tokens(args: argparse.Namespace, settings: Settings) -> int:
    from meetings.accounts import accounts

    if args.tokens_command == "revoke":
        count = run_with_session(
            settings, _domain_guard(lambda s: accounts.revoke_tokens(s, username=args.username))
        )
        print(f"revoked {count} token(s) of {args.username}")
        return 0
    token = run_with_session(
        settings,
        _domain_guard(lambda s: accounts.create_token(s, username=args.username, name=args.name)),
    )
    print(token)
    return 0


def _sites(args: argparse.Namespace, settings: Settings) -> int:
    from meetings.register import export, files, imports

    if args.sites_command == "export":
        data = run_with_session(settings, _domain_guard(export.export_sites_csv))
        if args.file == "-":
            sys.stdout.buffer.write(data)
        else:
            Path(args.file).write_bytes(data)
        return 0
    path: Path = args.file
    if not path.is_file():
        raise CommandError(f"no such file: {path}")
    kind = files.kind_from_name(path.name)
    report = run_with_session(
        settings,
        _domain_guard(
            lambda s: imports.import_sites(
                s, content=path, kind=kind, dry_run=args.dry_run, limits=settings.imports
            )
        ),
    )
    verb = "would import" if report.dry_run else "imported"
    print(
        f"{verb} {report.total} sites: {report.created} new, {report.updated} changed, "
        f"{report.unchanged} unchanged"
    )
    return 0


def _demo(settings: Settings) -> int:
    from meetings.core import demo, demo_sessions
    from notify.inbound import demo as demo_mail

    async def load(session: AsyncSession) -> tuple[int, list[str], list[demo.DemoAccount]]:
        from meetings.core.store import utcnow

        created = await demo.load_demo(session)
        sessions = await demo_sessions.load_reference_sessions(
            session, hall=settings.organisation.hall, now=utcnow()
        )
        await demo_mail.load_demo_mail(session, now=utcnow())
        return created, sessions, await demo.demo_accounts(session)

    created, sessions, people = run_with_session(settings, load)
    print(f"demo data loaded: {created} new sites ({demo.ILLUSTRATIVE} outside cluster 1)")
    for title in sessions:
        print(f"demo session: {title}")
    print("demo accounts (passwords are new at every run of `giaoban demo`):")
    for person in people:
        print(f"  {person.role:<14} {person.username:<10} {person.password}")
    return 0


def _scheduler(settings: Settings) -> int:
    """The app's background parts (scheduler, delivery) without the web server."""
    import dataclasses
    import signal

    from aiohttp import web

    from meetings.core.app import create_app

    log_to_console(settings.server.log_format)
    settings = dataclasses.replace(
        settings, scheduler=dataclasses.replace(settings.scheduler, enabled=True)
    )

    async def run() -> None:
        runner = web.AppRunner(create_app(settings))
        await runner.setup()  # runs the cleanup contexts: database, delivery, scheduler
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        print(f"giaoban: scheduler running (config: {settings.source})", flush=True)
        await stop.wait()
        await runner.cleanup()

    asyncio.run(run())
    return 0


def _jobs(settings: Settings) -> int:
    from zoneinfo import ZoneInfo

    from scheduler.service import stored_jobs

    zone = ZoneInfo(settings.organisation.timezone)
    rows = stored_jobs(settings.scheduler.jobstore_url)
    if not rows:
        print("no stored jobs (they are rebuilt from the sessions when the scheduler starts)")
    for job_id, name, when in rows:
        shown = when.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if when else "paused"
        print(f"{shown}  {name:<32}  {job_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
