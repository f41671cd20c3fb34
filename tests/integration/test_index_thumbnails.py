"""Thumbnails ready before they are seen: `kenning index` leaves every photo's 240 px grid
thumbnail (and the first screen's 480 px ones, and videos' posters) in the cache, the
very files the server then sends; a file that cannot be decoded costs only its own."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
from conftest import DEV, IMAGENET
from PIL import Image
from server_support import PASSWORDS, sign_in, start_server

VIDEO = DEV / "video" / "mmaction2" / "demo.mp4"


def _thumbnails(root: Path, height: int) -> dict[int, Path]:
    base = root / "data" / "cache" / "thumbnails" / str(height)
    found = {}
    for path in base.rglob("*.webp") if base.is_dir() else ():
        found[int(path.name.split("-", 1)[0])] = path
    return found


def _more_files(libraries: dict[str, Path]) -> None:
    bob = libraries["bob"]
    for source in sorted(IMAGENET.glob("n015*.JPEG"))[:6]:
        shutil.copyfile(source, bob / source.name)
    shutil.copyfile(VIDEO, bob / "party.mp4")
    (bob / "cut short.jpg").write_bytes((IMAGENET / "n01530575_brambling.JPEG")
                                       .read_bytes()[:2000])
    # A photo stored sideways with an EXIF orientation, and a panorama.
    turned = Image.open(IMAGENET / "n01443537_goldfish.JPEG").rotate(90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 6
    turned.save(bob / "turned.jpg", exif=exif.tobytes())
    wide = Image.open(IMAGENET / "n01669191_box_turtle.JPEG").resize((3000, 300))
    wide.save(bob / "panorama.jpg")


def test_index_makes_the_grid_thumbnails_the_server_sends(tmp_path):
    server = start_server(tmp_path, classifiers="objects,faces,places,video",
                          serve_args=("--no-process", "--no-watch"), more_files=_more_files)
    try:
        server.cli.env["KENNING_USER"] = "bob"
        run = server.cli("index", server.libraries["bob"])
        assert "cut short.jpg" in run.stdout + run.stderr or "1 failed" in run.stdout, run.stdout
        with server.client("bob") as http:
            files = http.get("/api/files", params={"limit": 500}).json()["items"]
        shown = [f for f in files if f["kind"] in ("image", "video")]
        broken = next(f["id"] for f in files if f["name"] == "cut short.jpg")
        small, large = _thumbnails(server.root, 240), _thumbnails(server.root, 480)
        # Every tile of the (one-screen) library was made before anyone looked.
        assert {f["id"] for f in shown} - {broken} <= set(small), (files, small)
        assert {f["id"] for f in shown} - {broken} <= set(large)
        assert broken not in small
        browser = httpx.Client(base_url=server.url, timeout=60)
        assert sign_in(browser, "bob", PASSWORDS["bob"]).status_code == 303
        for item in shown:
            for height, made in ((240, small), (480, large)):
                got = browser.get(f"/files/{item['id']}/thumbnail", params={"h": height})
                if item["id"] == broken:
                    assert got.status_code == 404
                    continue
                assert got.status_code == 200, (item, got.text)
                # The server found the render made at indexing: the same bytes.
                assert got.content == made[item["id"]].read_bytes(), item["name"]
                image = Image.open(made[item["id"]])
                assert image.height == height or image.height < height == 480
                assert image.width <= 4 * image.height
        by_name = {f["name"]: f["id"] for f in shown}
        upright = Image.open(small[by_name["turned.jpg"]])  # stored sideways, shown upright
        original = Image.open(IMAGENET / "n01443537_goldfish.JPEG")
        assert original.width > original.height
        assert abs(upright.width / upright.height - original.width / original.height) < 0.02
        assert Image.open(small[by_name["panorama.jpg"]]).size == (960, 240)
        browser.close()
        # A second run with nothing new renders nothing again.
        before = {p: p.stat().st_mtime_ns for p in (*small.values(), *large.values())}
        server.cli("index", server.libraries["bob"])
        assert all(p.stat().st_mtime_ns == t for p, t in before.items())
    finally:
        server.stop()


def test_a_cache_that_cannot_be_written_costs_no_photo(kenning, tmp_path):
    library = tmp_path / "photos"
    library.mkdir()
    for source in sorted(IMAGENET.glob("n016*.JPEG"))[:3]:
        shutil.copyfile(source, library / source.name)
    cache = kenning.data_dir / "cache"
    cache.mkdir(parents=True)
    (cache / "thumbnails").write_text("not a folder")  # every thumbnail write fails
    kenning.env["KENNING_CLASSIFIERS"] = "objects,faces"
    run = kenning("index", library, "--json")
    assert run.json()["processed"]["objects"] == 3, run.stdout
    assert not run.json()["failed"]
