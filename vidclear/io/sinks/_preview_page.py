"""The one HTML page the browser preview serves (no external resources)."""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vidclear live preview</title>
<style>
body { margin: 0; background: #111; color: #ddd; font: 14px system-ui, sans-serif; }
header { display: flex; gap: .5em; align-items: center; padding: .5em 1em; flex-wrap: wrap; }
header h1 { font-size: 1.1em; margin: 0 1em 0 0; }
button { background: #333; color: #ddd; border: 1px solid #555; padding: .3em .8em;
         border-radius: 4px; cursor: pointer; }
button.on { background: #2a5d8f; border-color: #4a8dcf; color: #fff; }
main { display: flex; gap: 1em; padding: 0 1em 1em; flex-wrap: wrap; }
#video { max-width: 100%; height: auto; background: #000; min-width: 320px; min-height: 180px; }
table { border-collapse: collapse; min-width: 16em; }
td { padding: .15em .6em; border-bottom: 1px solid #333; }
td:last-child { text-align: right; font-variant-numeric: tabular-nums; }
#state.down { color: #f66; font-weight: bold; }
#state.up { color: #6d6; }
</style>
</head>
<body>
<header>
  <h1>vidclear live</h1>
  <span>view:</span>
  <button data-view="after">after</button>
  <button data-view="split">before | after</button>
  <button data-view="side_by_side">side by side</button>
  <button data-view="before">before</button>
</header>
<main>
  <img id="video" alt="live preview stream">
  <table id="stats">
    <tr><td>input</td><td id="state">connecting</td></tr>
    <tr><td>fps in</td><td id="fps_in">-</td></tr>
    <tr><td>fps out</td><td id="fps_out">-</td></tr>
    <tr><td>processing ms / frame</td><td id="process_ms">-</td></tr>
    <tr><td>latency ms (median)</td><td id="latency_ms">-</td></tr>
    <tr><td>latency ms (p95)</td><td id="latency_p95_ms">-</td></tr>
    <tr><td>frames in</td><td id="frames_in">-</td></tr>
    <tr><td>frames out</td><td id="frames_out">-</td></tr>
    <tr><td>dropped frames</td><td id="dropped">-</td></tr>
    <tr><td>reconnects</td><td id="reconnects">-</td></tr>
    <tr><td>viewers</td><td id="viewers">-</td></tr>
    <tr><td>updated</td><td id="updates">0</td></tr>
  </table>
</main>
<script>
"use strict";
const params = new URLSearchParams(location.search);
const token = params.get("token");
function url(path, extra) {
  const q = new URLSearchParams(extra || {});
  if (token) q.set("token", token);
  const s = q.toString();
  return s ? path + "?" + s : path;
}
const video = document.getElementById("video");
function setView(view) {
  video.src = url("stream.mjpg", {view: view});
  for (const b of document.querySelectorAll("button[data-view]")) {
    b.classList.toggle("on", b.dataset.view === view);
  }
}
for (const b of document.querySelectorAll("button[data-view]")) {
  b.addEventListener("click", () => setView(b.dataset.view));
}
setView(params.get("view") || "__VIEW__");
let updates = 0;
function show(id, value) {
  document.getElementById(id).textContent = (value === undefined || value === null) ? "-" : value;
}
async function poll() {
  try {
    const r = await fetch(url("stats.json"), {cache: "no-store"});
    if (r.ok) {
      const s = await r.json();
      const state = document.getElementById("state");
      state.textContent = s.input.state === "down"
        ? "DOWN, reconnecting (" + s.input.down_for_s + " s)" : s.input.state;
      state.className = s.input.state;
      for (const k of ["fps_in", "fps_out", "process_ms", "latency_ms", "latency_p95_ms",
                       "frames_in", "frames_out", "dropped"]) show(k, s[k]);
      show("reconnects", s.input.reconnects || 0);
      show("viewers", s.preview.viewers);
      updates += 1;
      show("updates", updates);
    }
  } catch (e) { /* the run may have ended; keep trying */ }
  setTimeout(poll, 500);
}
poll();
</script>
</body>
</html>
"""
