// The photo viewer: a full-window lightbox over any grid of tiles (timeline, folders,
// search, a person's photos). The photo fills the window (small ones scaled up, never
// cropped); wheel, pinch and double tap zoom, a drag pans; arrow keys, swipes and the
// edge buttons go to the newer or older photo, and the next tiles are fetched at the
// last one; `i` opens the information panel (date, size, place, tags with their source
// and score, faces outlined on the photo) where faces are named or corrected and tags
// added or removed; videos and songs play in it. The URL follows the photo
// (/files/<id>, which is also the photo's own page without script), and the browser's
// back button closes it.
"use strict";

(() => {
  const grid = document.querySelector("[data-tiles]");
  if (!grid) return;
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
  const listUrl = location.pathname + location.search;
  const tileSelector = '.tile > a[href^="/files/"]';
  const tiles = () => [...grid.querySelectorAll(tileSelector)];
  const idOf = (link) => link.getAttribute("href").split("/")[2];

  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes)) {
      if (value === false || value === null || value === undefined) continue;
      if (key === "text") node.textContent = value;
      else node.setAttribute(key, value === true ? "" : value);
    }
    node.append(...children.filter((child) => child !== null && child !== undefined));
    return node;
  }

  const photo = el("img", {class: "lb-photo", alt: "", draggable: "false"});
  const faces = el("div", {class: "lb-faces"});
  const canvas = el("div", {class: "lb-canvas"}, photo, faces);
  const stage = el("div", {class: "lb-stage"}, canvas);
  const title = el("span", {class: "lb-title"});
  const infoButton = el("button", {type: "button", class: "lb-info", "aria-pressed": "false",
                                   "aria-label": "Information (i)", text: "i"});
  const closeButton = el("button", {type: "button", class: "lb-close",
                                    "aria-label": "Close (Esc)", text: "×"});
  const fullLink = el("a", {class: "lb-full", href: "#", text: "Full page"});
  const previous = el("button", {type: "button", class: "lb-prev", "aria-label": "Newer photo",
                                 text: "‹"});
  const next = el("button", {type: "button", class: "lb-next", "aria-label": "Older photo",
                             text: "›"});
  const panel = el("aside", {class: "lb-panel", "aria-label": "Information", hidden: true});
  const box = el("div", {class: "lightbox", role: "dialog", "aria-modal": "true",
                         "aria-label": "Photo viewer", tabindex: "-1", hidden: true},
                 stage, previous, next,
                 el("div", {class: "lb-bar"}, title, fullLink, infoButton, closeButton), panel);
  document.body.append(box);

  let current = null;  // the id shown
  let detail = null;  // its /api/files/<id>
  let pushed = false;  // whether opening it added a history entry
  let returnFocus = null;
  const view = {s: 1, x: 0, y: 0};

  const api = async (method, url, body) => {
    const response = await fetch(url, {
      method, credentials: "same-origin",
      headers: {"X-CSRF-Token": csrf, ...(body ? {"Content-Type": "application/json"} : {})},
      body: body ? JSON.stringify(body) : undefined});
    if (!response.ok) {
      let reason = response.statusText;
      try { reason = (await response.json()).detail || reason; } catch (error) { /* text */ }
      throw new Error(typeof reason === "string" ? reason : JSON.stringify(reason));
    }
    return response.json();
  };

  // Layout: the photo as large as the stage allows, at its own shape. ------------------
  function fit() {
    if (!detail || detail.kind !== "image") return;
    fitTo(detail.width || photo.naturalWidth, detail.height || photo.naturalHeight);
  }

  function fitTo(width, height) {
    if (!width || !height) return;
    const area = stage.getBoundingClientRect();
    const scale = Math.min(area.width / width, area.height / height);
    canvas.style.width = `${Math.floor(width * scale)}px`;
    canvas.style.height = `${Math.floor(height * scale)}px`;
    apply();
  }

  function apply() {
    canvas.style.transform = `translate(${view.x}px, ${view.y}px) scale(${view.s})`;
    box.classList.toggle("zoomed", view.s > 1.01);
  }

  function zoomAt(clientX, clientY, scale) {
    const target = Math.min(8, Math.max(1, scale));
    const rect = canvas.getBoundingClientRect();
    if (target === 1) {
      Object.assign(view, {s: 1, x: 0, y: 0});
    } else {
      view.x += (clientX - rect.left) * (1 - target / view.s);
      view.y += (clientY - rect.top) * (1 - target / view.s);
      view.s = target;
      clamp();
    }
    apply();
  }

  function clamp() {
    const width = canvas.offsetWidth;
    const height = canvas.offsetHeight;
    view.x = Math.min(0, Math.max(width * (1 - view.s), view.x));
    view.y = Math.min(0, Math.max(height * (1 - view.s), view.y));
  }

  // Showing a file. ---------------------------------------------------------------------
  function media(file) {
    stage.querySelector("video, audio, .lb-unreadable")?.remove();
    canvas.hidden = file.kind !== "image";
    if (file.kind === "image" && file.width) {
      photo.alt = file.name;
      // The sharp image replaces the tile's (shown at once, see show) once it has come;
      // if it cannot be made, the tile's stays.
      const sharp = new Image();
      const id = String(file.id);
      const url = `/files/${file.id}/preview`;
      sharp.onload = () => { if (current === id) photo.setAttribute("src", url); };
      sharp.src = url;
      if (!photo.getAttribute("src")) photo.setAttribute("src", url);
      return;
    }
    photo.removeAttribute("src");
    if (file.kind === "video") {
      stage.append(el("video", {controls: true, preload: "metadata", "data-player": true,
                                src: `/api/files/${file.id}/original`,
                                poster: `/files/${file.id}/thumbnail?h=480`}));
    } else if (file.kind === "audio") {
      stage.append(el("audio", {controls: true, preload: "metadata", "data-player": true,
                                src: `/api/files/${file.id}/original`}));
    } else {
      stage.append(el("p", {class: "lb-unreadable",
                            text: `${file.name} could not be read${file.scan_error ?
                              `: ${file.scan_error}` : ""}`}));
    }
  }

  function preload(id) {
    const link = tiles().find((a) => idOf(a) === id);
    if (link && link.querySelector("img")) new Image().src = `/files/${id}/preview`;
  }

  async function show(id, how) {
    current = id;
    const url = `/files/${id}`;
    if (how === "push") {
      history.pushState({lightbox: id}, "", url);
      pushed = true;
    } else if (how === "replace") {
      history.replaceState({lightbox: id}, "", url);
    }
    Object.assign(view, {s: 1, x: 0, y: 0});
    apply();
    if (box.hidden) {
      returnFocus = document.activeElement;
      box.hidden = false;
      document.body.classList.add("lb-open");
      box.focus();
    }
    fullLink.href = url;
    const link = tiles().find((a) => idOf(a) === id);
    title.textContent = link ? link.title.split(": ")[0] : "";
    // The first image is the tile's own, which the browser has already: no wait for the
    // server; the preview follows (media).
    const small = link?.querySelector("img");
    detail = null;
    photo.removeAttribute("src");
    if (small?.currentSrc && !link.querySelector('[aria-label="video"]')) {
      canvas.hidden = false;
      photo.src = small.currentSrc;
      fitTo(Number(small.getAttribute("width")), Number(small.getAttribute("height")));
    }
    let file;
    try {
      file = await api("GET", `/api/files/${id}`);
    } catch (error) {
      title.textContent = `Could not open this file: ${error.message}`;
      return;
    }
    if (current !== id) return;  // another photo was asked for meanwhile
    detail = file;
    title.textContent = file.name;
    media(file);
    fit();
    drawFaces();
    if (!panel.hidden) fillPanel();
    const [newer, older] = neighbours();
    for (const neighbour of [newer, older]) if (neighbour) preload(neighbour);
    previous.disabled = !newer;
    next.disabled = !older && !grid.querySelector("a[data-more]");
  }

  function neighbours() {
    const ids = tiles().map(idOf);
    const at = ids.indexOf(current);
    return [at > 0 ? ids[at - 1] : null, at >= 0 && at + 1 < ids.length ? ids[at + 1] : null];
  }

  async function go(step) {
    if (!current) return;
    let [newer, older] = neighbours();
    if (step > 0 && !older && grid.loadMore && await grid.loadMore()) {
      [newer, older] = neighbours();
    }
    const target = step > 0 ? older : newer;
    if (target) show(target, "replace");
  }

  function close(fromHistory = false) {
    if (box.hidden) return;
    box.hidden = true;
    document.body.classList.remove("lb-open");
    stage.querySelector("video, audio")?.pause();
    const shown = current;
    current = null;
    detail = null;
    if (!fromHistory) {
      if (pushed) history.back();
      else history.replaceState(null, "", listUrl);
    }
    pushed = false;
    const tile = tiles().find((a) => idOf(a) === shown);
    (tile || returnFocus)?.focus();
  }

  // Faces on the photo, named inside their box. -------------------------------------------
  function drawFaces() {
    faces.replaceChildren();
    if (!detail || detail.kind !== "image" || !detail.width) return;
    for (const face of detail.faces.filter((f) => !f.not_face)) {
      const [x, y, w, h] = face.box;
      const label = face.name || (face.person ? "Unnamed" : "Unassigned");
      const outline = el("div", {class: "lb-face", "data-face": face.id},
                         el("span", {text: label}));
      Object.assign(outline.style, {
        left: `${100 * x / detail.width}%`, top: `${100 * y / detail.height}%`,
        width: `${100 * w / detail.width}%`, height: `${100 * h / detail.height}%`});
      faces.append(outline);
    }
  }

  // The information panel. ----------------------------------------------------------------
  const place = (p) => p && [p.city, p.region, p.country].filter(Boolean).join(", ");

  function row(term, value) {
    return value ? [el("dt", {text: term}), el("dd", {text: value})] : [];
  }

  async function act(work) {
    const status = panel.querySelector(".lb-status");
    try {
      await work();
      detail = await api("GET", `/api/files/${current}`);
      drawFaces();
      fillPanel();
      if (!box.contains(document.activeElement)) box.focus();  // (its button is gone)
    } catch (error) {
      if (status) status.textContent = error.message;
    }
  }

  function tagList(file) {
    const list = el("ul", {class: "lb-tags", role: "list"});
    for (const tag of file.tags) {
      const remove = el("button", {type: "button", class: "small plain",
                                   "aria-label": `Remove tag ${tag.tag}`, text: "×"});
      remove.addEventListener("click", () => act(() => api(
        "DELETE", `/api/files/${file.id}/tags/${tag.id}`)));
      list.append(el("li", {},
        el("a", {href: `/search?tag=${encodeURIComponent(tag.tag)}`, text: tag.tag}),
        el("span", {class: "muted",
                    text: ` ${Math.round(100 * tag.score)}% · ${tag.sources.join(", ")} `}),
        remove));
    }
    const input = el("input", {name: "tag", required: true, maxlength: "100",
                               "aria-label": "Add a tag", placeholder: "Add a tag"});
    const form = el("form", {class: "inline"}, input,
                    el("button", {type: "submit", text: "Add"}));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      act(() => api("POST", `/api/files/${file.id}/tags`, {tag: input.value}));
    });
    return [list, form];
  }

  function faceList(file) {
    const list = el("ul", {class: "lb-people", role: "list"});
    for (const face of file.faces.filter((f) => !f.not_face)) {
      const input = el("input", {name: "name", maxlength: "200", list: "named",
                                 "aria-label": `Name for face ${face.id}`,
                                 placeholder: face.name ? "Someone else…" : "Who is this?"});
      const form = el("form", {class: "inline"}, input,
                      el("button", {type: "submit", class: "small", text: "Save"}));
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        if (input.value.trim()) {
          act(() => api("POST", `/api/faces/${face.id}/name`, {name: input.value}));
        }
      });
      const notFace = el("button", {type: "button", class: "small plain",
                                    text: "Not a face",
                                    "aria-label": `Face ${face.id} is not a face`});
      notFace.addEventListener("click", () => act(() => api(
        "PUT", `/api/faces/${face.id}/not-a-face`)));
      let notThem = null;
      if (face.person) {
        notThem = el("button", {type: "button", class: "small plain",
                                text: `Not ${face.name || "this person"}`,
                                "aria-label": `Face ${face.id} is not ${face.name || "this person"}`});
        notThem.addEventListener("click", () => act(() => api(
          "DELETE", `/api/people/${face.person}/faces/${face.id}`)));
      }
      const name = face.person
        ? el("a", {href: `/people/${face.person}`, text: face.name || "Unnamed"})
        : el("span", {text: "Unassigned"});
      list.append(el("li", {"data-face": face.id},
        el("img", {src: `/api/faces/${face.id}/thumbnail`, alt: "", width: "48",
                   height: "48", loading: "lazy"}),
        el("div", {}, name, form, el("div", {class: "actions"}, notThem, notFace))));
    }
    return list;
  }

  function fillPanel() {
    if (!detail) return;
    const file = detail;
    const when = file.taken
      ? `${file.taken.slice(0, 16).replace("T", " ")}${file.taken_from === "name" ?
        " (from its name)" : ""}`
      : `modified ${file.modified.slice(0, 10)}`;
    const facts = el("dl", {},
      ...row("Date", when),
      ...row("Camera", file.camera),
      ...row("Lens", file.lens),
      ...row("Size", file.width ? `${file.width} × ${file.height}` : ""),
      ...row("Kind", file.kind),
      ...row("Place", place(file.place)),
      ...row("File", file.path));
    const shown = file.faces.filter((f) => !f.not_face);
    panel.replaceChildren(
      el("h2", {text: file.name}), facts,
      el("h3", {text: "Tags"}), ...tagList(file),
      shown.length ? el("h3", {text: "People"}) : null,
      shown.length ? faceList(file) : null,
      el("p", {class: "lb-status", role: "status", "aria-live": "polite"}),
      el("p", {}, el("a", {href: `/files/${file.id}`, text: "Everything about this file"})));
  }

  function togglePanel(open = panel.hidden) {
    panel.hidden = !open;
    box.classList.toggle("with-panel", open);
    infoButton.setAttribute("aria-pressed", String(open));
    if (open) fillPanel();
    fit();
  }

  // Input. ---------------------------------------------------------------------------------
  grid.addEventListener("click", (event) => {
    const link = event.target.closest(tileSelector);
    if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey
        || event.altKey || document.body.classList.contains("choosing")) return;
    event.preventDefault();
    show(idOf(link), "push");
  });
  previous.addEventListener("click", () => go(-1));
  next.addEventListener("click", () => go(1));
  closeButton.addEventListener("click", () => close());
  infoButton.addEventListener("click", () => togglePanel());
  window.addEventListener("resize", fit);
  photo.addEventListener("load", fit);
  window.addEventListener("popstate", (event) => {
    const id = event.state && event.state.lightbox;
    if (id && tiles().some((a) => idOf(a) === id)) {
      pushed = true;
      show(id, null);
    } else {
      close(true);
    }
  });

  document.addEventListener("keydown", (event) => {
    if (box.hidden) return;
    if (/^(INPUT|TEXTAREA|SELECT)$/.test(event.target.tagName)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const actions = {ArrowLeft: () => go(-1), ArrowRight: () => go(1), Escape: () => close(),
                     i: () => togglePanel(), "+": () => zoomAt(...middle(), view.s * 1.5),
                     "-": () => zoomAt(...middle(), view.s / 1.5)};
    const action = actions[event.key];
    if (action) {
      event.preventDefault();
      event.stopPropagation();
      action();
    }
  });
  const middle = () => {
    const rect = canvas.getBoundingClientRect();
    return [rect.left + rect.width / 2, rect.top + rect.height / 2];
  };
  // Keep the keyboard in the dialog while it is open.
  box.addEventListener("focusout", (event) => {
    if (!box.hidden && event.relatedTarget && !box.contains(event.relatedTarget)) box.focus();
  });

  stage.addEventListener("wheel", (event) => {
    if (canvas.hidden) return;
    event.preventDefault();
    zoomAt(event.clientX, event.clientY, view.s * Math.exp(-event.deltaY * 0.002));
  }, {passive: false});
  let lastPointer = "mouse";
  stage.addEventListener("dblclick", (event) => {
    if (lastPointer !== "mouse") return;  // a double tap is handled as such (below)
    zoomAt(event.clientX, event.clientY, view.s > 1.01 ? 1 : 2.5);
  });

  // Pointers: one drags (pans when zoomed, swipes otherwise), two pinch.
  const pointers = new Map();
  let gesture = null;
  let lastTap = null;
  const distance = () => {
    const [a, b] = [...pointers.values()];
    return Math.hypot(a.x - b.x, a.y - b.y);
  };
  stage.addEventListener("pointerdown", (event) => {
    if (event.target.closest("video, audio")) return;
    lastPointer = event.pointerType;
    pointers.set(event.pointerId, {x: event.clientX, y: event.clientY});
    stage.setPointerCapture(event.pointerId);
    if (pointers.size === 1) {
      gesture = {kind: "drag", x: event.clientX, y: event.clientY, moved: 0};
    } else if (pointers.size === 2) {
      const [a, b] = [...pointers.values()];
      gesture = {kind: "pinch", start: distance(), s: view.s,
                 cx: (a.x + b.x) / 2, cy: (a.y + b.y) / 2};
    }
  });
  stage.addEventListener("pointermove", (event) => {
    const known = pointers.get(event.pointerId);
    if (!known || !gesture) return;
    const dx = event.clientX - known.x;
    const dy = event.clientY - known.y;
    pointers.set(event.pointerId, {x: event.clientX, y: event.clientY});
    if (gesture.kind === "pinch" && pointers.size === 2) {
      zoomAt(gesture.cx, gesture.cy, gesture.s * distance() / Math.max(1, gesture.start));
    } else if (gesture.kind === "drag") {
      gesture.moved += Math.abs(dx) + Math.abs(dy);
      if (view.s > 1.01) {
        view.x += dx;
        view.y += dy;
        clamp();
        apply();
      }
    }
  });
  const lift = (event) => {
    if (!pointers.delete(event.pointerId) || !gesture) return;
    if (gesture.kind === "drag" && pointers.size === 0) {
      const dx = event.clientX - gesture.x;
      const dy = event.clientY - gesture.y;
      if (view.s <= 1.01 && Math.abs(dx) > 60 && Math.abs(dx) > Math.abs(dy)) {
        go(dx < 0 ? 1 : -1);  // a swipe to the left: the next, older photo
      } else if (gesture.moved < 10 && event.pointerType !== "mouse") {
        const now = Date.now();
        if (lastTap && now - lastTap < 350) {  // a double tap
          zoomAt(event.clientX, event.clientY, view.s > 1.01 ? 1 : 2.5);
          lastTap = null;
        } else {
          lastTap = now;
        }
      }
    }
    if (pointers.size === 0) gesture = null;
  };
  stage.addEventListener("pointerup", lift);
  stage.addEventListener("pointercancel", lift);
})();
