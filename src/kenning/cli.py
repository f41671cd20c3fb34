"""The `kenning` command."""

from __future__ import annotations

import errno
import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    ProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress
from rich.text import Text

from kenning import __version__
from kenning.config import ConfigError, Settings, load_settings
from kenning.lazy import lazy_module

# Loaded when a command first needs them: `kenning --help` and the commands that touch
# neither the database nor the models start without SQLAlchemy, NumPy or ONNX Runtime.
_catalog = lazy_module("kenning.catalog")
_db = lazy_module("kenning.db")
_db_session = lazy_module("kenning.db.session")
_runtime = lazy_module("kenning.models.runtime")
_broker = lazy_module("kenning.pipeline.broker")
_indexer = lazy_module("kenning.pipeline.indexer")
_users = lazy_module("kenning.users")

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Kenning: private recognition for your photo library.")
reset_app = typer.Typer(no_args_is_help=True, help="Undo results so they can be redone.")
app.add_typer(reset_app, name="reset")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


class UserError(Exception):
    """A problem the user can fix; printed as one line, exit code 1 (2 for bad arguments)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


@app.callback()
def _global(
    ctx: typer.Context,
    data_dir: Annotated[Path | None, typer.Option(
        "--data-dir", envvar="KENNING_DATA_DIR",
        help="Where Kenning keeps its database and caches (default: the XDG data dir).")] = None,
) -> None:
    ctx.obj = {"data_dir": data_dir}


def _settings(ctx: typer.Context, **overrides) -> Settings:
    try:
        return load_settings(ctx.obj["data_dir"], **overrides)
    except ConfigError as exc:
        raise UserError(str(exc), 2) from exc


_opened: dict[str, _db.Database] = {}


def _database(settings: Settings) -> _db.Database:
    """The library's database (opened once per command)."""
    if settings.db_url not in _opened:
        try:
            _opened[settings.db_url] = _db.Database(settings.db_url)
        except _db_session.DatabaseError as exc:
            raise UserError(str(exc)) from exc
    return _opened[settings.db_url]


def _user(settings: Settings) -> str:
    """Whom this command acts as: the user named by `user` (config, KENNING_USER), else
    the library's owner, the same user `kenning serve` shows the library to."""
    return settings.user or _users.library_owner(_database(settings))


def _print_json(data) -> None:
    out.print_json(json.dumps(data, default=str)) if out.is_terminal else print(
        json.dumps(data, default=str, indent=1))


class RateColumn(ProgressColumn):
    def render(self, task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:.1f} files/s" if speed else "-- files/s", style="cyan")


class ConsoleProgress:
    def __init__(self, console: Console, enabled: bool = True) -> None:
        self.console, self.enabled = console, enabled
        self._bar: RichProgress | None = None
        self._task = None

    def start(self, description: str, total: int) -> None:
        if not self.enabled:
            return
        self._bar = RichProgress(TextColumn("[bold]{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), RateColumn(), TextColumn("ETA"),
                                 TimeRemainingColumn(), console=self.console, transient=False)
        self._bar.start()
        self._task = self._bar.add_task(description, total=total)

    def advance(self, files: int) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, files)

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


@app.command()
def index(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Argument(help="The folder of photos to index.")],
    workers: Annotated[int | None, typer.Option(min=1, help="Batches run at once.")] = None,
    batch_size: Annotated[int | None, typer.Option(min=1, help="Files per batch.")] = None,
    repin: Annotated[bool, typer.Option(
        "--repin", help="You moved or restored the folder yourself: keep its results "
                        "for the folder now at this path.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Scan FOLDER, tag what is new or changed, and print a summary."""
    settings = _settings(ctx, workers=workers, batch_size=batch_size)
    db = _database(settings)
    progress = ConsoleProgress(err, enabled=not as_json)
    try:
        report = _indexer.index_folder(settings, db, folder, progress, repin=repin,
                              tell=lambda text: err.print(text, markup=False))
    except _indexer.FolderError as exc:
        raise UserError(str(exc), 2) from exc
    except (_runtime.ModelError, ConfigError, _broker.BrokerError) as exc:
        raise UserError(str(exc)) from exc
    except KeyboardInterrupt:
        err.print("interrupted: what was finished is saved; run the same command to resume")
        raise typer.Exit(130) from None
    summary = db.retrying(_index_summary, db, settings, report)
    if as_json:
        _print_json(summary)
    else:
        _print_index_summary(summary)
    if summary["warnings"]:
        err.print(f"[yellow]{summary['warnings']} warning(s)[/]: see `kenning status --failed`")


def _index_summary(db: _db.Database, settings: Settings, report: _indexer.IndexReport) -> dict:
    scan = report.scan
    root = report.mount_path.rstrip("/") + "/"
    failures = [f | {"path": f["path"].removeprefix(root)}
                for f in _catalog.failed_files(db, _user(settings), report.mount_path)]
    return {
        "mount": report.mount_path,
        "seconds": round(report.seconds, 2),
        "processing_seconds": round(report.model_seconds, 2),
        "files": dict(scan.by_kind) | {"unusable": scan.unusable},
        "changes": {"new": scan.new, "changed": scan.changed, "moved": scan.moved,
                    "deleted": scan.deleted},
        "skipped": {"unreadable_folders": [p.decode("utf-8", "backslashreplace")
                                           for p in scan.problems.unreadable_dirs],
                    "links_outside_mount": len(scan.problems.links_outside),
                    "linked_folders": scan.problems.linked_dirs},
        "processed": dict(report.processed),
        "copied": {c: n for c, n in report.copied.items() if n},
        "people": (None if report.people is None else
                   {"joined_existing": report.people.joined, "new": report.people.new_people,
                    "faces_in_new": report.people.faces_in_new_people,
                    "unassigned": report.people.unassigned,
                    "set_aside": report.people.set_aside}),
        "xmp": report.xmp.as_dict() if report.xmp else None,
        "failed_this_run": len(report.failures),
        "failed": failures,
        "warnings": len(failures) + len(scan.problems.unreadable_dirs),
        "top_tags": [{"tag": t, "files": n} for t, n in
                     _catalog.top_tags(db, _user(settings), 10, report.mount_path)],
    }


def _print_index_summary(s: dict) -> None:
    files = s["files"]
    found = ", ".join(f"{files.get(k, 0)} {k}" for k in ("image", "video", "audio", "unusable"))
    changes = ", ".join(f"{v} {k}" for k, v in s["changes"].items())
    out.print(f"[bold]Indexed[/] {s['mount']} in {s['seconds']:.1f} s")
    out.print(f"  files:     {found}")
    out.print(f"  changes:   {changes}")
    processed = ", ".join(f"{n} by {c}" for c, n in s["processed"].items()) or "nothing to do"
    out.print(f"  processed: {processed}")
    if s["copied"]:
        copied = ", ".join(f"{n} for {c}" for c, n in s["copied"].items())
        out.print(f"  reused:    {copied} (identical files already processed)")
    if s["people"]:
        p = s["people"]
        out.print(f"  people:    {p['new']} new ({p['faces_in_new']} faces), "
                  f"{p['joined_existing']} faces joined known people, {p['unassigned']} "
                  "unassigned (kenning people)")
        if p["set_aside"]:
            out.print(f"  set aside: {p['set_aside']} face(s) that look like an animal's or a "
                      "toy's, not a person's (kenning people notfaces)")
    if s["xmp"]:
        x = s["xmp"]
        out.print(f"  XMP:       {x['names']} face(s) named and {x['tags']} keyword(s) added "
                  f"from {x['files']} file(s)' XMP, {x['drawn']} face(s) drawn from regions")
        for text in x["conflicts"][:10]:
            out.print(f"    [yellow]conflict[/] {escape(text)}")
        for path, reason in list(x["failed"].items())[:10]:
            out.print(f"    [yellow]XMP not used[/] {escape(path)}: {escape(reason)}")
        if len(x["conflicts"]) + len(x["failed"]) > 20:
            out.print("    ... and more: kenning sidecars")
    if s["failed"]:
        out.print(f"  failed:    {len(s['failed'])}")
        for f in s["failed"][:20]:
            out.print(f"    {f['path']}  [dim]({f['stage']})[/] {f['reason']}", markup=True)
        if len(s["failed"]) > 20:
            out.print(f"    ... and {len(s['failed']) - 20} more: kenning status --failed")
    for folder in s["skipped"]["unreadable_folders"]:
        out.print(f"  [yellow]unreadable folder skipped[/] {folder or '.'}")
    if s["top_tags"]:
        out.print("  top tags:  " + ", ".join(f"{t['tag']} ({t['files']})" for t in s["top_tags"]))


@app.command()
def status(
    ctx: typer.Context,
    failed: Annotated[bool, typer.Option("--failed", help="List failed files.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Pending, done and failed files per classifier."""
    settings = _settings(ctx)
    data = None if failed else _status_straight(settings)
    if data is None:  # (the failed files, or not a SQLite file read as it is)
        db = _database(settings)
        data = _catalog.status(db, _user(settings))
        if failed:
            data["failed_files"] = _catalog.failed_files(db, _user(settings))
    if as_json:
        return _print_json(data)
    for mount in data["mounts"]:
        out.print(f"mount {mount['path']}  (scanned {mount['scanned_at'] or 'never'})")
    out.print("files: " + (", ".join(f"{n} {k}" for k, n in sorted(data["files"].items()))
                           or "none"))
    for c in data["classifiers"]:
        out.print(f"{c['classifier']}: {c['done']} done, {c['pending']} pending, "
                  f"{c['failed']} failed")
    for f in data.get("failed_files", []):
        out.print(f"  {f['path']}  ({f['stage']}) {f['reason']}", markup=False)


def _status_straight(settings: Settings) -> dict | None:
    """The status read straight from the SQLite file (catalog/direct.py: the same SQL the
    server runs, without loading SQLAlchemy), or None when it cannot be."""
    from contextlib import closing

    from kenning.catalog import direct, people_sql, status_sql

    connection = direct.open_current(settings.db_url)
    if connection is None:
        return None
    with closing(connection):
        cursor = connection.cursor()
        return status_sql.status(cursor, settings.user or people_sql.owner_name(cursor))


@app.command()
def tags(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Files in indexed folders.")],
    as_json: JsonFlag = False,
) -> None:
    """The tags of each FILE, with scores, the raw model labels behind them and the faces
    (JSON: one object for one file, a list for several)."""
    settings = _settings(ctx)
    found, missing = [], []
    from kenning.catalog.files_sql import not_found

    for file, data in zip(files, _tags_of(settings, files), strict=True):
        if data is None:
            missing.append(not_found(file))
        else:
            found.append(data)
    if len(files) == 1 and missing:
        raise UserError(missing[0])
    if as_json:
        _print_json(found[0] if len(files) == 1 else found)
    else:
        for data in found:
            if len(files) > 1:
                out.print(f"[bold]{escape(data['path'])}[/]")
            _print_file_tags(data)
    for problem in missing:
        err.print(problem, markup=False)
    if missing:
        raise typer.Exit(1)


def _tags_of(settings: Settings, files: list[Path]) -> list[dict | None]:
    """Each file's findings (None: not in the library), read straight from an existing
    SQLite file through sqlite3 when it can be (catalog/direct.py: the SQL the server
    runs, files_sql.py, without loading SQLAlchemy), else the usual way."""
    from contextlib import closing

    from kenning.catalog import direct, files_sql, people_sql

    connection = direct.open_current(settings.db_url)
    if connection is not None:
        with closing(connection):
            cursor = connection.cursor()
            user = settings.user or people_sql.owner_name(cursor)
            return [files_sql.file_tags(cursor, user, file) for file in files]
    db, user = _database(settings), _user(settings)
    found: list[dict | None] = []
    for file in files:
        try:
            found.append(_catalog.file_tags(db, user, file))
        except _catalog.NotFound:
            found.append(None)
    return found


def _print_file_tags(data: dict) -> None:
    if data["scan_error"]:
        out.print(f"unusable: {data['scan_error']}")
    for work in data["classifiers"]:
        if work["error"]:
            out.print(f"{work['classifier']} failed: {work['error']}")
    if not data["tags"] and not data["scan_error"]:
        out.print("no tags")
    for tag in data["tags"]:
        out.print(f"{tag['tag']:<24} {tag['score']:.2f}  ({tag['source']})")
    for label in data["labels"]:
        out.print(f"  [dim]{label['classifier']}: {label['label']} {label['score']:.2f}[/]")
    for face in data["faces"]:
        who = face["name"] or (f"person {face['person']}" if face["person"] else "unassigned")
        out.print(f"face {face['face']}: {who}  (box {face['box']}, quality "
                  f"{face['quality']:.2f})", markup=False)


@app.command()
def search(
    ctx: typer.Context,
    words: Annotated[list[str] | None, typer.Argument(
        help="What to find: tags, people's names, places, a year or a month "
             "(\"Grandma beach 2019\", \"dog snow\", \"portrait\").")] = None,
    person: Annotated[list[str] | None, typer.Option(
        "--person", "-p", help="A person (name or id) who must be in the photo; repeatable.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Files that match all the words (kenning.wordsearch: tags, their synonyms and
    broader words, people, places, dates) and show all of the given people."""
    from kenning import catalog, wordsearch
    from kenning.users import find_user

    words, person = words or [], person or []
    if not words and not person:
        raise UserError("give at least one word or --person", 2)
    settings = _settings(ctx)
    db = _database(settings)
    who = find_user(db, _user(settings))
    understood = wordsearch.Understood()
    paths: list[str] = []
    if who is not None:
        understood = wordsearch.understand(db, who.id, " ".join(words))
        try:
            wordsearch.with_people(db, who.id, understood, person)
        except catalog.NotFound as exc:
            raise UserError(str(exc).strip("'\"")) from exc
        paths = wordsearch.all_paths(db, who.id, understood)
    else:
        understood.unknown = {w: [] for w in words}
    if as_json:
        return _print_json({"words": words, "people": person, "files": paths,
                            **understood.as_dict(), "unknown_tags": understood.unknown})
    for path in paths:
        out.print(path, markup=False)
    if not paths:
        for word, close in understood.unknown.items():
            err.print(f"nothing is called {word!r}"
                      + (f"; did you mean {', '.join(close)}?" if close else
                         " (`kenning status` lists the top tags)"), markup=False)
        if understood.unknown:
            raise typer.Exit(1)
        err.print("no files have all of: " + ", ".join(p.label for p in understood.parts))


@reset_app.command("tags")
def reset_tags(
    ctx: typer.Context,
    classifier: Annotated[str, typer.Option(help="Whose tags to remove.")] = "objects",
    as_json: JsonFlag = False,
) -> None:
    """Remove the tags a classifier wrote; `kenning index` redoes them."""
    settings = _settings(ctx)
    try:
        removed = _catalog.reset_tags(_database(settings), _user(settings), classifier)
    except _catalog.NotFound as exc:
        raise UserError(str(exc)) from exc
    if as_json:
        return _print_json({"classifier": classifier, "tags_removed": removed})
    out.print(f"removed {removed} tag(s) written by {classifier}; "
              "`kenning index <folder>` tags the files again")


@reset_app.command("failed")
def reset_failed(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Try failed files again on the next `kenning index`."""
    settings = _settings(ctx)
    count = _catalog.retry_failed(_database(settings), _user(settings))
    if as_json:
        return _print_json({"requeued": count})
    out.print(f"{count} failed file(s) will be tried again by the next `kenning index`")


@app.command()
def version() -> None:
    """Print Kenning's version."""
    out.print(f"kenning {__version__}")


# (registering `people`; `models`, `worker` and `db`; `serve` and `user`; `export` and
# `sidecars`)
from kenning import cli_admin, cli_people, cli_serve, cli_xmp  # noqa: E402,F401


def _machine_trouble(exc: Exception) -> str | None:
    """Why a command ended, when the machine ended it rather than Kenning: the database
    stopped answering or cannot be written, the disk is full. None for any other error,
    whose traceback is worth seeing."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return f"no space left on the device ({exc.filename or exc.strerror})"
    if not type(exc).__module__.startswith("sqlalchemy"):
        return None  # (sqlalchemy is not imported here unless it raised)
    from kenning.db.session import database_trouble

    return database_trouble(exc)


def main(argv: list[str] | None = None) -> int:
    # Everything Kenning writes is its own (database, caches, previews, face thumbnails;
    # never a media file): readable by this user only.
    os.umask(0o077)
    try:
        code = app(args=argv, prog_name="kenning", standalone_mode=False)
    except UserError as exc:
        print(f"kenning: error: {exc}", file=sys.stderr)
        return exc.code
    except typer.Exit as exc:
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        err.print("interrupted")
        return 130
    except typer.TyperException as exc:  # bad command line: usage errors exit 2
        message = exc.format_message().strip().splitlines()
        if message:  # (no arguments at all: the help was printed)
                print(f"kenning: error: {' '.join(message)} (see kenning --help)", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:
        trouble = _machine_trouble(exc)
        if trouble is None:
            raise
        print(f"kenning: error: {trouble}; what was done is saved: run the same command "
              "again once that is mended", file=sys.stderr)
        return 1
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
