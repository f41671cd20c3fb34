"""`kenning models`, `kenning worker` and `kenning db`: optional models, workers on other
machines, the database's schema and moving it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from kenning.cli import (
    JsonFlag,
    UserError,
    _database,
    _print_json,
    _settings,
    app,
    err,
    out,
)
from kenning.lazy import lazy_module

_sa_exc = lazy_module("sqlalchemy.exc")
_db = lazy_module("kenning.db")
_db_session = lazy_module("kenning.db.session")
_optional = lazy_module("kenning.models.optional")
_runtime = lazy_module("kenning.models.runtime")

models_app = typer.Typer(help="Models: list them, install optional ones.",
                         invoke_without_command=True)
app.add_typer(models_app, name="models")
db_app = typer.Typer(no_args_is_help=True,
                     help="The database: upgrade its schema, back it up, move it.")
app.add_typer(db_app, name="db")


@models_app.callback()
def models_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List every model: built in, installed or not installed."""
    if ctx.invoked_subcommand is not None:
        return
    settings = _settings(ctx)
    rows = [{"name": e["name"], "state": "built in", "task": e["task"], "licence": e["licence"]}
            for e in _runtime.manifest()]
    for spec in _optional.OPTIONAL.values():
        copies: dict[str, str] = {}
        try:
            if spec.name == "landmarks":
                copies = {m.region or "world": m.sha256
                          for m in _optional.landmark_models(settings.data_dir)}
            elif copy := _optional.installed(settings.data_dir, spec.name):
                copies = {"": copy.sha256}
            state = ("installed (" + ", ".join(f"{region} {sha[:12]}".strip()
                                               for region, sha in copies.items()) + ")"
                     if copies else "not installed")
        except _runtime.ModelError as exc:
            state = f"damaged: {exc}"
        row = {"name": spec.name, "state": state, "task": spec.task,
               "licence": spec.licence, "where": spec.where, "how": spec.how_to_add,
               "file": spec.file, "size": spec.size, "sha256": spec.sha256}
        if spec.name == "landmarks":
            row["installed"] = copies  # region (or "world") -> sha256
        rows.append(row)
    if as_json:
        return _print_json({"models": rows})
    for row in rows:
        out.print(f"{row['name']:32s} {row['state']:26s} {row['task']}", markup=False)
        if row["state"] == "not installed":
            out.print(f"{'':32s} {row['how']}", markup=False)


@models_app.command("install")
def models_install(
    ctx: typer.Context,
    name: str,
    source: Annotated[str, typer.Option("--from", help="The model file or an http(s) URL.")],
    labels: Annotated[str | None, typer.Option(help="Labels CSV (id,name), for landmarks.")]
    = None,
    region: Annotated[str | None, typer.Option(help=(
        "For landmarks: the region of the world the model knows (africa, asia, europe, "
        "north_america, oceania_antarctica, south_america, or world); default: the one "
        "its file name says, else world."))] = None,
    as_json: JsonFlag = False,
) -> None:
    """Install an optional model (its sha256 is checked) into the data dir."""
    settings = _settings(ctx)
    try:
        record = _optional.install(settings.data_dir, name, source, labels, region)
    except _runtime.ModelError as exc:
        raise UserError(str(exc)) from exc
    if as_json:
        return _print_json(record)
    where = f" for {record['region']}" if record.get("region") else ""
    out.print(f"installed {name}{where} (sha256 {record['sha256'][:12]}); run `kenning "
              "index` to use it", markup=False)


@models_app.command("remove")
def models_remove(ctx: typer.Context, name: str, region: Annotated[str | None, typer.Option(
        help="For landmarks: only this region's model (default: every one).")] = None
                  ) -> None:
    """Remove an installed optional model."""
    try:
        removed = _optional.remove(_settings(ctx).data_dir, name, region)
    except _runtime.ModelError as exc:
        raise UserError(str(exc)) from exc
    if not removed:
        raise UserError(f"{name} is not installed")
    out.print(f"removed {name}", markup=False)


def _parse_path_map(pairs: list[str]) -> list[tuple[str, str]]:
    parsed = []
    for pair in pairs:
        there, sep, here = pair.partition("=")
        if not sep or not there.startswith("/") or not here.startswith("/"):
            raise UserError(f"--path-map {pair!r}: use FROM=TO with absolute paths, e.g. "
                            "/srv/photos=/mnt/photos", 2)
        parsed.append((there, here))
    return parsed


@app.command()
def worker(
    ctx: typer.Context,
    concurrency: Annotated[int, typer.Option(
        min=1, help="Worker processes (default: one per core).")] = max(1, os.cpu_count() or 1),
    path_map: Annotated[list[str] | None, typer.Option(
        "--path-map", help="FROM=TO: a mount at FROM on the indexing machine is at TO here "
                           "(repeatable).")] = None,
) -> None:
    """Process batches sent by `kenning index` on other machines (needs broker_url)."""
    settings = _settings(ctx)
    if not settings.broker_url:
        raise UserError("no broker: set broker_url in config.toml or KENNING_BROKER_URL "
                        "(redis://host:6379/0 or amqp://user:password@host:5672//)", 2)
    mapping = _parse_path_map(path_map or [])
    _database(settings)  # refuse a database that is unreachable or needs `kenning db upgrade`
    if concurrency == 1:
        from kenning.pipeline.worker import run_worker

        def ready(names: list[str]) -> None:
            err.print(f"kenning worker {os.getpid()}: ready ({', '.join(names) or 'nothing'}); "
                      f"waiting for batches from {_safe_url(settings.broker_url)}",
                      markup=False)

        run_worker(settings, mapping, ready)
        return
    from kenning.pipeline.supervisor import supervise

    args = ["worker", "--concurrency", "1"]
    for there, here in mapping:
        args += ["--path-map", f"{there}={here}"]
    env = dict(os.environ)
    if ctx.obj["data_dir"]:
        env["KENNING_DATA_DIR"] = str(ctx.obj["data_dir"])
    err.print(f"kenning worker: starting {concurrency} processes", markup=False)
    raise typer.Exit(supervise(concurrency, args, env))


def _safe_url(url: str) -> str:
    """A database URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a malformed URL is reported by whoever opens it
        return url.split("@")[-1]


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Apply schema migrations (PostgreSQL: stop the workers first)."""
    from kenning.db.migrate import SchemaError, upgrade

    settings = _settings(ctx)
    try:
        database = _db.Database(settings.db_url, prepare=False)
        before, after = upgrade(database.engine)
    except (_db_session.DatabaseError, SchemaError) as exc:
        raise UserError(str(exc)) from exc
    except Exception as exc:  # SQLAlchemy's errors: unreachable server, no rights
        raise UserError(f"cannot upgrade {_safe_url(settings.db_url)}: "
                        f"{str(exc).splitlines()[0]}") from exc
    if as_json:
        return _print_json({"database": _safe_url(settings.db_url), "from": before, "to": after})
    if before == after:
        out.print(f"{_safe_url(settings.db_url)}: schema already at {after}", markup=False)
    else:
        out.print(f"{_safe_url(settings.db_url)}: schema {before or '(new)'} -> {after}",
                  markup=False)


@db_app.command("migrate")
def db_migrate(
    ctx: typer.Context,
    to: Annotated[str, typer.Option("--to", help="URL of the new, empty database, e.g. "
                                    "postgresql+psycopg://kenning@db-host/kenning")],
    as_json: JsonFlag = False,
) -> None:
    """Copy this library (every result, person and correction) into another database."""
    from kenning.db.migrate import SchemaError, copy_library

    settings = _settings(ctx)
    if to == settings.db_url:
        raise UserError("--to is the database Kenning already uses")
    source = _database(settings)
    try:
        target = _db.Database(to)
        copied = copy_library(source.engine, target.engine)
    except (_db_session.DatabaseError, SchemaError) as exc:
        raise UserError(str(exc)) from exc
    except _sa_exc.SQLAlchemyError as exc:  # the copy failed: the target keeps nothing half-done
        raise UserError(f"copying into {_safe_url(to)} failed: {exc.__class__.__name__}: "
                        f"{str(exc).splitlines()[0]}") from exc
    if as_json:
        return _print_json({"from": _safe_url(settings.db_url), "to": _safe_url(to),
                            "rows": copied})
    out.print(f"copied {sum(copied.values())} rows into {_safe_url(to)}:", markup=False)
    for table, count in copied.items():
        out.print(f"  {table:16s} {count}", markup=False)
    out.print("now set database_url (or KENNING_DATABASE_URL) to it", markup=False)


@db_app.command("backup")
def db_backup(
    ctx: typer.Context,
    destination: Annotated[Path, typer.Argument(
        help="The new file to write, e.g. ~/kenning-2026-12-03.db (never overwritten).")],
    as_json: JsonFlag = False,
) -> None:
    """Copy the whole library (results, people, names, corrections, users) into one
    SQLite file, while Kenning runs; keep it somewhere safe (it holds password hashes)."""
    from kenning.db.backup import BackupError, backup

    settings = _settings(ctx)
    try:
        made = backup(_database(settings), destination.expanduser())
    except BackupError as exc:
        raise UserError(str(exc)) from exc
    except OSError as exc:
        raise UserError(f"cannot write {destination}: {exc.strerror or exc}") from exc
    summary = {"backup": str(made.path), "bytes": made.bytes, "files": made.files,
               "named_people": made.people, "faces": made.faces, "user_tags": made.user_tags}
    if as_json:
        return _print_json(summary)
    out.print(f"backed up {_safe_url(settings.db_url)} to {made.path} "
              f"({made.bytes / 1e6:.1f} MB, checked): {made.files} files, {made.people} "
              f"named people, {made.faces} faces, {made.user_tags} tags you gave", markup=False)
    out.print("to restore it: README, section Backups", markup=False)
