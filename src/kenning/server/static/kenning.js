// Kenning's own script. The pages work without it; it adds confirmations, a "/" key to
// jump to search, face boxes on a photo, live progress on the status page, endless
// scrolling and choosing in photo grids, keys and swipes in the viewer, and search
// suggestions as you type. (The
// pages' Content-Security-Policy allows no inline script or style: all of it is here.)
"use strict";

for (const box of document.querySelectorAll("[data-box]")) {
  const [left, top, width, height] = box.dataset.box.split(",").map(Number);
  Object.assign(box.style, {left: `${left}%`, top: `${top}%`, width: `${width}%`,
                            height: `${height}%`});
}

document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

document.addEventListener("keydown", (event) => {
  const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);
  if (event.key === "/" && !typing) {
    event.preventDefault();
    const field = document.getElementById("quick") || document.getElementById("search-tags");
    if (field) field.focus(); else window.location.href = "/search";
  }
});

function showProgress(box, data) {
  const running = data.processing && data.processing.running;
  const line = document.createElement("p");
  if (running) {
    const bar = document.createElement("progress");
    bar.max = running.total || 1;
    bar.value = running.done;
    line.append(`Working on mount ${running.mount}: ${running.step || "scanning"} `, bar,
                ` ${running.done} / ${running.total}`);
  } else {
    const waiting = data.processing ? data.processing.queued_mounts.length : 0;
    line.textContent = waiting ? `Idle, ${waiting} mount(s) waiting.` : "Idle.";
  }
  box.replaceChildren(line);
}

const poll = document.querySelector("[data-poll]");
if (poll) {
  const tick = async () => {
    try {
      const response = await fetch(poll.dataset.poll, {credentials: "same-origin"});
      if (response.ok) showProgress(poll, await response.json());
    } catch (error) { /* the server restarts: try again */ }
    window.setTimeout(tick, 2000);
  };
  window.setTimeout(tick, 2000);
}

// Photo grids ---------------------------------------------------------------------------
document.documentElement.classList.add("js");

const typingIn = () => /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);

// Infinite scroll: the "Older photos" link fetches the next tiles as a fragment of the
// same page, appended here (a month that goes on continues its section, a day its own).
function appendTiles(container, html) {
  const template = document.createElement("template");
  template.innerHTML = html;
  const sections = container.querySelectorAll("section.month");
  const last = sections[sections.length - 1];
  const oldMore = container.querySelector(".more");
  [...template.content.querySelectorAll("section.month")].forEach((section, index) => {
    if (index === 0 && last && (section.dataset.month || "") === (last.dataset.month || "")) {
      const days = last.querySelectorAll("section.day");
      const lastDay = days[days.length - 1];
      [...section.querySelectorAll("section.day")].forEach((day, at) => {
        if (at === 0 && lastDay && (day.dataset.day || "") === (lastDay.dataset.day || "")) {
          lastDay.querySelector("ul").append(...day.querySelectorAll("li"));
        } else {
          last.append(day);
        }
      });
    } else {
      container.insertBefore(section, oldMore);
    }
  });
  if (oldMore) oldMore.remove();
  const more = template.content.querySelector(".more");
  if (more) container.append(more);
  return more ? more.querySelector("a[data-more]") : null;
}

// Rows of tiles filled edge to edge: each row's photos keep their shapes and share one
// height, near the style sheet's (the last row keeps it).
function justify(list) {
  const first = list.querySelector("img");
  if (!first) return;
  const width = list.clientWidth;
  const gap = parseFloat(getComputedStyle(list).columnGap) || 0;
  const target = parseFloat(getComputedStyle(first).getPropertyValue("--row")) || 180;
  let row = [];
  let sum = 0;
  const lay = (height) => {
    for (const [img, ratio] of row) {
      img.style.height = `${height.toFixed(2)}px`;
      img.style.width = `${(height * ratio).toFixed(2)}px`;
    }
  };
  for (const img of list.querySelectorAll(".tile img, .tile .unreadable")) {
    const ratio = Number(img.getAttribute("width")) / Number(img.getAttribute("height")) || 4 / 3;
    row.push([img, ratio]);
    sum += ratio;
    const free = width - gap * (row.length - 1);
    if (sum * target >= free) {
      lay(Math.min(free / sum, 2 * target));
      row = [];
      sum = 0;
    }
  }
  lay(target);
}

const justifyAll = () => document.querySelectorAll("ul.tiles").forEach(justify);
justifyAll();
let resizing = null;
window.addEventListener("resize", () => {
  window.clearTimeout(resizing);
  resizing = window.setTimeout(justifyAll, 100);
});

for (const container of document.querySelectorAll("[data-tiles]")) {
  let loading = null;
  // The next tiles, appended (also asked for by the viewer at the last tile): true when
  // some came.
  const more = (link) => {
    if (loading) return loading;
    loading = (async () => {
      const url = link.href + (link.href.includes("?") ? "&" : "?") + "fragment=true";
      try {
        const response = await fetch(url, {credentials: "same-origin"});
        if (!response.ok) return false;
        observer.unobserve(link);
        const next = appendTiles(container, await response.text());
        container.querySelectorAll("ul.tiles").forEach(justify);
        if (next) observer.observe(next);
        return true;
      } catch (error) { return false; /* offline for a moment: the link still works */ }
      finally { loading = null; }
    })();
    return loading;
  };
  const observer = new IntersectionObserver((entries) => {
    const entry = entries.find((e) => e.isIntersecting);
    if (entry) more(entry.target);
  }, {rootMargin: "800px 0px"});
  container.loadMore = () => {
    const link = container.querySelector("a[data-more]");
    return link ? more(link) : Promise.resolve(false);
  };
  const first = container.querySelector("a[data-more]");
  if (first) observer.observe(first);
}

// On a touch screen, choosing starts with a long press on a tile; while choosing, a tap
// on a tile chooses it (or leaves it) instead of opening it.
if (window.matchMedia("(hover: none)").matches) {
  let press = null;
  document.addEventListener("pointerdown", (event) => {
    const tile = event.target.closest(".tile");
    if (!tile || event.pointerType === "mouse" || !tile.querySelector(".pick")) return;
    const start = {x: event.clientX, y: event.clientY};
    press = {tile, start, timer: window.setTimeout(() => {
      press.done = true;
      const box = tile.querySelector(".pick");
      if (!box.checked) box.click();
      navigator.vibrate?.(20);
    }, 450)};
  });
  const cancel = () => { if (press && !press.done) window.clearTimeout(press.timer); };
  document.addEventListener("pointermove", (event) => {
    if (press && Math.hypot(event.clientX - press.start.x, event.clientY - press.start.y) > 10) {
      cancel();
    }
  });
  document.addEventListener("pointerup", cancel);
  document.addEventListener("pointercancel", cancel);
  document.addEventListener("contextmenu", (event) => {
    if (event.target.closest(".tile")) event.preventDefault();  // the long press is ours
  });
  document.addEventListener("click", (event) => {
    const link = event.target.closest(".tile > a");
    if (!link) return;
    const pressed = press && press.done && press.tile.contains(link);
    press = null;
    if (pressed) {
      event.preventDefault();  // the click that ends a long press
      event.stopPropagation();
    } else if (document.body.classList.contains("choosing")) {
      event.preventDefault();
      event.stopPropagation();
      link.parentElement.querySelector(".pick")?.click();
    }
  }, true);
}

// Choosing tiles or faces for the bulk bar: a box per tile, shift-click for a range.
for (const bar of document.querySelectorAll("form.bulkbar")) {
  const boxes = () => [...document.querySelectorAll(`input.pick[form="${bar.id}"]`)];
  const label = bar.querySelector("[data-chosen]");
  const lists = document.querySelector("[data-bulk-lists]");
  const update = () => {
    const chosen = boxes().filter((b) => b.checked).length;
    if (chosen > 0 && lists && !lists.dataset.loaded) {
      // The tags and people to offer as you type, fetched once photos are chosen.
      lists.dataset.loaded = "1";
      fetch("/bulk-lists", {credentials: "same-origin"})
        .then((r) => (r.ok ? r.text() : ""))
        .then((html) => { lists.innerHTML = html; })
        .catch(() => { delete lists.dataset.loaded; });
    }
    bar.classList.toggle("active", chosen > 0);
    document.body.classList.toggle("choosing", chosen > 0);
    label.textContent = `${chosen} chosen`;
  };
  let previous = null;
  document.addEventListener("click", (event) => {
    const box = event.target;
    if (!(box instanceof HTMLInputElement) || box.form !== bar) return;
    if (event.shiftKey && previous && previous !== box) {
      const all = boxes();
      const [a, b] = [all.indexOf(previous), all.indexOf(box)].sort((x, y) => x - y);
      for (const other of all.slice(a, b + 1)) other.checked = box.checked;
    }
    previous = box;
    update();
  });
  bar.querySelector("[data-unchoose]")?.addEventListener("click", () => {
    for (const box of boxes()) box.checked = false;
    update();
  });
  update();
}

// The photo viewer: arrow keys and swipes go to the newer or older photo.
document.addEventListener("keydown", (event) => {
  if (typingIn() || event.altKey || event.ctrlKey || event.metaKey) return;
  const link = document.querySelector(`a[data-key="${event.key}"]`);
  if (link) {
    event.preventDefault();
    window.location.href = link.href;
  }
});

for (const area of document.querySelectorAll("[data-swipe]")) {
  let start = null;
  area.addEventListener("touchstart", (event) => {
    start = event.touches.length === 1 ? event.touches[0] : null;
  }, {passive: true});
  area.addEventListener("touchend", (event) => {
    if (!start) return;
    const end = event.changedTouches[0];
    const dx = end.clientX - start.clientX;
    const dy = end.clientY - start.clientY;
    start = null;
    if (Math.abs(dx) < 60 || Math.abs(dy) > Math.abs(dx)) return;
    const link = document.querySelector(`a[data-key="${dx < 0 ? "ArrowRight" : "ArrowLeft"}"]`);
    if (link) window.location.href = link.href;
  });
}

// Search as you type: tags and people from /api/suggest, chosen with the arrow keys.
const quick = document.getElementById("quick");
const quickList = document.getElementById("quick-list");
if (quick && quickList) {
  let timer = null;
  let asked = 0;
  const options = () => [...quickList.querySelectorAll("[role=option]")];
  const close = () => {
    quickList.hidden = true;
    quick.setAttribute("aria-expanded", "false");
    quick.removeAttribute("aria-activedescendant");
  };
  const show = (data) => {
    const entries = [
      ...data.people.map((p) => ({text: p.name, note: `person · ${p.faces} faces`,
                                   href: `/search?person=${p.id}`})),
      ...data.tags.map((t) => ({text: t.tag, note: `tag · ${t.files} files`,
                                href: `/search?tag=${encodeURIComponent(t.tag)}`})),
    ];
    quickList.replaceChildren(...entries.map((entry, index) => {
      const item = document.createElement("li");
      item.id = `quick-${index}`;
      item.setAttribute("role", "option");
      const link = document.createElement("a");
      link.href = entry.href;
      link.tabIndex = -1;
      link.textContent = entry.text;
      const note = document.createElement("span");
      note.className = "muted";
      note.textContent = ` ${entry.note}`;
      link.append(note);
      item.append(link);
      return item;
    }));
    quickList.hidden = entries.length === 0;
    quick.setAttribute("aria-expanded", String(entries.length > 0));
  };
  quick.addEventListener("input", () => {
    window.clearTimeout(timer);
    const text = quick.value.trim();
    if (!text) { close(); return; }
    timer = window.setTimeout(async () => {
      const mine = ++asked;
      try {
        const response = await fetch(`/api/suggest?q=${encodeURIComponent(text)}`,
                                     {credentials: "same-origin"});
        if (response.ok && mine === asked) show(await response.json());
      } catch (error) { /* no suggestions this time */ }
    }, 120);
  });
  quick.addEventListener("keydown", (event) => {
    const all = options();
    const current = all.findIndex((o) => o.getAttribute("aria-selected") === "true");
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!all.length) return;
      event.preventDefault();
      const next = (current + (event.key === "ArrowDown" ? 1 : all.length - 1 + (current < 0 ? 1 : 0))) % all.length;
      all.forEach((o, i) => o.setAttribute("aria-selected", String(i === next)));
      quick.setAttribute("aria-activedescendant", all[next].id);
    } else if (event.key === "Enter" && current >= 0) {
      event.preventDefault();
      window.location.href = all[current].querySelector("a").href;
    } else if (event.key === "Escape") {
      close();
    }
  });
  quick.addEventListener("blur", () => window.setTimeout(close, 200));
}

// Drawing a box around a face the detector missed: the box fills the form's fields (in
// percent of the photo), which can also be typed.
const drawForm = document.querySelector("form[data-draw]");
const drawFrame = document.querySelector(".frame");
if (drawForm && drawFrame) {
  const details = drawForm.closest("details");
  const image = drawFrame.querySelector("img");
  const box = document.createElement("div");
  box.className = "box drawn";
  box.hidden = true;
  drawFrame.append(box);
  let start = null;
  const at = (event) => {
    const rect = image.getBoundingClientRect();
    return [Math.min(100, Math.max(0, (event.clientX - rect.left) / rect.width * 100)),
            Math.min(100, Math.max(0, (event.clientY - rect.top) / rect.height * 100))];
  };
  const show = (x, y, width, height) => {
    Object.assign(box.style, {left: `${x}%`, top: `${y}%`, width: `${width}%`,
                              height: `${height}%`});
    box.hidden = false;
  };
  const place = (end) => {
    const x = Math.min(start[0], end[0]);
    const y = Math.min(start[1], end[1]);
    const width = Math.abs(end[0] - start[0]);
    const height = Math.abs(end[1] - start[1]);
    show(x, y, width, height);
    return {x, y, width, height};
  };
  details.addEventListener("toggle", () => drawFrame.classList.toggle("drawing", details.open));
  drawFrame.addEventListener("pointerdown", (event) => {
    if (!details.open) return;
    event.preventDefault();
    drawFrame.setPointerCapture(event.pointerId);
    start = at(event);
  });
  drawFrame.addEventListener("pointermove", (event) => {
    if (start) place(at(event));
  });
  drawFrame.addEventListener("pointerup", (event) => {
    if (!start) return;
    const drawn = place(at(event));
    start = null;
    for (const [name, value] of Object.entries(drawn)) {
      drawForm.elements[name].value = value.toFixed(2);
    }
    drawForm.elements.name.focus();
  });
  drawForm.addEventListener("input", () => {
    const [x, y, width, height] = ["x", "y", "width", "height"].map(
      (name) => Number(drawForm.elements[name].value));
    if (width > 0 && height > 0) show(x, y, width, height);
  });
}
