""""On this day" on the timeline: the photos taken on today's date in earlier years, by
year, each year linking to the timeline at that day; nothing from other days, nor from
another user's library. Against a real `kenning serve` (the places classifier reads when
each photo was taken from its EXIF)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
from conftest import IMAGENET
from PIL import Image
from server_support import PASSWORDS, sign_in, start_server

TODAY = datetime.now(UTC)


def _taken(dest, source, when: datetime) -> None:
    image = Image.open(source)
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = when.strftime("%Y:%m:%d %H:%M:%S")
    image.save(dest, exif=exif)


def _memories(libraries) -> None:
    alice, bob = libraries["alice"], libraries["bob"]
    day = TODAY.replace(hour=12, minute=0, second=0, microsecond=0)
    if (day.month, day.day) == (2, 29):
        day -= timedelta(days=1)
    for years in (2, 5):
        _taken(alice / f"{years} years ago.jpg", IMAGENET / "n01530575_brambling.JPEG",
               day.replace(year=day.year - years))
    _taken(alice / "a day later.jpg", IMAGENET / "n01443537_goldfish.JPEG",
           day.replace(year=day.year - 2) + timedelta(days=1))
    _taken(bob / "bobs memory.jpg", IMAGENET / "n01440764_tench.JPEG",
           day.replace(year=day.year - 3))


def test_on_this_day_shows_earlier_years_of_today(tmp_path):
    server = start_server(tmp_path, classifiers="places", more_files=_memories,
                          serve_args=("--no-watch",))
    try:
        server.wait_idle("alice")
        browser = httpx.Client(base_url=server.url, timeout=60)
        assert sign_in(browser, "alice", PASSWORDS["alice"]).status_code == 303
        page = browser.get("/").text
        section = re.search(r'<section class="memories".*?</section>', page, re.S).group(0)
        years = re.findall(r"(\d+) years? ago <span class=\"muted\">(\d{4})</span>", section)
        assert years == [("2", str(TODAY.year - 2)), ("5", str(TODAY.year - 5))], years
        names = re.findall(r'alt="([^"]+)"', section)
        assert names == ["2 years ago.jpg", "5 years ago.jpg"], names
        # Each year leads to the timeline at the end of that day: its photo comes first.
        link = re.search(r'class="memory-title" href="([^"]+)"', section).group(1)
        day = browser.get(link.replace("&amp;", "&")).text
        first = re.search(r'<img src="/files/\d+/thumbnail[^>]*alt="([^"]+)"', day).group(1)
        assert first == "2 years ago.jpg"
        browser.close()
        bobs = httpx.Client(base_url=server.url, timeout=60)
        assert sign_in(bobs, "bob", PASSWORDS["bob"]).status_code == 303
        mine = bobs.get("/").text
        assert "bobs memory.jpg" in mine and "2 years ago.jpg" not in mine
        bobs.close()
    finally:
        server.stop()
