"""The `kenning` command."""

from __future__ import annotations

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
_queries = lazy_module("kenning.queries")
_sa_exc = lazy_module("sqlalchemy.exc")
_db = lazy_module("kenning.db")
_db_session = lazy_module("kenning.db.session")
_people = lazy_module("kenning.faces.people")
_optional = lazy_module("kenning.models.optional")
_runtime = lazy_module("kenning.models.runtime")
_distributed = lazy_module("kenning.pipeline.distributed")
_indexer = lazy_module("kenning.pipeline.indexer")
_users = lazy_module("kenning.users")

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Kenning: private recognition for your photo library.")
reset_app = typer.Typer(no_args_is_help=True, help="Undo results so they can be redone.")
app.add_typer(reset_app, name="reset")
people_app = typer.Typer(help="People found in your photos: list, name, merge, correct.",
                         invoke_without_command=True)
app.add_typer(people_app, name="people")
models_app = typer.Typer(help="Models: list them, install optional ones.",
                         invoke_without_command=True)
app.add_typer(models_app, name="models")
db_app = typer.Typer(no_args_is_help=True, help="The database: upgrade its schema, move it.")
app.add_typer(db_app, name="db")

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
    except (_runtime.ModelError, ConfigError, _distributed.BrokerError) as exc:
        raise UserError(str(exc)) from exc
    except KeyboardInterrupt:
        err.print("interrupted: what was finished is saved; run the same command to resume")
        raise typer.Exit(130) from None
    summary = _index_summary(db, settings, report)
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
                for f in _queries.failed_files(db, _user(settings), report.mount_path)]
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
                     _queries.top_tags(db, _user(settings), 10, report.mount_path)],
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
    db = _database(settings)
    data = _queries.status(db, _user(settings))
    if failed:
        data["failed_files"] = _queries.failed_files(db, _user(settings))
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


@app.command()
def tags(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Files in indexed folders.")],
    as_json: JsonFlag = False,
) -> None:
    """The tags of each FILE, with scores, the raw model labels behind them and the faces
    (JSON: one object for one file, a list for several)."""
    settings = _settings(ctx)
    db, user = _database(settings), _user(settings)
    found, missing = [], []
    for file in files:
        try:
            found.append(_queries.file_tags(db, user, file))
        except _queries.NotFound as exc:
            missing.append(str(exc))
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
        removed = _queries.reset_tags(_database(settings), _user(settings), classifier)
    except _queries.NotFound as exc:
        raise UserError(str(exc)) from exc
    if as_json:
        return _print_json({"classifier": classifier, "tags_removed": removed})
    out.print(f"removed {removed} tag(s) written by {classifier}; "
              "`kenning index <folder>` tags the files again")


@reset_app.command("failed")
def reset_failed(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Try failed files again on the next `kenning index`."""
    settings = _settings(ctx)
    count = _queries.retry_failed(_database(settings), _user(settings))
    if as_json:
        return _print_json({"requeued": count})
    out.print(f"{count} failed file(s) will be tried again by the next `kenning index`")


def _people_call(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except _people.PeopleError as exc:
        raise UserError(str(exc)) from exc


@people_app.callback()
def people_list(
    ctx: typer.Context,
    hidden: Annotated[bool, typer.Option("--hidden", help="Include hidden people.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """List people with their number of faces and photos (`kenning people --help`)."""
    if ctx.invoked_subcommand is not None:
        return
    settings = _settings(ctx)
    db, user = _database(settings), _user(settings)
    people = _people_call(_people.list_people, db, user, hidden)
    samples = _people.person_samples(db, user, [p["id"] for p in people])
    for p in people:
        p["sample"] = samples.get(p["id"])
    if as_json:
        return _print_json(people)
    for p in people:
        flag = "  (hidden)" if p["hidden"] else ""
        out.print(f"{p['id']:>5}  {p['name'] or '(unnamed)':<28} {p['faces']:>5} faces "
                  f"{p['photos']:>5} photos{flag}  {p['sample'] or ''}", markup=False)
    if not people:
        err.print("no people yet: index a folder with the faces classifier enabled")


@people_app.command("name")
def people_name(ctx: typer.Context, person: str, name: str, as_json: JsonFlag = False) -> None:
    """Name (or rename) PERSON (an id or a current name)."""
    settings = _settings(ctx)
    data = _people_call(_people.name_person, _database(settings), _user(settings), person, name)
    _print_json(data) if as_json else out.print(f"person {data['id']} is now {data['name']}")


@people_app.command("merge")
def people_merge(ctx: typer.Context, into: str, others: list[str],
                 as_json: JsonFlag = False) -> None:
    """Merge OTHERS into INTO: all their faces become INTO's."""
    settings = _settings(ctx)
    data = _people_call(_people.merge_people, _database(settings), _user(settings), into, others)
    _print_json(data) if as_json else out.print(
        f"moved {data['faces_moved']} face(s) into person {data['id']} ({data['name']})")


@people_app.command("move")
def people_move(
    ctx: typer.Context,
    faces: Annotated[list[int], typer.Argument(help="Face ids (see `kenning tags FILE`).")],
    to: Annotated[str | None, typer.Option("--to", help="Person id or name.")] = None,
    new: Annotated[str | None, typer.Option("--new", help="Name of a new person.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Put faces into another person, or into a new one (split)."""
    if (to is None) == (new is None):
        raise UserError("give either --to PERSON or --new NAME", 2)
    settings = _settings(ctx)
    data = _people_call(_people.move_faces, _database(settings), _user(settings), faces, to, new)
    _print_json(data) if as_json else out.print(
        f"face(s) {', '.join(map(str, data['faces']))} now in person {data['id']}")


@people_app.command("remove")
def people_remove(ctx: typer.Context, faces: list[int], as_json: JsonFlag = False) -> None:
    """Take faces out of their person; they are never put back into that person."""
    settings = _settings(ctx)
    data = _people_call(_people.remove_faces, _database(settings), _user(settings), faces)
    _print_json(data) if as_json else out.print(f"removed {data['removed']} face(s)")


@people_app.command("notface")
def people_not_face(ctx: typer.Context, faces: list[int],
                    undo: Annotated[bool, typer.Option(
                        "--undo", help="They are faces after all.")] = False,
                    as_json: JsonFlag = False) -> None:
    """FACES are not faces (a dog, a statue, a pattern): never in a person or suggested,
    also after the photos are processed again."""
    settings = _settings(ctx)
    data = _people_call(_people.mark_not_faces, _database(settings), _user(settings), faces, undo)
    _print_json(data) if as_json else out.print(
        f"{len(data['faces'])} face(s) marked {'not a face' if data['not_face'] else 'a face'}")


@people_app.command("notfaces")
def people_not_faces(ctx: typer.Context, limit: int = 100, as_json: JsonFlag = False) -> None:
    """Faces that are not faces: those you marked, and those set aside because the photo
    looks like an animal's or a toy's (undo either with `notface FACE --undo`)."""
    settings = _settings(ctx)
    data = _people_call(_people.not_faces, _database(settings), _user(settings), limit)
    if as_json:
        return _print_json(data)
    for face in data:
        why = "set aside: looks like no person's" if face["automatic"] else "marked by you"
        out.print(f"face {face['face']}  {face['name']}  ({why})", markup=False)


@people_app.command("hide")
def people_hide(ctx: typer.Context, person: str,
                undo: Annotated[bool, typer.Option("--undo", help="Show again.")] = False,
                as_json: JsonFlag = False) -> None:
    """Hide PERSON from the people list (or show them again with --undo)."""
    settings = _settings(ctx)
    data = _people_call(_people.hide_person, _database(settings), _user(settings), person, not undo)
    _print_json(data) if as_json else out.print(
        f"person {data['id']} {'hidden' if data['hidden'] else 'shown'}")


@people_app.command("unassigned")
def people_unassigned(ctx: typer.Context, limit: int = 50, as_json: JsonFlag = False) -> None:
    """Faces in no person yet, with the nearest people as suggestions."""
    settings = _settings(ctx)
    data = _people_call(_people.unassigned_faces, _database(settings), _user(settings), limit=limit)
    if as_json:
        return _print_json(data)
    for face in data:
        near = ", ".join(f"{s['name'] or s['id']} ({s['similarity']:.2f})"
                         for s in face["suggestions"]) or "no suggestion"
        out.print(f"face {face['face']}  {face['path']}  -> {near}", markup=False)


@people_app.command("photos")
def people_photos(ctx: typer.Context, people: list[str], as_json: JsonFlag = False) -> None:
    """Photos in which all of PEOPLE appear."""
    settings = _settings(ctx)
    paths = _people_call(_people.photos_of, _database(settings), _user(settings), people)
    if as_json:
        return _print_json({"people": people, "files": paths})
    for path in paths:
        out.print(path, markup=False)


@models_app.callback()
def models_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List every model: built in, installed or not installed."""
    if ctx.invoked_subcommand is not None:
        return
    settings = _settings(ctx)
    rows = [{"name": e["name"], "state": "built in", "task": e["task"], "licence": e["licence"]}
            for e in _runtime.manifest()]
    for spec in _optional.OPTIONAL.values():
        try:
            copy = _optional.installed(settings.data_dir, spec.name)
            state = f"installed ({copy.sha256[:12]})" if copy else "not installed"
        except _runtime.ModelError as exc:
            state = f"damaged: {exc}"
        rows.append({"name": spec.name, "state": state, "task": spec.task,
                     "licence": spec.licence, "where": spec.where, "how": spec.how_to_add,
                     "file": spec.file, "size": spec.size, "sha256": spec.sha256})
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
    as_json: JsonFlag = False,
) -> None:
    """Install an optional model (its sha256 is checked) into the data dir."""
    settings = _settings(ctx)
    try:
        record = _optional.install(settings.data_dir, name, source, labels)
    except _runtime.ModelError as exc:
        raise UserError(str(exc)) from exc
    if as_json:
        return _print_json(record)
    out.print(f"installed {name} (sha256 {record['sha256'][:12]}); run `kenning index` to "
              "use it", markup=False)


@models_app.command("remove")
def models_remove(ctx: typer.Context, name: str) -> None:
    """Remove an installed optional model."""
    if not _optional.remove(_settings(ctx).data_dir, name):
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
        from kenning.pipeline.distributed import run_worker

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


@app.command()
def version() -> None:
    """Print Kenning's version."""
    out.print(f"kenning {__version__}")


# (registering `serve` and `user`; `export` and `sidecars`)
from kenning import cli_serve, cli_xmp  # noqa: E402,F401


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
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
