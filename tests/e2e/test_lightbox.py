"""The photo viewer as a full-window lightbox over the grid, in Debian's Chromium against
a real `kenning serve`: the photo fitted to the window, keys, edge buttons, swipes, wheel
and pinch zoom, the information panel (tags added and removed, a face named and
corrected there), video playing in it, the URL following the photo and the back button
closing it; at 1280 px and on a 390 px phone with touch."""

from __future__ import annotations

import re
import shutil

import pytest
from conftest import DEV
from playwright.sync_api import Page, expect
from server_support import start_server
from web_support import (  # noqa: F401 - browser and outside are fixtures
    SHOTS,
    axe_problems,
    browser,
    outside,
    signed_in_page,
    wait_until,
)

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def _more_files(libraries) -> None:
    shutil.copyfile(DEV / "video" / "mmaction2" / "demo.mp4", libraries["alice"] / "clip.mp4")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("lightbox"), classifiers="faces",
                          more_files=_more_files)
    server.wait_idle("alice")
    yield server
    server.stop()


_page = signed_in_page


def _person_with_photos(server) -> dict:
    with server.client("alice") as http:
        return max(http.get("/api/people").json()["items"], key=lambda p: p["faces"])


def _open_person(page: Page, person: dict) -> list[str]:
    page.goto(f"/people/{person['id']}")
    links = page.locator('.tile > a[href^="/files/"]')
    expect(links.first).to_be_visible()
    return [href.split("/")[2] for href in
            (links.nth(i).get_attribute("href") for i in range(links.count()))]


def test_the_lightbox_fits_moves_zooms_and_closes(browser, server, outside):
    page = _page(browser, server, outside, viewport={"width": 1280, "height": 800})
    ids = _open_person(page, _person_with_photos(server))
    # Every image the viewer shows, in turn: the tile's own first (the browser has it),
    # then the sharp preview.
    page.evaluate("""() => { window.shown = []; new MutationObserver((changes) => {
        for (const c of changes) if (c.target.matches?.('.lb-photo') && c.target.src)
          window.shown.push(c.target.getAttribute('src'));
      }).observe(document.body, {attributes: true, subtree: true,
                                 attributeFilter: ['src']}); }""")
    page.locator('.tile > a[href^="/files/"]').nth(1).click()
    box = page.get_by_role("dialog", name="Photo viewer")
    expect(box).to_be_visible()
    expect(page).to_have_url(re.compile(f"/files/{ids[1]}$"))
    photo = box.locator(".lb-photo")
    expect(photo).to_have_attribute("src", f"/files/{ids[1]}/preview")
    shown_in_turn = page.evaluate("window.shown")
    assert re.search(f"/files/{ids[1]}/thumbnail", shown_in_turn[0]), shown_in_turn
    assert shown_in_turn[-1] == f"/files/{ids[1]}/preview"
    wait_until(page, "() => document.querySelector('.lb-photo').naturalWidth > 0")
    shown = photo.bounding_box()
    assert shown["height"] > 700 and shown["width"] > 700  # a 150 px photo, scaled up
    assert shown["y"] >= 0 and shown["y"] + shown["height"] <= 800  # all of it in view
    page.screenshot(path=str(SHOTS / "lightbox.png"))

    page.keyboard.press("ArrowRight")
    expect(page).to_have_url(re.compile(f"/files/{ids[2]}$"))
    page.keyboard.press("ArrowLeft")
    expect(page).to_have_url(re.compile(f"/files/{ids[1]}$"))
    box.get_by_role("button", name="Older photo").click()
    expect(page).to_have_url(re.compile(f"/files/{ids[2]}$"))
    box.get_by_role("button", name="Newer photo").click()
    expect(page).to_have_url(re.compile(f"/files/{ids[1]}$"))

    stage = box.locator(".lb-stage")
    stage.hover()
    page.mouse.wheel(0, -400)
    expect(box).to_have_class(re.compile(r"\bzoomed\b"))
    assert photo.bounding_box()["width"] > shown["width"] * 1.5
    stage.dblclick()
    expect(box).not_to_have_class(re.compile(r"\bzoomed\b"))

    page.go_back()  # the back button closes it, and the grid is where it was
    expect(box).to_be_hidden()
    expect(page).to_have_url(re.compile(r"/people/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert outside == {"elsewhere": [], "refused": []}


def test_the_information_panel_names_faces_and_tags(browser, server, outside):
    page = _page(browser, server, outside, viewport={"width": 1280, "height": 800})
    person = _person_with_photos(server)
    ids = _open_person(page, person)
    page.locator('.tile > a[href^="/files/"]').first.click()
    box = page.get_by_role("dialog", name="Photo viewer")
    expect(box).to_be_visible()
    page.keyboard.press("i")
    panel = box.get_by_role("complementary", name="Information")
    expect(panel).to_be_visible()
    expect(panel.get_by_role("heading", name="Tags")).to_be_visible()
    expect(panel.get_by_role("heading", name="People")).to_be_visible()
    outline = box.locator(".lb-face").first
    expect(outline).to_be_visible()  # the face, outlined on the photo, its label inside
    frame, label = outline.bounding_box(), outline.locator("span").bounding_box()
    canvas = box.locator(".lb-canvas").bounding_box()
    assert frame["x"] >= canvas["x"] - 1 and frame["x"] + frame["width"] <= \
        canvas["x"] + canvas["width"] + 1
    assert label["x"] >= frame["x"] and label["x"] + label["width"] <= \
        frame["x"] + frame["width"] + 1

    panel.get_by_label("Add a tag").fill("Lightbox test")
    panel.get_by_role("button", name="Add", exact=True).click()
    expect(panel.get_by_role("link", name="Lightbox test")).to_be_visible()
    panel.get_by_role("button", name="Remove tag Lightbox test").click()
    expect(panel.get_by_role("link", name="Lightbox test")).to_have_count(0)

    face = box.locator(".lb-people li").first.get_attribute("data-face")
    panel.get_by_label(f"Name for face {face}").fill("Lightbox Larry")
    panel.get_by_label(f"Name for face {face}").press("Enter")
    expect(outline.locator("span")).to_have_text("Lightbox Larry")
    with server.client("alice") as http:
        names = {p["name"] for p in http.get("/api/people").json()["items"]}
    assert "Lightbox Larry" in names
    page.screenshot(path=str(SHOTS / "lightbox-panel.png"))
    panel.get_by_role("button", name=f"Face {face} is not Lightbox Larry").click()
    expect(outline.locator("span")).not_to_have_text("Lightbox Larry")
    problems = axe_problems(page)
    assert problems == [], problems
    page.keyboard.press("Escape")
    expect(box).to_be_hidden()
    expect(page).to_have_url(re.compile(f"/people/{person['id']}$"))
    assert ids
    assert outside == {"elsewhere": [], "refused": []}


def test_the_lightbox_on_a_phone_swipes_and_pinches(browser, server, outside):
    page = _page(browser, server, outside, **PHONE)
    ids = _open_person(page, _person_with_photos(server))
    page.locator('.tile > a[href^="/files/"]').nth(1).tap()
    box = page.get_by_role("dialog", name="Photo viewer")
    expect(box).to_be_visible()
    expect(page).to_have_url(re.compile(f"/files/{ids[1]}$"))
    stage = box.locator(".lb-stage").bounding_box()
    cdp = page.context.new_cdp_session(page)
    y = stage["y"] + stage["height"] / 2

    def touch(frames) -> None:
        for kind, points in frames:
            cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [
                {"x": x, "y": py, "id": i} for i, (x, py) in enumerate(points)]})

    touch([("touchStart", [(300, y)]), ("touchMove", [(180, y)]), ("touchMove", [(60, y)]),
           ("touchEnd", [])])
    expect(page).to_have_url(re.compile(f"/files/{ids[2]}$"))
    touch([("touchStart", [(60, y)]), ("touchMove", [(180, y)]), ("touchMove", [(300, y)]),
           ("touchEnd", [])])
    expect(page).to_have_url(re.compile(f"/files/{ids[1]}$"))
    touch([("touchStart", [(170, y), (220, y)]), ("touchMove", [(140, y), (250, y)]),
           ("touchMove", [(90, y), (300, y)]), ("touchEnd", [])])
    expect(box).to_have_class(re.compile(r"\bzoomed\b"))  # pinched open
    expect(page).to_have_url(re.compile(f"/files/{ids[1]}$"))  # and not taken for a swipe
    page.screenshot(path=str(SHOTS / "phone-lightbox.png"))
    assert outside == {"elsewhere": [], "refused": []}


def test_a_video_plays_in_the_lightbox(browser, server, outside):
    page = _page(browser, server, outside, viewport={"width": 1280, "height": 800})
    with server.client("alice") as http:
        clip = next(f for f in http.get("/api/files", params={"kind": "video"}).json()["items"])
    page.goto("/")
    tile = page.locator(f'.tile > a[href="/files/{clip["id"]}"]')
    for _ in range(10):
        if tile.count():
            break
        page.locator("a[data-more]").first.scroll_into_view_if_needed()
        page.wait_for_timeout(300)
    tile.click()
    video = page.get_by_role("dialog", name="Photo viewer").locator("video")
    expect(video).to_be_visible()
    expect(video).to_have_attribute("src", f"/api/files/{clip['id']}/original")
    wait_until(page, "() => document.querySelector('.lightbox video').readyState >= 2")
    page.evaluate("document.querySelector('.lightbox video').muted = true")
    page.evaluate("document.querySelector('.lightbox video').play()")
    wait_until(page, "() => document.querySelector('.lightbox video').currentTime > 0.2")
    assert outside == {"elsewhere": [], "refused": []}
