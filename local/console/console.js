// The ops console: recent traces, a trace's waterfall, the service map and the clicks.
// Everything comes from the console's own JSON API (/api/...); nothing is loaded from elsewhere.
// Text from traces is only ever set as text, never as HTML.

const $ = (id) => document.getElementById(id);
const SVG_NS = "http://www.w3.org/2000/svg";
const REFRESH_MS = 5000;
const state = { filter: "", minutes: 60, busy: new Set(), opener: null };

function build(make, tag, attrs = {}, children = []) {
  const el = make(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") el.textContent = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  el.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return el;
}
const h = (tag, attrs, ...children) => build((t) => document.createElement(t), tag, attrs, children);
const svg = (tag, attrs, ...children) => build((t) => document.createElementNS(SVG_NS, t), tag, attrs, children);

async function api(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(body.error?.message || `the console answered ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return body;
}

/** Runs one loader at a time per name, so a slow X-Ray never piles up requests. */
async function once(name, loader) {
  if (state.busy.has(name)) return;
  state.busy.add(name);
  try {
    await loader();
  } finally {
    state.busy.delete(name);
  }
}

/** Sets a status line only when it changes, so live regions do not repeat themselves. */
function say(id, text, kind = "") {
  const el = $(id);
  if (el.textContent !== text) el.textContent = text;
  el.dataset.kind = kind;
}

function duration(ms) {
  if (ms === null || ms === undefined) return "in progress";
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`;
}

function clock(epoch) {
  if (!epoch) return "–";
  const date = new Date(epoch * 1000);
  return `${date.toLocaleTimeString("en-GB", { hour12: false })}.${String(date.getMilliseconds()).padStart(3, "0")}`;
}

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
const percent = (rate) => `${(rate * 100).toFixed(rate > 0 && rate < 0.1 ? 1 : 0)}%`;

function flags(item) {
  return ["fault", "error", "throttle"]
    .filter((flag) => item[flag])
    .map((flag) => h("span", { class: `badge badge--${flag}`, text: flag }));
}

// -- recent traces --------------------------------------------------------------------

function traceRow(trace) {
  const status = trace.status ?? "";
  return h(
    "tr",
    { "data-testid": "trace-row", "data-trace-id": trace.id },
    h(
      "td",
      {},
      h("a", { href: `#trace=${trace.id}`, "data-trace-id": trace.id }, clock(trace.start),
        h("span", { class: "visually-hidden", text: ` trace ${trace.id}` })),
    ),
    h("td", { text: trace.method || "–" }),
    h("td", { class: "path", text: trace.path || "–" }),
    h("td", {}, h("span", { class: `status-code--${String(status)[0]}`, text: String(status || "–") }), " ", flags(trace)),
    h("td", { class: "num", text: duration(trace.durationMs) }),
    h("td", {}, trace.services.map((name) => h("span", { class: "badge", text: name }))),
  );
}

async function loadTraces() {
  const query = new URLSearchParams({ filter: state.filter, minutes: state.minutes });
  const input = $("filter");
  try {
    const body = await api(`/api/traces?${query}`);
    input.removeAttribute("aria-invalid");
    $("filter-error").textContent = "";
    const focused = document.activeElement?.closest?.("#traces-body [data-trace-id]")?.dataset.traceId;
    const rows = body.traces.map(traceRow);
    if (!rows.length) rows.push(h("tr", {}, h("td", { colspan: 6, text: "No traces in this time window yet." })));
    $("traces-body").replaceChildren(...rows);
    if (focused) $("traces-body").querySelector(`a[data-trace-id="${CSS.escape(focused)}"]`)?.focus();
    const matching = body.filter ? ` matching ${body.filter}` : "";
    say("traces-status", `${plural(body.traces.length, "trace")}${matching}, newest first.`);
  } catch (error) {
    if (error.status === 400) {
      input.setAttribute("aria-invalid", "true");
      if ($("filter-error").textContent !== error.message) $("filter-error").textContent = error.message;
      $("traces-body").replaceChildren();
      say("traces-status", "");
    } else {
      say("traces-status", `Cannot list the traces: ${error.message}`, "error");
    }
  }
}

// -- one trace as a waterfall -----------------------------------------------------------

function flatten(nodes, depth = 0, out = []) {
  for (const node of nodes) {
    out.push([node, depth]);
    flatten(node.children, depth + 1, out);
  }
  return out;
}

function details(node) {
  const items = [];
  const { method, url, status } = node.http;
  if (method || status) {
    const path = url ? url.replace(/^[a-z]+:\/\/[^/]+/i, "") || "/" : "";
    items.push(h("li", { class: "path", text: method ? [method, path, status].filter(Boolean).join(" ") : `HTTP ${status}` }));
  }
  if (node.aws.operation) {
    items.push(h("li", {}, h("strong", { text: node.aws.operation }), node.aws.table ? ` on table ${node.aws.table}` : ""));
  }
  const notes = Object.entries(node.annotations).map(([key, value]) => h("span", { class: "badge", text: `${key} = ${value}` }));
  if (notes.length || node.fault || node.error || node.throttle) items.push(h("li", {}, flags(node), notes));
  if (node.exception) items.push(h("li", { class: "field-error", text: node.exception }));
  return h("ul", { class: "details" }, items);
}

function waterfallRow(trace, node, depth) {
  const total = trace.durationMs || 1;
  const offset = (node.start - trace.start) * 1000;
  const bar = h("div", {
    class: `bar${node.namespace === "aws" ? " bar--aws" : ""}${node.error ? " bar--error" : ""}${node.fault ? " bar--fault" : ""}`,
  });
  bar.style.left = `${Math.max(0, (offset / total) * 100)}%`;
  bar.style.width = `${(Math.max(node.durationMs ?? total - offset, 0) / total) * 100}%`;
  const name = h("td", { class: "waterfall__name" }, h("span", { text: node.name }),
    h("span", { class: "waterfall__origin", text: node.origin || node.namespace || node.kind }));
  name.style.paddingLeft = `${0.6 + depth * 1.1}rem`;
  return h(
    "tr",
    { "data-testid": "waterfall-row", "data-name": node.name, "data-depth": depth, "data-kind": node.kind },
    name,
    h("td", {}, h("span", { class: "visually-hidden", text: `starts at +${offset.toFixed(1)} ms` }),
      h("div", { class: "track", "aria-hidden": "true" }, bar)),
    h("td", { class: "num", text: duration(node.durationMs) }),
    h("td", {}, details(node)),
  );
}

async function openTrace(id) {
  $("trace-panel").hidden = false;
  $("trace-title").textContent = id;
  $("waterfall-body").replaceChildren();
  say("trace-status", "Loading the trace…");
  $("trace-heading").focus();
  try {
    const trace = await api(`/api/traces/${encodeURIComponent(id)}`);
    const rows = flatten(trace.roots);
    $("trace-title").textContent = trace.id;
    $("waterfall-body").replaceChildren(...rows.map(([node, depth]) => waterfallRow(trace, node, depth)));
    const started = new Date(trace.start * 1000).toLocaleString("en-GB");
    say("trace-status", `${plural(rows.length, "segment")} and subsegments, ${duration(trace.durationMs)}, started ${started}.`);
  } catch (error) {
    say("trace-status", `Cannot show this trace: ${error.message}`, "error");
  }
}

function closeTrace() {
  $("trace-panel").hidden = true;
  history.replaceState(null, "", location.pathname + location.search);
  const link = state.opener && $("traces-body").querySelector(`a[data-trace-id="${CSS.escape(state.opener)}"]`);
  (link || $("trace-id")).focus();
}

function route() {
  const match = location.hash.match(/^#trace=(.+)$/);
  if (match) openTrace(decodeURIComponent(match[1]).trim());
}

// -- the service map ----------------------------------------------------------------------

/** Layers: each node one column right of the nearest node that calls it; callers start at 0. */
function layers(map) {
  const calls = new Map(map.nodes.map((node) => [node.id, []]));
  for (const edge of map.edges) calls.get(edge.source)?.push(edge.target);
  const called = new Set(map.edges.map((edge) => edge.target));
  let frontier = map.nodes.filter((node) => !called.has(node.id)).map((node) => node.id);
  if (!frontier.length && map.nodes.length) frontier = [map.nodes[0].id];
  const layer = new Map(frontier.map((id) => [id, 0]));
  while (frontier.length) {
    const next = [];
    for (const id of frontier) {
      for (const target of calls.get(id) || []) {
        if (layer.has(target)) continue;
        layer.set(target, layer.get(id) + 1);
        next.push(target);
      }
    }
    frontier = next;
  }
  for (const node of map.nodes) if (!layer.has(node.id)) layer.set(node.id, 0);
  return layer;
}

const shorten = (text, max) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
const stats = (item) =>
  item.count ? `${plural(item.count, "call")} · ${duration(item.avgMs)} · ${percent(item.errorRate)} err` : "";

function drawMap(map) {
  const W = 190, H = 64, GAP_X = 130, GAP_Y = 30, PAD = 16;
  const layer = layers(map);
  const columns = [];
  const at = new Map();
  for (const node of map.nodes) {
    const column = (columns[layer.get(node.id)] ||= []);
    at.set(node.id, { x: PAD + layer.get(node.id) * (W + GAP_X), y: PAD + column.length * (H + GAP_Y) });
    column.push(node);
  }
  const width = PAD * 2 + Math.max(1, columns.length) * (W + GAP_X) - GAP_X;
  const height = PAD * 2 + Math.max(1, ...columns.map((c) => c?.length || 0)) * (H + GAP_Y) - GAP_Y;
  const byId = new Map(map.nodes.map((node) => [node.id, node]));
  const described = map.edges.map(
    (edge) => `${byId.get(edge.source)?.name} calls ${byId.get(edge.target)?.name} (${plural(edge.count, "call")})`,
  );
  const edges = map.edges.map((edge) => {
    const from = at.get(edge.source), to = at.get(edge.target);
    if (!from || !to) return null;
    const [x1, y1, x2, y2] = [from.x + W, from.y + H / 2, to.x, to.y + H / 2];
    const bend = Math.max(40, Math.abs(x2 - x1) / 2);
    return svg("g", { "data-testid": "map-edge" },
      svg("path", { class: `map-edge${edge.errorRate ? " map-edge--errors" : ""}`, "marker-end": "url(#arrow)",
        d: `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}` }),
      svg("text", { class: "map-edge__label", x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 6, "text-anchor": "middle",
        text: `${edge.count}× ${duration(edge.avgMs)}${edge.errorRate ? ` ${percent(edge.errorRate)} err` : ""}` }));
  });
  const nodes = map.nodes.map((node) => {
    const { x, y } = at.get(node.id);
    const kind = node.type === "client" ? " map-node--client"
      : node.faults ? " map-node--faults" : node.errors ? " map-node--errors" : "";
    const type = node.type === "client" ? "who calls the entry points" : node.type || "";
    return svg("g", { class: `map-node${kind}`, "data-testid": "map-node", "data-name": node.name },
      svg("title", { text: [node.name, type, stats(node)].filter(Boolean).join(", ") }),
      svg("rect", { x, y, width: W, height: H, rx: 10 }),
      svg("text", { class: "map-node__name", x: x + 10, y: y + 20, text: shorten(node.name, 24) }),
      svg("text", { class: "map-node__info", x: x + 10, y: y + 37, text: shorten(type, 30) }),
      svg("text", { class: "map-node__info", x: x + 10, y: y + 54, text: shorten(stats(node), 32) }));
  });
  const title = `Service map: ${plural(map.nodes.length, "node")}, ${plural(map.edges.length, "connection")}`;
  const arrow = { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: "auto" };
  return svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": "map-title map-desc" },
    svg("title", { id: "map-title", text: title }),
    svg("desc", { id: "map-desc", text: described.join("; ") }),
    svg("defs", {}, svg("marker", arrow, svg("path", { class: "map-arrow", d: "M0,0 L10,5 L0,10 z" }))),
    edges, nodes);
}

async function loadMap() {
  try {
    const map = await api(`/api/service-map?minutes=${state.minutes}`);
    const byId = new Map(map.nodes.map((node) => [node.id, node.name]));
    $("service-map").replaceChildren(map.nodes.length ? drawMap(map) : "");
    $("map-edges").replaceChildren(...map.edges.map((edge) => h("tr", {},
      h("td", { text: byId.get(edge.source) }), h("td", { text: byId.get(edge.target) }),
      h("td", { class: "num", text: edge.count }), h("td", { class: "num", text: duration(edge.avgMs) }),
      h("td", { class: "num", text: percent(edge.errorRate) }))));
    say("map-status", map.nodes.length ? "" : "No calls in this time window yet.");
  } catch (error) {
    say("map-status", `Cannot draw the service map: ${error.message}`, "error");
  }
}

// -- clicks ---------------------------------------------------------------------------------

async function loadClicks() {
  try {
    const clicks = await api("/api/clicks");
    $("clicks-total").textContent = clicks.total;
    $("clicks-failed").textContent = clicks.failed;
    const most = Math.max(1, ...clicks.views.map((row) => row.views));
    $("clicks-body").replaceChildren(...clicks.views.map((row) => {
      const bar = h("div", { class: "bars__bar", "aria-hidden": "true" });
      bar.style.width = `${(row.views / most) * 85}%`;
      return h("tr", { "data-testid": "clicks-row", "data-mysfit-id": row.mysfitId },
        h("th", { scope: "row", text: row.name || row.mysfitId }),
        h("td", {}, h("div", { class: "bars__row" }, bar, h("span", { "data-testid": "clicks-views", text: row.views }))));
    }));
    const codes = Object.entries(clicks.failedByCode).map(([code, n]) => `${n} ${code}`).join(", ");
    const unreadable = clicks.unreadableLines ? ` ${plural(clicks.unreadableLines, "line")} were not JSON.` : "";
    say("clicks-status", `From s3://${clicks.bucket}.${codes ? ` Failed: ${codes}.` : ""}${unreadable}`);
  } catch (error) {
    say("clicks-status", `Cannot read the clicks: ${error.message}`, "error");
  }
}

// -- wiring ------------------------------------------------------------------------------------

function refresh() {
  once("traces", loadTraces);
  once("map", loadMap);
  once("clicks", loadClicks);
}

$("filter-form").addEventListener("submit", (event) => {
  event.preventDefault();
  state.filter = $("filter").value.trim();
  state.minutes = Number($("minutes").value);
  refresh();
});

$("search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const id = $("trace-id").value.trim();
  if (!id) return;
  state.opener = null;
  if (location.hash === `#trace=${id}`) openTrace(id);
  else location.hash = `trace=${id}`;
});

$("traces-body").addEventListener("click", (event) => {
  state.opener = event.target.closest("a[data-trace-id]")?.dataset.traceId ?? state.opener;
});
$("trace-close").addEventListener("click", closeTrace);
$("trace-panel").addEventListener("keydown", (event) => event.key === "Escape" && closeTrace());
window.addEventListener("hashchange", route);
setInterval(() => $("auto-refresh").checked && !document.hidden && refresh(), REFRESH_MS);

refresh();
route();
