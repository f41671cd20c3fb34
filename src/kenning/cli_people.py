"""`kenning people`: the people found in the photos, listed, named, merged, corrected."""

from __future__ import annotations

from typing import Annotated

import typer

from kenning.cli import (
    JsonFlag,
    UserError,
    _database,
    _print_json,
    _settings,
    _user,
    app,
    err,
    out,
)
from kenning.lazy import lazy_module

_people = lazy_module("kenning.faces.people")
_users = lazy_module("kenning.users")

people_app = typer.Typer(help="People found in your photos: list, name, merge, correct.",
                         invoke_without_command=True)
app.add_typer(people_app, name="people")


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
    people = _people_straight(settings, hidden)
    if people is None:  # not a SQLite file this Kenning reads as it is: the usual way
        from kenning import catalog

        db, user = _database(settings), _user(settings)
        people = _people_call(_listed_people, db, user, hidden)
        samples = catalog.person_samples(db, user, [p["id"] for p in people])
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


LISTED = ("id", "name", "hidden", "faces", "photos")


def _people_straight(settings, hidden: bool) -> list[dict] | None:
    """The people list read straight from the SQLite file (catalog/direct.py: the same SQL
    the server runs, without loading SQLAlchemy), or None when it cannot be."""
    from contextlib import closing

    from kenning.catalog import direct, people_sql

    connection = direct.open_current(settings.db_url)
    if connection is None:
        return None
    with closing(connection):
        cursor = connection.cursor()
        user_id = people_sql.user_id(cursor, settings.user or people_sql.owner_name(cursor))
        if user_id is None:
            return []
        rows = [row for row in people_sql.ranked_people(cursor, user_id)
                if hidden or not row["hidden"]]
        samples = people_sql.samples(cursor, user_id, [row["id"] for row in rows])
    return [{k: row[k] for k in LISTED} | {"sample": samples.get(row["id"])} for row in rows]


def _listed_people(db, user: str, hidden: bool) -> list[dict]:
    """Every person of the user, as the API and the web page list them (kenning.catalog):
    named first, then by number of faces."""
    from kenning import catalog

    who = _users.find_user(db, user)
    found, offset = [], 0
    while who is not None and offset is not None:
        page = catalog.list_people(db, who.id, catalog.MAX_PAGE, offset, hidden)
        found += [{k: p[k] for k in LISTED} for p in page.items]
        offset = page.next
    return found


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
