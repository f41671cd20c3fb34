"""Files as an attacker with a shell on the server would use them: a mount swapped for a
link to another user's folder, files swapped for links while they are being read, HTML
dressed as a photo, decompression bombs, Kenning's own data inside a mount."""

from __future__ import annotations

import os
import secrets
import shutil
import stat
import threading

import httpx
import pytest
from conftest import IMAGENET
from media_factory import progressive_jpeg_bomb
from server_support import JOHNS, PASSWORDS, peak_rss_mb, sign_in, start_server

from kenning.classifiers import REGISTRY
from kenning.config import load_settings
from kenning.db import Database
from kenning.pipeline.indexer import ensure_mount
from kenning.pipeline.jobs import classify_batch, pending_batches, sync_work
from kenning.pipeline.scanner import scan_mount

TURTLE = "n01669191_box_turtle.jpg"
TURTLE_SOURCE = "n01669191_box_turtle.JPEG"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("file-attacks"), classifiers="objects,faces",
                          serve_args=("--no-watch",))
    server.wait_idle("alice")
    server.wait_idle("bob")
    yield server
    server.stop()


def _file_id(server, user: str, name: str) -> int:
    with server.client(user) as http:
        return next(f["id"] for f in http.get("/api/files?limit=500").json()["items"]
                    if f["name"] == name)


def _alice_secret(server) -> bytes:
    return next(server.libraries["alice"].rglob("*.jpg")).read_bytes()


class Flipper:
    """Swaps a file for a symbolic link to another folder and back, as fast as it can
    (each swap an atomic rename), until stopped."""

    def __init__(self, target, outside) -> None:
        self.target, self.outside = target, outside
        self.keep = target.parent / ".keep"
        self.keep.mkdir(exist_ok=True)
        os.link(target, self.keep / "real")
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        link, real = self.keep / "link", self.keep / "hard"
        while not self.stop.is_set():
            os.symlink(self.outside, link)
            os.rename(link, self.target)
            os.link(self.keep / "real", real)
            os.rename(real, self.target)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()
        shutil.rmtree(self.keep)


def test_a_file_swapped_for_a_link_is_never_served(server):
    """Bob swaps his photo for a link to Alice's, and back, thousands of times a second,
    while fetching it through the API and WebDAV: he only ever gets his own bytes."""
    bob = server.libraries["bob"]
    own = (bob / TURTLE).read_bytes()
    secret = _alice_secret(server)
    file_id = _file_id(server, "bob", TURTLE)
    outside = next(server.libraries["alice"].rglob("*.jpg"))
    answers = {"own": 0, "404": 0}
    with Flipper(bob / TURTLE, outside), server.client("bob") as http, httpx.Client(
            base_url=server.url + "/dav", auth=("bob", PASSWORDS["bob"])) as dav:
        tag = next(t["tag"] for t in http.get(f"/api/files/{file_id}").json()["tags"])
        for attempt in range(300):
            got = (http.get(f"/api/files/{file_id}/original") if attempt % 2 else
                   dav.get(f"/tags/{tag}/{file_id}-{TURTLE}"))
            assert got.content != secret
            if got.status_code == 200:
                assert got.content == own
                answers["own"] += 1
            else:
                assert got.status_code == 404
                answers["404"] += 1
    assert answers["own"] > 10, answers
    assert (bob / TURTLE).read_bytes() == own


def test_a_file_swapped_after_the_scan_is_not_decoded(tmp_path):
    """Between the scan and the models, a photo is swapped for a link to a face photo of
    someone else: the faces classifier must not read it."""
    library, elsewhere = tmp_path / "bob", tmp_path / "alice"
    library.mkdir()
    shutil.copytree(next(JOHNS.iterdir()), elsewhere)
    shutil.copyfile(IMAGENET / "n01669191_box_turtle.JPEG", library / "turtle.jpg")
    settings = load_settings(tmp_path / "data", classifiers="faces")
    db = Database(settings.db_url)
    mount = ensure_mount(db, "bob", library, settings.own_paths)
    scan_mount(db, mount.id, mount.root)
    os.symlink(next(elsewhere.iterdir()), library / "swap")
    os.rename(library / "swap", library / "turtle.jpg")
    classifier = REGISTRY["faces"](settings)
    sync_work(db, classifier, [mount.id])
    (batch,) = pending_batches(db, "faces", [mount.id], 8)
    outcome = classify_batch(db, classifier, batch)
    assert not any(result.faces for result in outcome.results)
    assert "out of its folder" in next(iter(outcome.failures.values()))


def test_a_mount_swapped_for_a_link_to_another_folder_is_refused(server, tmp_path):
    bob = server.libraries["bob"]
    with server.client("bob") as http:
        (mount,) = http.get("/api/mounts").json()
        before = {f["name"] for f in http.get("/api/files?limit=500").json()["items"]}
        os.rename(bob, tmp_path / "bob-moved")
        os.symlink(server.libraries["alice"], bob)
        try:
            assert http.post(f"/api/mounts/{mount['id']}/rescan").status_code == 202
            status = server.wait_idle("bob")
            after = {f["name"] for f in http.get("/api/files?limit=500").json()["items"]}
            mounts = http.get("/api/mounts").json()
            run = next(r for r in status["processing"]["last_runs"] if r["mount"] == mount["id"])
            assert "no longer the folder that was added" in run["error"]
            assert after == before  # none of Alice's photos; Bob's own results are kept
            assert [m["path"] for m in mounts] == [mount["path"]]
            assert "no longer the folder that was added" in mounts[0]["problem"]
            # The command line says so too, and makes no mount elsewhere.
            server.cli.env["KENNING_USER"] = "bob"
            refused = server.cli("index", bob, check=False)
            assert refused.code == 2 and "no longer the folder" in refused.stderr
            assert [m["path"] for m in http.get("/api/mounts").json()] == [mount["path"]]
        finally:
            server.cli.env.pop("KENNING_USER", None)
            os.unlink(bob)
            os.rename(tmp_path / "bob-moved", bob)


def test_a_folder_replaced_by_another_is_refused(kenning, tmp_path):
    library = tmp_path / "photos"
    library.mkdir()
    shutil.copyfile(IMAGENET / "n01443537_goldfish.JPEG", library / "fish.jpg")
    kenning.env["KENNING_CLASSIFIERS"] = "objects"
    kenning("index", library)
    tags = kenning("tags", library / "fish.jpg", "--json").json()["tags"]
    os.rename(library, tmp_path / "old")
    library.mkdir()  # same path, another folder
    refused = kenning("index", library, check=False)
    assert refused.code == 2 and "no longer the folder that was added" in refused.stderr
    assert "--repin" in refused.stderr
    # The owner restores the folder from a backup and says so: nothing is lost or redone.
    library.rmdir()
    shutil.copytree(tmp_path / "old", library)
    again = kenning("index", library, "--repin", "--json").json()
    assert again["processed"] == {} and again["changes"]["deleted"] == 0
    assert kenning("tags", library / "fish.jpg", "--json").json()["tags"] == tags


def test_repin_never_follows_a_link_to_another_users_folder(kenning, tmp_path):
    """Bob swaps his folder for a link to Alice's and asks for --repin: refused, with both
    paths, and his mount still is his own folder (none of her photos become his)."""
    alice, bob = tmp_path / "alice", tmp_path / "bob"
    for folder, photo in ((alice, "n01443537_goldfish.JPEG"), (bob, TURTLE_SOURCE)):
        folder.mkdir()
        shutil.copyfile(IMAGENET / photo, folder / photo.lower())
    kenning.env["KENNING_CLASSIFIERS"] = "places"
    for user, folder in (("alice", alice), ("bob", bob)):
        kenning("user", "add", user, "--mount", folder, "--password-stdin",
                input=b"a-long-password-1\n")
    kenning.env["KENNING_USER"] = "bob"
    kenning("index", bob)
    os.rename(bob, tmp_path / "bob-old")
    os.symlink(alice, bob)
    refused = kenning("index", bob, "--repin", check=False)
    assert refused.code == 2, refused.stdout
    assert "not a link" in refused.stderr and str(alice) in refused.stderr
    assert str(bob) in refused.stderr.replace("\n", "")
    assert [m["path"] for m in kenning("status", "--json").json()["mounts"]] == [str(bob)]
    seen = kenning("tags", alice / "n01443537_goldfish.jpeg", check=False)
    assert seen.code != 0  # not a file of Bob's
    # A real folder at the path (restored from a backup) is repinned, saying so.
    os.unlink(bob)
    shutil.copytree(tmp_path / "bob-old", bob)
    again = kenning("index", bob, "--repin")
    assert "--repin:" in again.stderr and str(bob) in again.stderr


def test_an_original_is_served_as_what_its_bytes_are(server):
    """A JPEG named .html, with a script after the picture, is sent as image/jpeg with
    nosniff and a sandbox; every page has CSP, no framing, nosniff and no referrer."""
    evil = server.libraries["bob"] / "evil.html"
    evil.write_bytes((server.libraries["bob"] / TURTLE).read_bytes() +
                     b"<html><script>alert(document.cookie)</script></html>")
    with server.client("bob") as http:
        (mount,) = http.get("/api/mounts").json()
        http.post(f"/api/mounts/{mount['id']}/rescan")
        server.wait_idle("bob")
        file_id = _file_id(server, "bob", "evil.html")
        got = http.get(f"/api/files/{file_id}/original")
        assert got.headers["content-type"] == "image/jpeg"
        assert got.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in got.headers["content-security-policy"]
        assert got.headers["content-disposition"].startswith("inline;")
        download = http.get(f"/api/files/{file_id}/original?download=true")
        assert download.headers["content-disposition"].startswith("attachment;")
    for path in ("/login", "/api/health", "/static/kenning.css", "/nope"):
        page = httpx.get(server.url + path)
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"], path
        assert "'unsafe-inline'" not in page.headers["content-security-policy"], path
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "no-referrer"
        assert page.headers["x-frame-options"] == "DENY"


def test_three_bomb_previews_at_once_do_not_take_the_server_down(server):
    bob = server.libraries["bob"]
    for n in range(3):
        progressive_jpeg_bomb(bob / f"bomb{n}.jpg")
    with server.client("bob") as http:
        (mount,) = http.get("/api/mounts").json()
        http.post(f"/api/mounts/{mount['id']}/rescan")
        status = server.wait_idle("bob")
        failed = {os.path.basename(f["path"]): f["reason"] for f in status["failed_files"]}
        assert all("too large" in failed[f"bomb{n}.jpg"] for n in range(3)), failed
        ids = [_file_id(server, "bob", f"bomb{n}.jpg") for n in range(3)]
    cookie = _browser_session(server, "bob")
    answers = []

    def preview(file_id):
        with httpx.Client(base_url=server.url, cookies=cookie, timeout=120) as browser:
            answers.append(browser.get(f"/files/{file_id}/preview").status_code)

    threads = [threading.Thread(target=preview, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [404, 404, 404]
    assert httpx.get(server.url + "/api/health").status_code == 200
    assert peak_rss_mb(server.process.pid) < 1500
    for n in range(3):
        os.unlink(bob / f"bomb{n}.jpg")


def _browser_session(server, user: str) -> dict:
    with httpx.Client(base_url=server.url) as browser:
        sign_in(browser, user, PASSWORDS[user])
        return dict(browser.cookies)


def test_previews_are_of_the_checked_file(server):
    """While the photo flips to a link to another user's photo, its preview is always of
    the photo itself (same size as the photo)."""
    from io import BytesIO

    from PIL import Image

    bob = server.libraries["bob"]
    with Image.open(bob / TURTLE) as photo:
        size = photo.size
    outside = next(server.libraries["alice"].rglob("*.jpg"))
    with Image.open(outside) as theirs:
        assert theirs.size != size
    file_id = _file_id(server, "bob", TURTLE)
    cookie = _browser_session(server, "bob")
    cache = server.root / "data" / "cache" / "previews"
    with Flipper(bob / TURTLE, outside), httpx.Client(base_url=server.url,
                                                       cookies=cookie) as browser:
        for _ in range(40):
            shutil.rmtree(cache, ignore_errors=True)
            got = browser.get(f"/files/{file_id}/preview")
            if got.status_code == 200:
                assert Image.open(BytesIO(got.content)).size == size
            else:
                assert got.status_code == 404


def test_kenning_data_inside_a_mount_is_refused(kenning, tmp_path, server):
    library = tmp_path / "photos"
    library.mkdir()
    shutil.copyfile(IMAGENET / "n01443537_goldfish.JPEG", library / "fish.jpg")
    inside = KenningCliAt(kenning, library / "kenning-data")
    refused = inside("index", library, check=False)
    assert refused.code == 2 and "overlap" in refused.stderr
    refused = inside("user", "add", "carol", "--mount", library, "--password-stdin",
                     input=b"carol-secret-1\n", check=False)
    assert refused.code == 2 and "overlap" in refused.stderr
    refused = kenning("index", kenning.data_dir / "..", check=False)
    assert refused.code == 2 and "overlap" in refused.stderr
    with server.client("alice") as http:  # an admin, through the API
        data_parent = str(server.root)
        answer = http.post("/api/mounts", json={"path": data_parent})
        assert answer.status_code == 409 and "overlap" in answer.text


def test_a_database_file_inside_a_mount_is_refused(kenning, tmp_path):
    """database_url puts the SQLite file in a photo folder (by its name, or through a
    link): the folder is refused as a mount, a user with it is not left behind, and a
    database moved into a folder that was added before stops `serve` and `index`."""
    library = tmp_path / "photos"
    library.mkdir()
    shutil.copyfile(IMAGENET / "n01443537_goldfish.JPEG", library / "fish.jpg")
    kenning.env["KENNING_CLASSIFIERS"] = "places"
    (tmp_path / "elsewhere").mkdir()
    os.symlink(library / "hidden.db", tmp_path / "elsewhere" / "linked.db")
    for url in (f"sqlite:///{library}/sub/library.db", f"sqlite:///{library}/.k.db",
                f"sqlite:///{tmp_path}/elsewhere/linked.db"):
        kenning.env["KENNING_DATABASE_URL"] = url
        refused = kenning("index", library, check=False)
        assert refused.code == 2 and "database file" in refused.stderr, (url, refused)
        refused = kenning("user", "add", "carol", "--mount", library, "--password-stdin",
                          input=b"carol-secret-1\n", check=False)
        assert refused.code == 2 and "overlap" in refused.stderr
        assert "carol" not in kenning("user", "--json").stdout  # not left behind
    # Added while the database was elsewhere, then the database moved into it.
    kenning.env["KENNING_DATABASE_URL"] = f"sqlite:///{tmp_path}/outside.db"
    kenning("index", library)
    shutil.copyfile(tmp_path / "outside.db", library / "moved.db")
    kenning.env["KENNING_DATABASE_URL"] = f"sqlite:///{library}/moved.db"
    refused = kenning("serve", "--port", "1", check=False, timeout=60)
    assert refused.code != 0 and "database file" in refused.stderr, refused
    refused = kenning("index", library, check=False)
    assert refused.code == 2 and "database file" in refused.stderr


def KenningCliAt(kenning, data_dir):  # noqa: N802 - a factory named like the class
    from conftest import KenningCli

    cli = KenningCli(data_dir)
    cli.env["KENNING_CLASSIFIERS"] = "objects"
    return cli


def test_database_and_caches_are_private(kenning, tmp_path):
    library = tmp_path / "photos"
    shutil.copytree(next(JOHNS.iterdir()), library)
    kenning.env["KENNING_CLASSIFIERS"] = "faces"
    kenning("index", library)
    data = kenning.data_dir
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for path in data.rglob("*"):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))
    assert any(p.suffix == ".jpg" for p in (data / "cache").rglob("*"))  # thumbnails


def _deep_photo(library, levels: int = 20) -> int:
    """A photo 20 folders of 242 bytes down (its path is over 4096 bytes, more than one
    system call takes: made one folder at a time). Returns the path's length."""
    top = os.open(library, os.O_RDONLY | os.O_DIRECTORY)
    fd, length = top, len(os.fsencode(library))
    try:
        for n in range(levels):
            name = f"{n:02d}" + secrets.token_hex(120)  # (random: no index compresses it)
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            if fd != top:
                os.close(fd)
            fd, length = inner, length + 1 + len(name)
        out = os.open("bird.jpg", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(out, (IMAGENET / "n01530575_brambling.JPEG").read_bytes())
        os.close(out)
    finally:
        if fd != top:
            os.close(fd)
        os.close(top)
    return length + len("/bird.jpg")


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_path_over_4096_bytes_fails_one_file_not_the_scan(kenning, tmp_path, database,
                                                            request):
    if database == "postgresql":
        kenning.env["KENNING_DATABASE_URL"] = request.getfixturevalue("postgres_url")
    library = tmp_path / "photos"
    library.mkdir()
    shutil.copyfile(IMAGENET / "n01443537_goldfish.JPEG", library / "fish.jpg")
    assert _deep_photo(library) > 4096
    kenning.env["KENNING_CLASSIFIERS"] = "objects"
    summary = kenning("index", library, "--json").json()
    assert summary["processed"]["objects"] >= 1
    assert "fish.jpg" in kenning("search", "fish").stdout
    again = kenning("index", library, "--json").json()  # and again: nothing breaks
    assert again["processed"] == {}
