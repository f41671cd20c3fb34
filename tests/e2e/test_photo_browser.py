"""The web page as a photo browser, in Debian's Chromium (Playwright) against a real
`kenning serve`, at a desktop and a phone width: the timeline with endless scrolling,
thumbnails, the viewer with keys and swipes, video and music playback, folders, places,
choosing many photos or faces at once, a person's cover, and search as you type.
Screenshots are kept in test-artifacts/screenshots/."""

from __future__ import annotations

import io
import os
import re
import shutil
import zipfile
from fractions import Fraction
from pathlib import Path

import pytest
from conftest import DEV, IMAGENET, REPO
from media_factory import geotagged, save_photo
from PIL import Image
from playwright.sync_api import Page, expect
from server_support import JOHNS, PASSWORDS, start_server
from web_support import SHOTS, axe_problems, browser, outside, signed_in_page, wait_until

BURST = 130  # copies of one photo: the timeline's first page (120) does not hold them all
PHONE = {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True}


def _dated(dest, source, when: str, where: tuple[float, float] | None = None) -> None:
    if where is not None:
        geotagged(source, dest, *where, taken=when)
        return
    image = Image.open(source)
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = when
    dest.parent.mkdir(parents=True, exist_ok=True)
    image.save(dest, exif=exif)


def _more_files(libraries) -> None:
    alice = libraries["alice"]
    trips = alice / "trips" / "2019"
    _dated(trips / "paris.jpg", IMAGENET / "n01530575_brambling.JPEG", "2019:07:14 12:00:00",
           (48.8584, 2.2945))
    _dated(trips / "sydney.jpg", IMAGENET / "n01443537_goldfish.JPEG", "2019:12:31 23:00:00",
           (-33.8568, 151.2153))
    pano = Image.open(IMAGENET / "n01440764_tench.JPEG").convert("RGB").resize((2000, 300))
    pano.save(alice / "panorama.jpg", quality=90)
    save_photo(IMAGENET / "n01774750_tarantula.JPEG", alice / "turned.jpg", "JPEG",
               orientation=6)
    (alice / "clips").mkdir()
    shutil.copyfile(DEV / "video" / "mmaction2" / "demo.mp4", alice / "clips" / "demo.mp4")
    (alice / "music").mkdir()
    shutil.copyfile(DEV / "music_gtzan_20" / "blues.00000.wav", alice / "music" / "blues.wav")
    shutil.copyfile(IMAGENET / "n01677366_common_iguana.JPEG", alice / "iguana.jpg")
    # A photo cut short (a copy that stopped halfway): it fails, and says so.
    (alice / "cut short.jpg").write_bytes((IMAGENET / "n01530575_brambling.JPEG")
                                          .read_bytes()[:3000])
    # A face on its side, which the detector does not find (checked below).
    john = sorted(JOHNS.rglob("*.jpg"))[3]
    Image.open(john).rotate(90).save(alice / "sideways.jpg", quality=92)
    burst = alice / "burst"
    burst.mkdir()
    data = (IMAGENET / "n01443537_goldfish.JPEG").read_bytes()
    for i in range(BURST):  # the same bytes: processed once, each with its own time
        target = burst / f"IMG_{i:04d}.jpg"
        target.write_bytes(data)
        os.utime(target, (1_500_000_000 + i * 60, 1_500_000_000 + i * 60))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("browser"), more_files=_more_files)
    server.wait_idle("alice")
    yield server
    server.stop()


_page = signed_in_page


def _shot(page: Page, name: str, full: bool = True) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full)


def _timeline(server) -> list[dict]:
    items, before = [], ""
    with server.client("alice") as http:
        while True:
            page = http.get("/api/timeline", params={"limit": 100, "before": before}).json()
            items += page["items"]
            if not page["next"]:
                return items
            before = page["next"]


def _people(server) -> list[dict]:
    with server.client("alice") as http:
        return http.get("/api/people", params={"limit": 500}).json()["items"]


def _by_name(server, name: str) -> dict:
    return next(f for f in _timeline(server) if f["name"] == name)


def _all_loaded(page: Page) -> None:
    """Every tile in view has its thumbnail (the others load as they come into view)."""
    wait_until(page, "() => [...document.querySelectorAll('.tile img')].filter("
                      "i => i.getBoundingClientRect().top < window.innerHeight).every("
                      "i => i.complete && i.naturalWidth > 0)", 120)


def _no_overflow(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, (page.url, overflow)


def test_timeline_scrolls_through_every_photo_newest_first(browser, server, outside):
    expected = _timeline(server)
    kinds = {f["kind"] for f in expected}
    assert kinds == {"image", "video"}  # music is not in the timeline
    assert len(expected) == 55 + 3 + 6 + BURST + 1 + 1
    whens = [f["when"] for f in expected]
    assert whens == sorted(whens, reverse=True)
    with server.client("bob") as http:  # bob's timeline: his photos only
        bobs = {f["id"] for f in http.get("/api/timeline?limit=500").json()["items"]}
        assert len(bobs) == 3 and not bobs & {f["id"] for f in expected}
        for cursor in ("not-a-cursor", "99999999999999999999.1", "1.99999999999"):
            assert http.get(f"/api/timeline?before={cursor}").status_code == 422
        his = {t["tag"] for t in http.get("/api/tags?limit=500").json()["items"]}
        offered = {t["tag"] for t in http.get("/api/suggest?q=a").json()["tags"]}
        assert offered and offered <= his  # suggestions from his own library only
    page = _page(browser, server, outside)
    tiles = page.locator(".tile")
    expect(tiles).to_have_count(120)
    assert page.locator("a[data-more]").count() == 1
    for _ in range(20):  # scroll to the end: the script fetches the next tiles
        page.mouse.wheel(0, 20000)
        page.wait_for_timeout(300)
        if tiles.count() == len(expected) and page.locator("a[data-more]").count() == 0:
            break
    shown = [int(i) for i in page.eval_on_selector_all(".tile", "t => t.map(e => e.dataset.file)")]
    assert shown == [f["id"] for f in expected]
    months = page.eval_on_selector_all(".month h2", "h => h.map(e => e.textContent)")
    assert len(months) == len(set(months))  # a month that goes on is not repeated
    for month in page.locator("section.month").all():  # nor a day in it
        days = month.locator("section.day h3").all_inner_texts()
        assert days and len(days) == len(set(days))
    assert "Sunday 14" in page.locator('section.month[data-month="July 2019"] h3'
                                       ).all_inner_texts()
    assert "July 2019" in months and "December 2019" in months
    page.evaluate("window.scrollTo(0, 0)")
    _all_loaded(page)
    _shot(page, "timeline", full=False)
    assert outside == {"elsewhere": [], "refused": []}


def test_the_date_scrubber_jumps_to_any_month(browser, server, outside):
    with server.client("alice") as http:
        months = http.get("/api/timeline/months").json()
    assert [m["month"] for m in months] == sorted({m["month"] for m in months}, reverse=True)
    assert {m["month"]: m["files"] for m in months}["2019-07"] == 1
    assert sum(m["files"] for m in months) == len(_timeline(server))
    page = _page(browser, server, outside)
    rail = page.get_by_role("navigation", name="Dates")
    expect(rail).to_be_visible()
    rail.get_by_role("link", name="July 2019: 1 photos and videos").click()
    expect(page.locator(".tile").first).to_have_attribute(
        "data-file", str(_by_name(server, "paris.jpg")["id"]))
    expect(page.get_by_role("heading", name="Sunday 14")).to_be_visible()
    _shot(page, "scrubber", full=False)
    phone = _page(browser, server, outside, **PHONE)
    expect(phone.get_by_role("navigation", name="Dates")).to_be_hidden()
    december = next(m for m in months if m["month"] == "2019-12")
    phone.get_by_label("Jump to").select_option(value=december["before"])
    phone.get_by_role("button", name="Go").click()
    expect(phone.locator(".tile").first).to_have_attribute(
        "data-file", str(_by_name(server, "sydney.jpg")["id"]))
    _no_overflow(phone)
    assert outside == {"elsewhere": [], "refused": []}


def test_thumbnails_are_webp_at_the_photos_own_aspect(browser, server, outside):
    pano, turned = _by_name(server, "panorama.jpg"), _by_name(server, "turned.jpg")
    page = _page(browser, server, outside)
    source = Image.open(IMAGENET / "n01774750_tarantula.JPEG")
    for item, ratio in ((pano, 4.0), (turned, source.width / source.height)):
        response = page.request.get(f"/files/{item['id']}/thumbnail?v=1")
        assert response.status == 200
        assert response.headers["content-type"] == "image/webp"
        assert "max-age=2592000" in response.headers["cache-control"]
        image = Image.open(io.BytesIO(response.body()))
        assert image.format == "WEBP" and image.height == 240
        # A 2000 x 300 panorama: its middle, at 4:1. A photo stored on its side: turned
        # upright by its EXIF orientation, at the original's shape.
        assert abs(image.width - 240 * ratio) <= 1, (item["name"], image.size)
    big = page.request.get(f"/files/{turned['id']}/thumbnail?h=480")
    assert Image.open(io.BytesIO(big.body())).height == min(480, source.height)  # never enlarged
    assert page.request.get(f"/files/{turned['id']}/thumbnail?h=9999").status == 422
    with server.client("alice") as http:
        music = http.get("/api/files?kind=audio").json()["items"][0]
    assert page.request.get(f"/files/{music['id']}/thumbnail").status == 404
    # In the grid every tile shows its photo uncropped: the box has the image's shape.
    shapes = page.eval_on_selector_all(".tile img", """imgs => imgs.filter(i => i.complete &&
        i.naturalWidth).map(i => [i.clientWidth / i.clientHeight,
                                  i.naturalWidth / i.naturalHeight])""")
    assert len(shapes) >= 20
    for box, natural in shapes:
        assert abs(box - natural) / natural < 0.03, (box, natural)
    assert outside == {"elsewhere": [], "refused": []}


def test_viewer_goes_older_and_newer_by_keys(browser, server, outside):
    expected = _timeline(server)
    page = _page(browser, server, outside)
    page.locator(".tile a").nth(2).click()
    expect(page).to_have_url(re.compile(f"/files/{expected[2]['id']}$"))
    page.keyboard.press("ArrowRight")
    expect(page).to_have_url(re.compile(f"/files/{expected[3]['id']}$"))
    page.keyboard.press("ArrowRight")
    expect(page).to_have_url(re.compile(f"/files/{expected[4]['id']}$"))
    page.keyboard.press("ArrowLeft")
    expect(page).to_have_url(re.compile(f"/files/{expected[3]['id']}$"))
    _shot(page, "viewer")
    page.keyboard.press("Escape")
    expect(page.get_by_role("heading", name="Photos")).to_be_visible()
    page.goto(f"/files/{expected[0]['id']}")
    expect(page.get_by_text("← Newer")).not_to_have_attribute("href", re.compile("."))
    page.goto(f"/files/{expected[-1]['id']}")
    expect(page.get_by_text("Older →")).not_to_have_attribute("href", re.compile("."))


def test_viewer_swipes_on_a_phone(browser, server, outside):
    expected = _timeline(server)
    page = _page(browser, server, outside, **PHONE)
    page.goto(f"/files/{_by_name(server, 'paris.jpg')['id']}")
    at = next(i for i, f in enumerate(expected) if f["name"] == "paris.jpg")
    expect(page.locator(".frame img")).to_be_visible()
    _no_overflow(page)
    _shot(page, "phone-viewer")
    frame = page.locator(".frame").bounding_box()
    cdp = page.context.new_cdp_session(page)
    y = frame["y"] + frame["height"] / 2

    def swipe(start: float, end: float) -> None:
        for kind, x in (("touchStart", start), ("touchMove", (start + end) / 2),
                        ("touchMove", end)):
            cdp.send("Input.dispatchTouchEvent",
                     {"type": kind, "touchPoints": [{"x": x, "y": y}]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})

    swipe(300, 60)  # to the left: the next, older photo
    expect(page).to_have_url(re.compile(f"/files/{expected[at + 1]['id']}$"))
    swipe(60, 300)
    expect(page).to_have_url(re.compile(f"/files/{expected[at]['id']}$"))


def test_video_and_music_play(browser, server, outside):
    page = _page(browser, server, outside)
    video = _by_name(server, "demo.mp4")
    page.goto(f"/files/{video['id']}")
    player = page.locator("video")
    expect(player).to_be_visible()
    wait_until(page, "() => document.querySelector('video').readyState >= 2")
    page.evaluate("document.querySelector('video').muted = true")
    page.evaluate("document.querySelector('video').play()")
    wait_until(page, "() => document.querySelector('video').currentTime > 0.2")
    _shot(page, "video")
    # No action model installed: the page says what is missing and where to learn more.
    expect(page.get_by_role("note")).to_contain_text("movinet_a0_stream_kinetics600")
    page.get_by_role("link", name="How to add it").click()
    expect(page.locator(".missing-models")).to_contain_text(
        "kenning models install movinet_a0_stream_kinetics600 --from")
    with server.client("alice") as http:
        song = http.get("/api/files?kind=audio").json()["items"][0]
    page.goto(f"/files/{song['id']}")
    wait_until(page, "() => document.querySelector('audio').duration > 10")
    assert outside == {"elsewhere": [], "refused": []}


def test_folders_lead_down_to_their_photos(browser, server, outside):
    page = _page(browser, server, outside)
    page.get_by_role("link", name="Folders").click()
    folders = page.locator(".folder-tiles")
    for name in ("johns", "trips", "burst", "clips", "music"):
        expect(folders.get_by_role("link", name=re.compile(f"^{name}"))).to_be_visible()
    expect(folders.locator("li", has_text="burst")).to_contain_text(f"{BURST} files")
    # A cover from the photos below a folder; a drawn folder where there are none.
    cover = folders.locator("li", has_text="trips").locator("img")
    expect(cover).to_have_attribute("src", re.compile(r"^/files/\d+/thumbnail$"))
    wait_until(page, "() => [...document.querySelectorAll('.folder-tiles img')].every("
                     "i => i.complete && i.naturalWidth > 0)")
    expect(folders.locator("li", has_text="music").locator("svg.folder-icon")).to_be_visible()
    _shot(page, "folders", full=False)
    folders.get_by_role("link", name=re.compile("^trips")).click()
    page.locator(".folder-tiles").get_by_role("link", name=re.compile("^2019")).click()
    expect(page.get_by_role("heading", name="2019")).to_be_visible()
    expect(page.locator(".tile")).to_have_count(2)
    expect(page.locator(".tile img").first).to_have_attribute("alt", "paris.jpg")
    _shot(page, "folder")
    page.locator(".crumbs").get_by_role("link", name="trips").click()
    expect(page.get_by_role("heading", name="trips")).to_be_visible()
    page.goto(f"/folders/{page.url.split('/folders/')[1].split('?')[0]}?path=burst")
    expect(page.locator(".tile")).to_have_count(120)
    page.mouse.wheel(0, 20000)
    expect(page.locator(".tile")).to_have_count(BURST)
    assert page.request.get(page.url.split("?")[0] + "?path=../..").status == 404
    assert outside == {"elsewhere": [], "refused": []}


def test_places_list_links_to_their_photos(browser, server, outside):
    page = _page(browser, server, outside)
    page.get_by_role("link", name="Places").click()
    expect(page.get_by_role("heading", name=re.compile("^France"))).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("^Australia"))).to_be_visible()
    _shot(page, "places")
    # The world map: a spot where each place is, a link to its photos.
    world = page.get_by_role("group", name="Map of the places your photos were taken")
    expect(world).to_be_visible()
    paris = world.get_by_role("link", name=re.compile(r"^Paris, France: 1 photo$"))
    spot = paris.locator("circle")
    assert float(spot.get_attribute("cx")) == pytest.approx((2.2945 + 180) * 960 / 360, abs=1)
    assert float(spot.get_attribute("cy")) == pytest.approx((90 - 48.8584) * 480 / 180, abs=1)
    assert float(world.get_by_role("link", name=re.compile("^Sydney")).locator("circle")
                 .get_attribute("cy")) > 240  # south of the equator
    paris.click()
    expect(page.locator(".tile img")).to_have_attribute("alt", "paris.jpg")
    page.go_back()
    page.get_by_role("link", name="Sydney", exact=True).click()
    expect(page.locator("#result-count")).to_have_text("1 file")
    expect(page.locator(".tile img")).to_have_attribute("alt", "sydney.jpg")


def test_choose_photos_and_tag_them_at_once(browser, server, outside):
    page = _page(browser, server, outside)
    bar = page.locator("form#bulk")
    expect(bar).to_be_hidden()  # until a photo is chosen
    tiles = page.locator(".tile")
    tiles.nth(0).hover()
    tiles.nth(0).locator(".pick").check()
    tiles.nth(3).locator(".pick").click(modifiers=["Shift"], force=True)  # a range
    expect(bar).to_be_visible()
    expect(bar.locator("[data-chosen]")).to_have_text("4 chosen")
    chosen = [int(tiles.nth(i).get_attribute("data-file")) for i in range(4)]
    # What to offer as you type comes once photos are chosen: the tags and named people.
    expect(page.locator("#alltags option").first).to_be_attached()
    assert page.locator("#allpeople option").count() == len(
        [p for p in _people(server) if p["name"]][:200])
    bar.get_by_label("Tag").fill("Holiday")
    _shot(page, "bulk-choose", full=False)
    bar.get_by_role("button", name="Add tag").click()
    expect(page.get_by_role("status")).to_have_text("tag 'Holiday' added to 4 files")
    with server.client("alice") as http:
        found = http.get("/api/search", params={"tag": "Holiday"}).json()["items"]
    assert sorted(f["id"] for f in found) == sorted(chosen)
    tiles.nth(1).hover()
    tiles.nth(1).locator(".pick").check()
    bar.get_by_label("Tag").fill("holiday")
    bar.get_by_role("button", name="Remove tag").click()
    expect(page.get_by_role("status")).to_have_text("tag 'holiday' removed from 1 file")
    with server.client("alice") as http:
        found = http.get("/api/search", params={"tag": "Holiday"}).json()["items"]
    assert len(found) == 3
    # Someone else's file in the list: nothing is changed, and nothing is told.
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    with server.client("bob") as http:
        bobs = http.get("/api/files").json()["items"][0]["id"]
    forged = page.request.post("/files/bulk", form={"csrf": csrf, "file": str(bobs),
                                                    "tag": "Mine"})
    assert forged.status == 404
    assert page.request.post("/files/zip", form={"csrf": csrf, "file": str(bobs)}
                             ).status == 404


def test_download_chosen_photos_as_one_zip(browser, server, outside):
    page = _page(browser, server, outside)
    tiles = page.locator(".tile")
    tiles.nth(0).hover()
    tiles.nth(0).locator(".pick").check()
    tiles.nth(2).locator(".pick").click(modifiers=["Shift"], force=True)
    chosen = [int(tiles.nth(i).get_attribute("data-file")) for i in range(3)]
    with page.expect_download() as download:
        page.locator("form#bulk").get_by_role("button", name="Download").click()
    archive = zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes()))
    timeline = {f["id"]: f for f in _timeline(server)}
    names = archive.namelist()
    assert names == [timeline[i]["path"] for i in chosen]
    library = server.libraries["alice"]
    for name in names:
        assert archive.read(name) == (library / name).read_bytes()  # the originals
    # Over the API too, up to 10,000 at once; another user's ids are left out.
    with server.client("bob") as http:
        bobs = http.get("/api/files").json()["items"][0]["id"]
    with server.client("alice") as http:
        answer = http.post("/api/files/zip", json={"files": [chosen[0], bobs]})
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/zip"
        assert zipfile.ZipFile(io.BytesIO(answer.content)).namelist() == names[:1]
        assert http.post("/api/files/zip", json={"files": [bobs]}).status_code == 404
        assert http.post("/api/files/zip", json={"files": list(range(1, 10_002))}
                         ).status_code == 422
    assert outside == {"elsewhere": [], "refused": []}


def test_choose_faces_and_name_them_at_once(browser, server, outside):
    with server.client("alice") as http:
        people = http.get("/api/people").json()["items"]
    person = people[0]
    page = _page(browser, server, outside)
    page.goto(f"/people/{person['id']}?tab=faces")
    faces = page.locator(".faces .face")
    ids = [faces.nth(i).get_attribute("data-face") for i in range(2)]
    for i in range(2):
        faces.nth(i).hover()
        faces.nth(i).locator(".pick").check()
    bar = page.locator("form#facebulk")
    expect(bar.locator("[data-chosen]")).to_have_text("2 chosen")
    bar.get_by_role("button", name=re.compile("^Not (?!faces)")).click()
    expect(page.get_by_role("status")).to_have_text("saved")
    page.get_by_role("link", name="Unassigned faces").click()
    for face in ids:
        box = page.locator(f'.face[data-face="{face}"]')
        box.hover()
        box.locator(".pick").check()
    page.locator("form#facebulk").get_by_label("They are").fill("Twin Johns")
    page.locator("form#facebulk").get_by_role("button", name="Save").click()
    for face in ids:
        expect(page.locator(f'.face[data-face="{face}"]')).to_have_count(0)
    with server.client("alice") as http:
        twins = [p for p in http.get("/api/people").json()["items"] if p["name"] == "Twin Johns"]
        assert len(twins) == 1 and twins[0]["faces"] == 2


def test_choose_a_persons_cover_face(browser, server, outside):
    with server.client("alice") as http:
        person = max(http.get("/api/people").json()["items"], key=lambda p: p["faces"])
    page = _page(browser, server, outside)
    page.goto(f"/people/{person['id']}?tab=faces")
    third = page.locator(".faces .face").nth(2)
    face = third.get_attribute("data-face")
    assert face != str(person["cover_face"])
    third.get_by_role("button", name=f"Use as cover: face {face}").click()
    expect(page.get_by_role("status")).to_have_text("cover chosen")
    expect(page.locator(f'.face[data-face="{face}"]')).to_contain_text("Cover")
    page.get_by_role("link", name="People", exact=True).click()
    card = page.locator(f'a.card[href="/people/{person["id"]}"] img')
    expect(card).to_have_attribute("src", f"/api/faces/{face}/thumbnail")
    with server.client("alice") as http:
        again = http.get("/api/people?limit=500").json()["items"]
    assert next(p for p in again if p["id"] == person["id"])["cover_face"] == int(face)


def test_search_as_you_type(browser, server, outside):
    with server.client("alice") as http:
        tag = http.get("/api/tags").json()["items"][0]["tag"]
        http.patch(f"/api/people/{http.get('/api/people').json()['items'][-1]['id']}",
                   json={"name": "Zelda Quick"})
    page = _page(browser, server, outside)
    page.keyboard.press("/")
    expect(page.get_by_role("combobox", name="Search")).to_be_focused()
    page.keyboard.type(tag[:3])
    options = page.get_by_role("option")
    expect(options.first).to_be_visible()
    expect(page.get_by_role("option", name=re.compile(f"^{tag} tag"))).to_be_visible()
    _shot(page, "search-as-you-type", full=False)
    while True:
        page.keyboard.press("ArrowDown")
        active = page.locator("[role=option][aria-selected=true]")
        if active.inner_text().startswith(f"{tag} tag"):
            break
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/search\?tag="))
    expect(page.locator("#result-count")).to_have_text(re.compile(r"^\d+\+? files?$"))
    quick = page.get_by_role("combobox", name="Search")
    quick.fill("zel")
    expect(page.get_by_role("option", name=re.compile("^Zelda Quick person"))).to_be_visible()
    quick.fill("Zelda Quick")
    quick.press("Enter")  # no suggestion chosen: the words themselves, understood
    found = page.get_by_role("list", name="What the search found")
    expect(found.get_by_role("listitem")).to_have_text([re.compile("^Zelda Quick")])
    quick = page.get_by_role("combobox", name="Search")
    quick.fill(f"zelda {tag.lower()}")  # one word of a name, a tag in any case
    quick.press("Enter")
    expect(found.get_by_role("listitem")).to_have_count(2)
    found.get_by_role("link", name="Search without Zelda Quick").click()
    expect(found.get_by_role("listitem")).to_have_text([re.compile(f"^{tag}")])
    expect(page.locator("#result-count")).to_have_text(re.compile(r"^[1-9]\d*\+? files?$"))
    assert outside == {"elsewhere": [], "refused": []}


def test_the_browser_on_a_phone(browser, server, outside):
    page = _page(browser, server, outside, **PHONE)
    _all_loaded(page)
    _no_overflow(page)
    _shot(page, "phone-timeline", full=False)
    widths = page.eval_on_selector_all(
        ".tile", "t => t.slice(0, 12).map(e => e.getBoundingClientRect().right)")
    assert max(widths) <= 375
    page.goto("/folders")
    _no_overflow(page)
    page.goto("/places")
    _no_overflow(page)
    _shot(page, "phone-places")
    page.goto("/people")
    _no_overflow(page)
    page.goto("/")
    # One line of header, the sections at the bottom of the screen.
    header = page.locator("header").bounding_box()
    assert header["height"] <= 64, header
    sections = page.locator("header .sections").get_by_role(
        "link", name="People", exact=True).bounding_box()
    assert sections["y"] > PHONE["viewport"]["height"] - 70
    # No boxes over the photos until choosing begins, with a long press on a tile.
    first, second = page.locator(".tile").nth(0), page.locator(".tile").nth(1)
    expect(first.locator(".pick")).to_be_hidden()
    box = first.bounding_box()
    cdp = page.context.new_cdp_session(page)
    point = {"x": box["x"] + box["width"] / 2, "y": box["y"] + box["height"] / 2}
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [point]})
    page.wait_for_timeout(700)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    expect(page.locator("form#bulk")).to_be_visible()
    expect(first.locator(".pick")).to_be_checked()
    expect(page).to_have_url(re.compile(r"/$"))  # chosen, not opened
    second.locator("a").tap()  # while choosing, a tap chooses
    expect(second.locator(".pick")).to_be_checked()
    expect(page.locator("[data-chosen]")).to_have_text("2 chosen")
    _no_overflow(page)
    _shot(page, "phone-choose", full=False)
    assert outside == {"elsewhere": [], "refused": []}


def test_draw_a_face_the_detector_missed(browser, server, outside):
    sideways = _by_name(server, "sideways.jpg")
    with server.client("alice") as http:
        assert http.get(f"/api/files/{sideways['id']}").json()["faces"] == []
    page = _page(browser, server, outside)
    page.goto(f"/files/{sideways['id']}")
    page.get_by_text("Add a face the detector missed").click()
    photo = page.locator(".frame img").bounding_box()
    page.mouse.move(photo["x"] + 0.05 * photo["width"], photo["y"] + 0.05 * photo["height"])
    page.mouse.down()
    page.mouse.move(photo["x"] + 0.5 * photo["width"], photo["y"] + 0.5 * photo["height"])
    page.mouse.move(photo["x"] + 0.95 * photo["width"], photo["y"] + 0.95 * photo["height"])
    page.mouse.up()
    assert 89 < float(page.get_by_label("Width %").input_value()) < 91
    expect(page.get_by_label("Who is it")).to_be_focused()
    page.keyboard.type("Sideways John")
    _shot(page, "draw-face")
    page.get_by_role("button", name="Add the face").click()
    expect(page.get_by_role("status")).to_have_text("face added (Sideways John)")
    expect(page.locator(".frame a.box")).to_have_text("Sideways John")
    with server.client("alice") as http:
        [face] = http.get(f"/api/files/{sideways['id']}").json()["faces"]
        person = http.get(f"/api/people/{face['person']}").json()
        assert person["name"] == "Sideways John" and person["faces"] == 1
        assert http.get(f"/api/faces/{face['id']}/thumbnail").status_code == 200
        # The same face twice: refused. Elsewhere, with no name: clustering places it
        # (a spider's "face" seeds no person).
        again = http.post(f"/api/files/{sideways['id']}/faces",
                          json={"box": [0.06, 0.06, 0.88, 0.88]})
        assert again.status_code == 409 and "already there" in again.text
        spider = _by_name(server, "n01774750_tarantula.jpg")
        drawn = http.post(f"/api/files/{spider['id']}/faces",
                          json={"box": [0.3, 0.3, 0.2, 0.2]})
        assert drawn.status_code == 201, drawn.text
        assert drawn.json()["drawn"] and drawn.json()["person"] is None
        bad = http.post(f"/api/files/{spider['id']}/faces", json={"box": [0.9, 0.9, 0.5, 0.5]})
        assert bad.status_code == 422
        # A name refused (only a number): 409, and no face is kept either.
        refused = http.post(f"/api/files/{spider['id']}/faces",
                            json={"box": [0.6, 0.6, 0.2, 0.2], "name": "12345"})
        assert refused.status_code == 409, refused.text
        assert len(http.get(f"/api/files/{spider['id']}").json()["faces"]) == 1
    # Processed again (a user resetting the faces): the drawn faces stay, with their names.
    server.cli("reset", "tags", "--classifier", "faces")
    server.cli("index", str(server.libraries["alice"]))
    with server.client("alice") as http:
        [kept] = http.get(f"/api/files/{sideways['id']}").json()["faces"]
        assert kept["id"] == face["id"] and kept["person"] == person["id"]
        assert len(http.get(f"/api/files/{spider['id']}").json()["faces"]) == 1


def test_unassigned_faces_by_likely_person_and_not_faces(browser, server, outside):
    with server.client("alice") as http:
        people = http.get("/api/people").json()["items"]
        john = max((p for p in people if p["faces"] >= 5), key=lambda p: p["id"])
        http.patch(f"/api/people/{john['id']}", json={"name": "Johnny Group"})
        faces = [f["face"] for f in
                 http.get(f"/api/people/{john['id']}/faces").json()["items"][:3]]
        parked = http.post("/api/people", json={"faces": faces, "name": "Parked"}).json()
        http.delete(f"/api/people/{parked['id']}")  # three of his faces, unassigned
        iguana_file = _by_name(server, "iguana.jpg")["id"]
        [iguana] = http.get(f"/api/files/{iguana_file}").json()["faces"]
    page = _page(browser, server, outside)
    page.get_by_role("link", name="Unassigned faces").click()
    group = page.locator(f'section.likely[data-likely="{john["id"]}"]')
    expect(group.get_by_role("heading")).to_contain_text("Maybe Johnny Group")
    expect(group.locator(".face")).to_have_count(3)
    expect(group.locator(".face a").first).to_have_attribute("href", re.compile(r"^/files/\d+$"))
    _shot(page, "unassigned-grouped")
    # "All N are ..." only where every face is close to that person.
    with server.client("alice") as http:
        close = {f["face"]: bool(f["suggestions"]) and f["suggestions"][0]["similarity"] >= 0.42
                 for f in http.get("/api/faces/unassigned", params={"limit": 100}).json()}
    for section in page.locator("section.likely").all():
        offered = section.locator("form[action='/faces/bulk'] button").count() > 0
        ids = [int(f.get_attribute("data-face")) for f in section.locator(".face").all()]
        if offered:
            assert all(close.get(i) for i in ids), ids
    group.get_by_role("button", name="All 3 are Johnny Group").click()
    expect(page.get_by_role("status")).to_have_text("saved")
    with server.client("alice") as http:
        assert http.get(f"/api/people/{john['id']}").json()["faces"] == john["faces"]
    # The iguana was set aside by itself (its photo looks like an iguana's): it is on the
    # "not faces" page, from where it is put back; then the user says it is not a face.
    assert iguana["not_face"] and iguana["not_face_by"] == "auto"
    iguana_tile = f'.face[data-face="{iguana["id"]}"]'
    expect(page.locator(iguana_tile)).to_have_count(0)
    page.goto(f"/files/{iguana_file}")
    expect(page.locator(".face")).to_contain_text("Set aside: looks like no person’s")
    page.go_back()
    page.get_by_role("link", name=re.compile("not faces")).click()
    expect(page.get_by_role("heading", name="Not faces")).to_be_visible()
    expect(page.locator(iguana_tile)).to_contain_text("Set aside")
    page.get_by_role("button", name=f"Face {iguana['id']} is a face after all").click()
    expect(page.locator(iguana_tile)).to_have_count(0)
    page.get_by_role("link", name="Unassigned faces").click()
    face = page.locator(iguana_tile)
    face.get_by_role("button", name=f"Face {iguana['id']} is not a face").click()
    expect(page.locator(iguana_tile)).to_have_count(0)
    page.get_by_role("link", name=re.compile("not faces")).click()
    expect(page.locator(iguana_tile)).to_contain_text("Marked by you")
    page.get_by_role("button", name=f"Face {iguana['id']} is a face after all").click()
    expect(page.locator(iguana_tile)).to_have_count(0)
    with server.client("alice") as http:
        unassigned = {f["face"] for f in http.get("/api/faces/unassigned?limit=500").json()}
        assert iguana["id"] in unassigned
    with server.client("bob") as http:  # not bob's face: as if it did not exist
        assert http.put(f"/api/faces/{iguana['id']}/not-a-face").status_code == 404
    # From a file manager: deleting it from unassigned/ says it is not a face.
    with server.client(None, auth=("alice", PASSWORDS["alice"])) as dav:
        listed = dav.request("PROPFIND", "/dav/unassigned/", headers={"Depth": "1"}).text
        name = next(n for n in re.findall(r"/dav/unassigned/([^<]+)</", listed)
                    if n.startswith(f"{iguana['id']}-"))
        assert dav.delete(f"/dav/unassigned/{name}").status_code == 204
    with server.client("alice") as http:
        assert iguana["id"] in {f["face"] for f in http.get("/api/faces/not-faces").json()["items"]}
        assert iguana["id"] not in {f["face"] for f in
                                    http.get("/api/faces/unassigned?limit=500").json()}
        detail = http.get(f"/api/faces/{iguana['id']}").json()
        assert detail["not_face"] and detail["person"] is None


def test_a_file_that_failed_says_why_on_its_tile(browser, server, outside):
    cut = _by_name(server, "cut short.jpg")
    page = _page(browser, server, outside)
    page.goto("/")
    tile = page.locator(f'.tile[data-file="{cut["id"]}"]')
    for _ in range(10):  # further down the timeline: more tiles come as it scrolls
        if tile.count():
            break
        page.locator("a[data-more]").first.scroll_into_view_if_needed()
        page.wait_for_timeout(500)
    expect(tile).to_have_class(re.compile(r"\bfailed\b"))
    badge = tile.get_by_role("img", name=re.compile(r"^Not processed: "))
    expect(badge).to_be_visible()
    expect(tile.locator(".unreadable")).to_contain_text("could not be read")
    expect(tile.locator("img")).to_have_count(0)  # no broken image
    tile.scroll_into_view_if_needed()
    _shot(page, "failed-tile", full=False)
    assert outside == {"elsewhere": [], "refused": []}


def test_export_sidecars_from_the_status_page(browser, server, outside):
    page = _page(browser, server, outside)
    page.goto("/status")
    section = page.get_by_role("heading", name="Sidecars for other photo tools (XMP)")
    expect(section).to_be_visible()
    expect(page.get_by_label("A folder of their own, mirroring the library")).to_be_checked()
    page.get_by_label(re.compile("Keep them current")).check()
    page.get_by_role("button", name="Export now").click()
    expect(page.get_by_text(re.compile(r"\d+ sidecar\(s\) written"))).to_be_visible()
    expect(page.get_by_label(re.compile("Keep them current"))).to_be_checked()
    written = int(re.search(r"(\d+) sidecar\(s\) exported",
                            page.locator("#sidecars + p").inner_text()).group(1))
    assert written >= 55
    folder = server.cli.data_dir / "xmp" / "alice"
    assert len(list(folder.rglob("*.xmp"))) == written
    page.locator("#sidecars").scroll_into_view_if_needed()
    _shot(page, "status-sidecars", full=False)
    assert outside == {"elsewhere": [], "refused": []}


_axe = axe_problems


def test_every_page_passes_an_accessibility_check(browser, server, outside):
    with server.client("alice") as http:
        person = http.get("/api/people").json()["items"][0]["id"]
        photo = _by_name(server, "paris.jpg")["id"]
        mount = http.get("/api/mounts").json()[0]["id"]
    page = _page(browser, server, outside)
    problems = {}
    for url in ("/", "/people", f"/people/{person}", f"/people/{person}?tab=faces",
                f"/files/{photo}", "/folders", f"/folders/{mount}", "/places", "/tags",
                "/unassigned", "/status", "/search?q=fish", "/search?q=portriat"):
        page.goto(url)
        page.wait_for_load_state("networkidle")
        found = _axe(page)
        if found:
            problems[url] = found
    for width in (390,):
        phone = _page(browser, server, outside, viewport={"width": width, "height": 844},
                      has_touch=True, is_mobile=True)
        for url in ("/", "/people", f"/files/{photo}"):
            phone.goto(url)
            phone.wait_for_load_state("networkidle")
            found = _axe(phone)
            if found:
                problems[f"{url} at {width} px"] = found
    signed_out = browser.new_context(base_url=server.url).new_page()
    signed_out.goto("/login")
    if found := _axe(signed_out):
        problems["/login"] = found
    assert problems == {}, problems
