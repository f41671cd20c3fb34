"""`kenning serve` and `kenning user`: the household server and its users."""

from __future__ import annotations

import gc
import getpass
import sys
from typing import Annotated

import typer
from rich.markup import escape

from kenning.cli import JsonFlag, UserError, _database, _print_json, _settings, app, err, out
from kenning.lazy import lazy_module

_users = lazy_module("kenning.users")  # (argon2 and the database: loaded when needed)

user_app = typer.Typer(help="Users of `kenning serve`: add, remove, passwords, app tokens.",
                       invoke_without_command=True)
app.add_typer(user_app, name="user")

StdinFlag = Annotated[bool, typer.Option(
    "--password-stdin", help="Read the password from the first line of standard input.")]


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise UserError("no terminal to ask for a password: use --password-stdin", 2)
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password again: "):
        raise UserError("the two passwords differ")
    return first


def _call(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except _users.UserError as exc:
        raise UserError(str(exc)) from exc


@user_app.callback()
def users(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List users with their folders."""
    if ctx.invoked_subcommand is not None:
        return
    rows = _users.list_users(_database(_settings(ctx)))
    if as_json:
        return _print_json(rows)
    for row in rows:
        flags = ", ".join(f for f, on in (("admin", row["admin"]),
                                          ("cannot sign in", not row["can_log_in"])) if on)
        out.print(f"{row['name']}{f'  ({flags})' if flags else ''}", markup=False)
        for path in row["mounts"]:
            out.print(f"    {path}", markup=False)


@user_app.command("add")
def user_add(ctx: typer.Context, name: str,
             admin: Annotated[bool, typer.Option("--admin", help="May add folders.")] = False,
             mount: Annotated[list[str] | None, typer.Option(
                 "--mount", help="A folder of this user's photos (repeatable).")] = None,
             password_stdin: StdinFlag = False) -> None:
    """Add a user who can sign in to `kenning serve`."""
    from pathlib import Path

    from kenning.pipeline.indexer import FolderError, check_folder, ensure_mount
    from kenning.server.background import ProcessorClient

    settings = _settings(ctx)
    db = _database(settings)
    try:  # every folder checked before the user is made: a refusal leaves nothing behind
        for folder in mount or []:
            check_folder(Path(folder), settings.own_paths)
    except FolderError as exc:
        raise UserError(str(exc), 2) from exc
    who = _call(_users.add_user, db, name, _read_password(password_stdin), admin)
    running_server = ProcessorClient(db)  # a running `kenning serve` picks these up
    for folder in mount or []:
        try:
            added = ensure_mount(db, who.name, Path(folder), settings.own_paths)
        except FolderError as exc:  # (changed since it was checked)
            _users.remove_user(db, who.name)
            raise UserError(str(exc), 2) from exc
        running_server.request(added.id)
    if mount:
        running_server.watch_mounts()
    out.print(f"added {who.name}{' (admin)' if who.is_admin else ''}", markup=False)


@user_app.command("remove")
def user_remove(ctx: typer.Context, name: str,
                yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False) -> None:
    """Remove a user and everything Kenning found for them (never their files)."""
    db = _database(_settings(ctx))
    if not yes and not typer.confirm(f"remove {name} with their people, tags and folders?"):
        raise typer.Exit(1)
    _call(_users.remove_user, db, name)
    out.print(f"removed {name}", markup=False)


@user_app.command("passwd")
def user_passwd(ctx: typer.Context, name: str, password_stdin: StdinFlag = False,
                revoke_tokens: Annotated[bool, typer.Option(
                    "--revoke-tokens", help="Also revoke every app token of the user.")]
                = False) -> None:
    """Set a user's password (signs them out of every browser at once)."""
    db = _database(_settings(ctx))
    before = _users.find_user(db, name)
    revoked = _call(_users.set_password, db, name, _read_password(password_stdin), revoke_tokens,
                    first_admin=True)
    out.print(f"password of {name} changed"
              + (f"; {revoked} app token(s) revoked" if revoke_tokens else ""), markup=False)
    if before is not None and not before.is_admin and _users.find_user(db, name).is_admin:
        out.print(f"{name} is now the admin (the library had none)", markup=False)


@user_app.command("rename")
def user_rename(ctx: typer.Context, name: str, new_name: str) -> None:
    """Give a user another name (e.g. `local`, the name `kenning index` gives a new
    library's owner, to your own). Everything stays theirs."""
    _call(_users.rename_user, _database(_settings(ctx)), name, new_name)
    out.print(f"{name} is now {new_name}", markup=False)


@user_app.command("admin")
def user_admin(ctx: typer.Context, name: str,
               undo: Annotated[bool, typer.Option("--undo", help="Take admin away.")] = False
               ) -> None:
    """Make a user an admin (or not, with --undo)."""
    _call(_users.set_admin, _database(_settings(ctx)), name, not undo)
    out.print(f"{name} is {'no longer ' if undo else ''}an admin", markup=False)


@user_app.command("token")
def user_token(ctx: typer.Context, name: str,
               label: Annotated[str, typer.Option("--label", help="What it is for.")] = "app",
               as_json: JsonFlag = False) -> None:
    """Make an app token for NAME (for the REST API and WebDAV clients); shown once."""
    db = _database(_settings(ctx))
    who = _users.find_user(db, name)
    if who is None:
        raise UserError(f"no user {name!r}")
    token = _call(_users.create_token, db, who.id, label)
    if as_json:
        return _print_json(token)
    out.print(token["token"], markup=False)


def _first_sign_in(db) -> None:
    """A library made with `kenning index` has an owner but no password yet: ask for one
    (at a terminal), so the server shows that same library rather than a second one."""
    users = _users.list_users(db)
    if any(u["can_log_in"] for u in users):
        return
    if not users:
        err.print("[yellow]no user can sign in yet[/]: add one with `kenning user add NAME "
                  "--admin`")
        return
    owner = _users.library_owner(db)
    folders = next(u["mounts"] for u in users if u["name"] == owner)
    where = f" (owner of {', '.join(folders)})" if folders else ""
    if not sys.stdin.isatty():
        err.print(f"[yellow]no user can sign in yet[/]: {escape(f'`kenning user passwd {owner}`')}"
                  f" sets a password for {escape(owner + where)}, the library's owner")
        return
    err.print(f"Choose a password for {owner}{where} to sign in to the web page "
              f"(`kenning user rename {owner} NEW` changes the name).", markup=False)
    _call(_users.set_password, db, owner, _read_password(False), first_admin=True)
    err.print(f"{owner} can now sign in", markup=False)


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8080,
    workers: Annotated[int, typer.Option(
        min=1, max=64, help="Server processes (more answer more requests at once).")] = 1,
    watch: Annotated[bool, typer.Option(help="Watch folders for new files.")] = True,
    rescan_minutes: Annotated[float, typer.Option(
        min=0.05, help="Re-scan every folder this often, as a safety net.")] = 60.0,
    process: Annotated[bool, typer.Option(help="Process files in the background.")] = True,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = False,
    systemd: Annotated[bool, typer.Option(
        "--systemd", help="Print a systemd unit that runs this same command at boot, "
                          "and exit.")] = False,
) -> None:
    """Run the web UI, REST API (/api/docs) and WebDAV (/dav), and process new files."""
    if systemd:
        args = [f"--{name.replace('_', '-')}={value}" for name, value, default in (
            ("host", host, "127.0.0.1"), ("port", port, 8080), ("workers", workers, 1),
            ("rescan_minutes", rescan_minutes, 60.0)) if value != default]
        args += [f"--no-{name}" for name, on in (("watch", watch), ("process", process))
                 if not on] + (["--access-log"] if access_log else [])
        return _print_unit(_settings(ctx), args)
    from kenning.db import Database
    from kenning.pipeline.indexer import FolderError, check_library_apart
    from kenning.server.app import create_app
    from kenning.server.background import Processor, ProcessorClient

    settings = _settings(ctx)
    db = _database(settings)
    try:  # a database moved into a photo folder: serving that folder would lose writes
        check_library_apart(db, settings.own_paths)
    except FolderError as exc:
        raise UserError(f"{exc}; the server would read its own database as photos: move "
                        "it out of the folder (database_url)") from exc
    _first_sign_in(db)
    # The plain asyncio loop: uvloop serves a few connections very late under load
    # (p99 of 1 s where asyncio gives 0.1 s in bench/server_load.py).
    options = {"log_level": "warning", "loop": "asyncio", "access_log": access_log,
               "server_header": False, "host": host, "port": port,
               # Client addresses come from the connection; X-Forwarded-For only from the
               # reverse proxies named in `trusted_proxies` (else anyone could claim any
               # address and slip past the log-in throttle).
               "proxy_headers": bool(settings.trusted_proxies),
               "forwarded_allow_ips": settings.trusted_proxies or "",
               "timeout_keep_alive": 5,
               # Stopping waits this long for requests in progress, then ends them.
               "timeout_graceful_shutdown": 2}
    from kenning.server.processes import check_port

    try:
        check_port(host, port)
    except OSError as exc:
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    where = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
    err.print(f"Kenning {where}  (API docs {where}api/docs, WebDAV {where}dav/)", markup=False)

    def make_app(index: int):
        own = db if workers == 1 else Database(settings.db_url)
        if not process:
            runner = None
        elif index == 0:
            runner = Processor(settings, own, rescan_minutes * 60, watch)
        else:
            runner = ProcessorClient(own)
        app = create_app(settings, own, runner)
        # What is loaded now lives as long as the server: keep it out of the garbage
        # collector's full passes, which otherwise pause every request (tens of ms).
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 20, 20)  # a request makes thousands of short-lived objects
        return app

    try:
        if workers == 1:
            from kenning.server.processes import run_one

            run_one(make_app(0), options)
        else:
            from kenning.server.processes import serve as serve_processes

            db.dispose()  # each process opens its own connections after the fork
            serve_processes(make_app, host, port, workers, options)
    except OSError as exc:
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


def _print_unit(settings, serve_args: list[str]) -> None:
    import os

    from kenning.server.unit import unit

    local_db = settings.db_url.startswith("postgresql") and any(
        f"@{h}" in settings.db_url for h in ("localhost", "127.0.0.1", "[::1]"))
    print(unit(serve_args, str(settings.data_dir), os.environ.get("KENNING_CONFIG"),
               ("postgresql.service",) if local_db else ()), end="")
    if os.getuid() == 0:
        err.print("this unit runs the server as root: make it as the user whose photos "
                  "these are (no root needed to read them)", markup=False)
    for name in sorted(os.environ):
        if name.startswith("KENNING_") and name not in ("KENNING_DATA_DIR", "KENNING_CONFIG"):
            setting = name.removeprefix("KENNING_").lower()
            err.print(f"{name} is set here but not written into the unit (every user can "
                      f"read it): put {setting} in {settings.data_dir}/config.toml",
                      markup=False)
