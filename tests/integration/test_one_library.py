"""One folder, one library: the command line and `kenning serve` show the same user's
library, and a second user of an indexed folder gets its results without a model
running again, with people of their own."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from conftest import IMAGENET
from server_support import JOHNS, free_port, sign_in


def _library(tmp_path):
    library = tmp_path / "family photos"
    for person in sorted(JOHNS.iterdir())[:2]:
        shutil.copytree(person, library / person.name)
    return library


def _serve(kenning, port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "kenning", "serve", "--port", str(port), "--no-process"],
        env=kenning.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE)
    end = time.monotonic() + 60
    while time.monotonic() < end:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError(process.stderr.read().decode())


def test_the_server_shows_the_library_the_command_line_made(kenning, tmp_path):
    library = _library(tmp_path)
    kenning.env["KENNING_CLASSIFIERS"] = "faces"
    kenning("index", library)
    people = kenning("people", "--json").json()
    assert len(people) == 2
    kenning("people", "name", str(people[0]["id"]), "John Doe")

    # No password yet: the server says whose password to set instead of starting empty.
    port = free_port()
    server = _serve(kenning, port)
    server.terminate()
    hint = server.communicate(timeout=30)[1].decode()
    assert "kenning user passwd local" in hint and str(library) in hint

    set_up = kenning("user", "passwd", "local", "--password-stdin", input=b"owner-secret-1\n")
    assert "now the admin" in set_up.stdout
    kenning("user", "rename", "local", "ann")
    (ann,) = kenning("user", "--json").json()  # still one user, who owns the folder
    assert ann["name"] == "ann" and ann["admin"] and ann["mounts"] == [str(library)]

    again = kenning("index", library, "--json").json()  # the CLI now acts as ann
    assert again["changes"]["new"] == 0 and again["processed"] == {}
    assert kenning("user", "--json").json()[0]["name"] == "ann"

    server = _serve(kenning, port)
    try:
        shown = httpx.get(f"http://127.0.0.1:{port}/api/people",
                          auth=("ann", "owner-secret-1"), timeout=30)
        assert shown.status_code == 200, shown.text
        assert "John Doe" in shown.text
    finally:
        server.terminate()
        server.wait(30)


def test_a_second_user_of_an_indexed_folder_shares_the_work(kenning, tmp_path):
    library = _library(tmp_path)
    (library / "copy of a john.jpg").write_bytes(
        next((library / sorted(p.name for p in library.iterdir())[0]).iterdir()).read_bytes())
    kenning.env["KENNING_CLASSIFIERS"] = "objects,faces,places"
    first = kenning("index", library, "--json").json()
    photos = first["files"]["image"]
    # The copy in the same folder is already served by its twin.
    assert sum(first["processed"].values()) + sum(first["copied"].values()) == 3 * photos
    assert first["copied"] == {"objects": 1, "faces": 1, "places": 1}
    kenning("people", "name", str(kenning("people", "--json").json()[0]["id"]), "Ann's John")

    kenning("user", "add", "bob", "--mount", library, "--password-stdin",
            input=b"bob-secret-22\n")
    kenning.env["KENNING_USER"] = "bob"
    second = kenning("index", library, "--json").json()
    assert second["processed"] == {}  # no model ran
    assert second["copied"] == {"objects": photos, "faces": photos, "places": photos}
    bobs = kenning("people", "--json").json()
    assert len(bobs) == 2 and all(p["name"] is None for p in bobs)  # his own people
    mine = kenning("tags", library / "copy of a john.jpg", "--json").json()
    del kenning.env["KENNING_USER"]
    anns = kenning("tags", library / "copy of a john.jpg", "--json").json()
    assert {t["tag"] for t in mine["tags"]} == {t["tag"] for t in anns["tags"]}
    assert len(mine["faces"]) == len(anns["faces"]) >= 1


def test_people_tags_and_search_at_the_command_line(kenning, tmp_path):
    library = _library(tmp_path)
    shutil.copyfile(IMAGENET / "n01530575_brambling.JPEG", library / "bird.jpg")
    kenning.env["KENNING_CLASSIFIERS"] = "objects,faces"
    kenning("index", library)
    people = kenning("people", "--json").json()
    for person in people:  # a photo to look at for each person, one of theirs
        assert person["sample"].startswith(str(library))
        shown = kenning("tags", person["sample"], "--json").json()
        assert person["id"] in [face["person"] for face in shown["faces"]]
    listed = kenning("people").stdout
    assert all(p["sample"] in listed for p in people)

    photos = sorted(library.rglob("*.jpg"))[:3]
    several = kenning("tags", *photos, "--json").json()
    assert [t["path"] for t in several] == [str(p) for p in photos]
    text = kenning("tags", *photos).stdout
    assert all(str(p) in text for p in photos)
    missing = kenning("tags", photos[0], library / "not there.jpg", check=False)
    assert missing.code == 1 and "not there.jpg" in missing.stderr

    typo = kenning("search", "Brid", check=False)
    assert typo.code == 1 and "Bird" in typo.stderr and "did you mean" in typo.stderr
    assert kenning("search", "Brid", "--json").json()["unknown_tags"]["Brid"][0] == "Bird"
    assert kenning("search", "Bird").stdout.strip() == str(library / "bird.jpg")
    _the_server_answers_the_same(kenning, library)


def _the_server_answers_the_same(kenning, library: Path) -> None:
    """One read layer (kenning.catalog): the REST API and WebDAV answer what the command
    line answers about the same library: people, a file's tags and faces, search,
    progress."""
    kenning("user", "passwd", "local", "--password-stdin", input=b"owner-secret-1\n")
    port = free_port()
    server = _serve(kenning, port)
    try:
        api = httpx.Client(base_url=f"http://127.0.0.1:{port}",
                           auth=("local", "owner-secret-1"), timeout=30)
        people = [{k: p[k] for k in ("id", "name", "faces", "photos")}
                  for p in kenning("people", "--json").json()]
        served = [{k: p[k] for k in ("id", "name", "faces", "photos")}
                  for p in api.get("/api/people").json()["items"]]
        assert people == served and people

        found = api.get("/api/search", params={"q": "Bird"}).json()["items"]
        assert [library / f["path"] for f in found] == [library / "bird.jpg"]
        by_path = kenning("tags", library / "bird.jpg", "--json").json()
        by_id = api.get(f"/api/files/{found[0]['id']}").json()
        tags = sorted({t["tag"] for t in by_path["tags"]})
        assert tags and tags == sorted(t["tag"] for t in by_id["tags"])
        assert [f["face"] for f in by_path["faces"]] == [f["id"] for f in by_id["faces"]]

        status, shown = kenning("status", "--json").json(), api.get("/api/status").json()
        assert status["files"] == shown["files"]
        assert status["classifiers"] == shown["classifiers"]

        listing = api.request("PROPFIND", "/dav/people/", headers={"Depth": "1"})
        assert listing.status_code == 207
        for person in people:
            assert (person["name"] or f"person-{person['id']}") in listing.text
    finally:
        server.terminate()
        server.wait(30)


def _run_in_terminal(command: str, cwd, env, answers: list[str], timeout: float = 600) -> str:
    """`command` in bash with a pseudo-terminal for stdin (getpass asks there), typing the
    next answer at each password prompt. Returns what it printed."""
    import os
    import pty
    import select

    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(cwd)
        os.execve("/bin/bash", ["bash", "-c", command], env)
    seen, typed = b"", 0
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 1)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child is gone
            break
        if not chunk:
            break
        seen += chunk
        # A new prompt ("Password: ", "Password again: ") gets the next answer.
        if typed < min(len(answers), seen.count(b"assword")) and seen.endswith(b": "):
            os.write(fd, answers[typed].encode() + b"\n")
            typed += 1
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, seen.decode(errors="replace")
    return seen.decode(errors="replace")


def test_the_readme_quick_start_word_for_word(tmp_path):
    """Each line of the README's quick start, run in the checkout as written, in a home
    folder whose Pictures are two Johns; then the browser's sign-in with that password."""
    import os
    import re

    repo = Path(__file__).resolve().parents[2]
    block = re.search(r"## Quick start\n\n```sh\n(.*?)```", (repo / "README.md").read_text(),
                      re.S).group(1)
    lines = [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]
    home = tmp_path / "home"
    shutil.copytree(_library(tmp_path), home / "Pictures")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KENNING_")}
    env.update(HOME=str(home), KENNING_CLASSIFIERS="faces")  # faces only: the test's speed
    port = 8080
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            port = free_port()  # 8080 is taken on this machine: the one change made
    password = "grandmas-secret-1"
    server = None
    try:
        for line in lines:
            if line.endswith("kenning serve"):
                server = subprocess.Popen(["bash", "-c", line + f" --port {port}" * (port != 8080)],
                                          cwd=repo, env=env, stdin=subprocess.DEVNULL,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            else:
                _run_in_terminal(line, repo, env, [password, password])
        assert server is not None, lines
        url = f"http://127.0.0.1:{port}"
        end = time.monotonic() + 60
        while time.monotonic() < end:
            try:
                httpx.get(url + "/api/health", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.3)
        with httpx.Client(base_url=url, timeout=30) as browser:
            assert sign_in(browser, "local", password).status_code == 303
            timeline = browser.get("/")
            assert timeline.status_code == 200
            photos = [p for p in (home / "Pictures").rglob("*") if p.is_file()]
            assert timeline.text.count('class="tile"') == len(photos) > 0  # all of them
            people = browser.get("/api/people").json()["items"]
        assert "Grandma" in [p["name"] for p in people]
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
