"""`kenning export xmp` and `kenning sidecars`: XMP sidecars for other photo tools, and
what was read from theirs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from kenning.cli import JsonFlag, UserError, _database, _print_json, _settings, _user, app, out
from kenning.lazy import lazy_module

_export = lazy_module("kenning.xmp.export")
_status = lazy_module("kenning.xmp.status")
_indexer = lazy_module("kenning.pipeline.indexer")

export_app = typer.Typer(no_args_is_help=True,
                         help="Write what Kenning found where other tools read it.")
app.add_typer(export_app, name="export")


@export_app.command("xmp")
def export_xmp(
    ctx: typer.Context,
    to: Annotated[Path | None, typer.Option(
        "--to", help="The folder to write them to (default: <data dir>/xmp/<user>), "
                     "mirroring the library's folders.")] = None,
    beside: Annotated[bool, typer.Option(
        "--beside", help="Write them next to the originals instead (Kenning then writes "
                         "into your folders: sidecars only, merged into existing ones).")
    ] = False,
    naming: Annotated[str, typer.Option(
        "--naming", help="full: photo.jpg.xmp (digiKam, darktable); base: photo.xmp "
                         "(Lightroom).")] = "full",
    keep_current: Annotated[bool | None, typer.Option(
        "--keep-current/--once", help="Keep them current: `kenning serve` rewrites the "
                                      "sidecars a change touches within a minute.")] = None,
    everything: Annotated[bool, typer.Option(
        "--all", help="Write every sidecar, not only those that changed.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """XMP sidecars with each photo's and video's tags, named people (face regions in
    the Metadata Working Group and Microsoft forms) and place."""
    settings = _settings(ctx)
    db = _database(settings)
    user = _user(settings)
    user_id = _indexer.user_id(db, user)
    previous = _export.setting(db, user_id)
    destination = _export.Destination(
        place="beside" if beside else "folder", naming=naming,
        folder=str(to.resolve()) if to and not beside else None,
        keep_current=keep_current if keep_current is not None else
        bool(previous and previous.keep_current))
    if to and beside:
        raise UserError("--to and --beside: choose one", 2)
    try:
        destination.check()
        report = _export.export_xmp(settings, db, user, destination,
                                    only_changed=not everything)
        _export.save_setting(db, user_id, destination)
    except _export.ExportError as exc:
        raise UserError(str(exc), 2) from exc
    data = report.as_dict() | {"keep_current": destination.keep_current}
    if as_json:
        return _print_json(data)
    out.print(f"[bold]Sidecars[/] {escape(report.where)}: {report.written} written, "
              f"{report.unchanged} unchanged, of {report.files} photos and videos")
    for path, reason in list(report.failed.items())[:20]:
        out.print(f"  [yellow]not written[/] {escape(path)}: {escape(reason)}")
    if destination.keep_current:
        out.print("  kept current by `kenning serve` (stop with `kenning export xmp --once`)")


@app.command()
def sidecars(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """What was exported to XMP sidecars and imported from them: counts and conflicts."""
    settings = _settings(ctx)
    db = _database(settings)
    data = _status.xmp_status(db, _indexer.user_id(db, _user(settings)))
    if as_json:
        return _print_json(data)
    export, imported = data["export"], data["import"]
    where = export["setting"]
    out.print(f"exported: {export['files']} sidecar(s)"
              + (f", last {export['last']}" if export["last"] else "")
              + (f" ({where['place']}, {where['naming']} names"
                 + (", kept current" if where["keep_current"] else "") + ")" if where else ""))
    out.print(f"imported: {imported['names']} name(s), {imported['tags']} keyword(s), "
              f"{imported['drawn']} face(s) drawn from regions")
    for item in imported["conflicts"]:
        out.print(f"  [yellow]conflict[/] {escape(item['path'])}: {escape(item['conflict'])}")
    for item in imported["failed"]:
        out.print(f"  [yellow]not read[/] {escape(item['path'])}: {escape(item['reason'])}")
