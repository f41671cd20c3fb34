// Kenning's own script. The pages work without it; it adds confirmations, a "/" key to
// jump to search, face boxes on a photo, and live progress on the status page. (The
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
    const field = document.getElementById("search-tags");
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
