// axon's web UI: the live service map and flow table of one namespace, read
// from the UI server's JSON API (/api/namespaces, /api/flows, /api/map,
// /api/status), polled every second. Flow data is only ever put into the
// page as text (textContent), never as markup.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const MAX_ROWS = 500;
const POLL_MS = 1000;

const state = {
  namespace: new URLSearchParams(location.search).get("namespace") || "",
  verdict: new URLSearchParams(location.search).get("verdict") || "",
  last: 0,
  paused: false,
  busy: false,
};

const $ = (id) => document.getElementById(id);

async function getJSON(path) {
  const r = await fetch(path, { cache: "no-store" });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return r.json();
}

function el(tag, attrs = {}, text) {
  const e = tag === "svg" || ["g", "rect", "text", "path", "marker", "defs", "title"].includes(tag)
    ? document.createElementNS(SVG, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function setStatus(text, error = false) {
  const s = $("status");
  s.textContent = text;
  s.className = error ? "error" : "";
}

// --- namespaces -------------------------------------------------------------

async function loadNamespaces() {
  const list = await getJSON("api/namespaces");
  const select = $("namespace");
  const have = new Set([...select.options].map((o) => o.value));
  if (state.namespace && !list.includes(state.namespace)) list.push(state.namespace);
  for (const ns of list.sort()) {
    if (!have.has(ns)) select.append(el("option", { value: ns }, ns));
  }
  select.value = state.namespace;
}

function updateURL() {
  const q = new URLSearchParams();
  if (state.namespace) q.set("namespace", state.namespace);
  if (state.verdict) q.set("verdict", state.verdict);
  history.replaceState(null, "", q.toString() ? `?${q}` : location.pathname);
}

function reset() {
  state.last = 0;
  $("flows").tBodies[0].replaceChildren();
  $("map").replaceChildren();
  updateURL();
  poll();
}

// --- flow table -------------------------------------------------------------

function endpointText(ep) {
  if (ep.pod) return `${ep.namespace}/${ep.pod}`;
  return ep.name && ep.name !== ep.ip ? `${ep.name} (${ep.ip})` : ep.ip;
}

function addRows(flows) {
  const body = $("flows").tBodies[0];
  for (const f of flows) {
    const tr = el("tr", { "data-verdict": f.verdict, "data-seq": f.seq });
    const port = f.protocol ? `${f.protocol}${f.destination.port ? "/" + f.destination.port : ""}` : "";
    const type = f.verdict === "DROPPED" ? f.reason : f.type;
    tr.append(
      el("td", {}, f.time.replace("T", " ").replace("Z", "")),
      el("td", { class: "source" }, endpointText(f.source)),
      el("td", { class: "destination" }, endpointText(f.destination)),
      el("td", {}, port),
      el("td", { class: `verdict verdict-${f.verdict}` }, f.verdict),
      el("td", { class: "type" }, type + (f.isReply ? " (reply)" : "")),
      el("td", {}, f.node),
    );
    body.prepend(tr);
  }
  while (body.rows.length > MAX_ROWS) body.deleteRow(-1);
}

// --- service map --------------------------------------------------------------

// Columns by longest path from the nodes nothing sends to (cycles cut);
// rows stacked by card height.
function layout(nodes, edges, heights) {
  const col = new Map(nodes.map((n) => [n.id, 0]));
  for (let i = 0; i < nodes.length; i++) {
    let moved = false;
    for (const e of edges) {
      if (e.source === e.destination) continue;
      const want = col.get(e.source) + 1;
      if (want > col.get(e.destination) && want < nodes.length) {
        col.set(e.destination, want);
        moved = true;
      }
    }
    if (!moved) break;
  }
  const bottom = new Map();
  const pos = new Map();
  for (const n of nodes) {
    const c = col.get(n.id);
    const y = bottom.get(c) || 30;
    bottom.set(c, y + heights.get(n.id) + 34);
    pos.set(n.id, { x: 30 + c * 300, y });
  }
  return pos;
}

const NODE_W = 180;
const HEAD_H = 44;
const PORT_H = 18;
const portName = (e) => (e.port ? `${e.protocol}/${e.port}` : e.protocol);

// Hubble UI's map: a card per workload with the ports it is reached on;
// each edge runs from its source card to the port it reached, green when
// every connection got through, red dashed when every one was dropped.
function renderMap(map) {
  const svg = $("map");
  $("map-empty").hidden = map.nodes.length > 0;
  if (map.nodes.length === 0) {
    $("map-empty").textContent = state.namespace
      ? `No flows in ${state.namespace} yet.` : "Pick a namespace to see its live service map.";
  }
  const ports = new Map(map.nodes.map((n) => [n.id, []]));
  for (const e of map.edges) {
    const list = ports.get(e.destination);
    if (list && !list.includes(portName(e))) list.push(portName(e));
  }
  for (const list of ports.values()) list.sort();
  const heights = new Map(map.nodes.map((n) => [n.id, HEAD_H + ports.get(n.id).length * PORT_H + 4]));
  const pos = layout(map.nodes, map.edges, heights);
  const portY = (id, name) => pos.get(id).y + HEAD_H + ports.get(id).indexOf(name) * PORT_H + PORT_H / 2 - 2;

  const defs = el("defs");
  for (const v of ["forwarded", "dropped", "mixed"]) {
    const m = el("marker", { id: `arrow-${v}`, viewBox: "0 0 10 10", refX: "10", refY: "5",
                             markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" });
    m.append(el("path", { d: "M 0 0 L 10 5 L 0 10 z", class: `arrowhead ${v}`,
                          fill: getComputedStyle(document.documentElement)
                            .getPropertyValue(`--${v}`).trim() }));
    defs.append(m);
  }
  const edgesG = el("g", { class: "edges" });
  for (const e of map.edges) {
    const a = pos.get(e.source), b = pos.get(e.destination);
    if (!a || !b) continue;
    const x1 = a.x + NODE_W, y1 = a.y + HEAD_H / 2, y2 = portY(e.destination, portName(e));
    let d;
    if (e.source !== e.destination && b.x > a.x) {
      const x2 = b.x, bend = Math.max(50, (x2 - x1) / 2);
      d = `M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2} ${y2}`;
    } else {
      // Back or to itself: around the left of the destination.
      const x2 = b.x, out = 60;
      d = `M ${x1} ${y1} C ${x1 + out} ${y1}, ${x2 - out} ${y2}, ${x2} ${y2}`;
    }
    const g = el("g", { class: "edge-group", "data-source": e.source,
                        "data-destination": e.destination, "data-verdict": e.verdict,
                        "data-port": portName(e) });
    g.append(el("path", { d, class: `edge ${e.verdict}`, "marker-end": `url(#arrow-${e.verdict})` }),
             el("title", {}, `${portName(e)}: ${e.forwarded} connections forwarded, ` +
                `${e.dropped} dropped` + (e.reasons.length ? ` (${e.reasons.join(", ")})` : "")));
    edgesG.append(g);
  }
  const nodesG = el("g", { class: "nodes" });
  let width = 0, height = 0;
  for (const n of map.nodes) {
    const p = pos.get(n.id);
    const h = heights.get(n.id);
    width = Math.max(width, p.x + NODE_W + 60);
    height = Math.max(height, p.y + h + 20);
    const cls = ["node", n.kind === "entity" || n.kind === "ip" ? "entity" : "",
                 n.inNamespace ? "" : "outside"].filter(Boolean).join(" ");
    const g = el("g", { class: cls, "data-id": n.id, transform: `translate(${p.x},${p.y})` });
    g.append(el("rect", { width: NODE_W, height: h, rx: 6 }),
             el("text", { x: 12, y: 19, class: "name" }, n.name),
             el("text", { x: 12, y: 35, class: "ns" }, n.namespace || n.kind));
    ports.get(n.id).forEach((name, i) => {
      g.append(el("text", { x: 12, y: HEAD_H + i * PORT_H + PORT_H / 2 + 2, class: "port" }, name));
    });
    nodesG.append(g);
  }
  svg.setAttribute("viewBox", `0 0 ${Math.max(width, 400)} ${Math.max(height, 200)}`);
  svg.setAttribute("width", Math.max(width, 400));
  svg.setAttribute("height", Math.max(height, 200));
  svg.replaceChildren(defs, edgesG, nodesG);
}

// --- polling ------------------------------------------------------------------

async function poll() {
  if (state.paused || state.busy) return;
  state.busy = true;
  try {
    const status = await getJSON("api/status");
    setStatus(status.relay === "connected"
      ? `${status.flows.seen} flows seen${status.flows.lost ? `, ${status.flows.lost} lost` : ""}`
      : `relay: ${status.relay}`, status.relay !== "connected");
    await loadNamespaces();
    const { namespace, verdict } = state;
    if (!namespace) return;
    const q = new URLSearchParams({ namespace, after: state.last, limit: MAX_ROWS });
    if (verdict) q.set("verdict", verdict);
    const flows = await getJSON(`api/flows?${q}`);
    const map = await getJSON(`api/map?${new URLSearchParams({ namespace })}`);
    if (namespace !== state.namespace || verdict !== state.verdict) return;  // changed meanwhile
    state.last = flows.last;
    addRows(flows.flows);
    renderMap(map);
  } catch (err) {
    setStatus(String(err.message || err), true);
  } finally {
    state.busy = false;
  }
}

$("namespace").addEventListener("change", (e) => { state.namespace = e.target.value; reset(); });
$("verdict").addEventListener("change", (e) => { state.verdict = e.target.value; reset(); });
$("pause").addEventListener("click", (e) => {
  state.paused = !state.paused;
  e.target.textContent = state.paused ? "Resume" : "Pause";
  if (!state.paused) poll();
});
$("verdict").value = state.verdict;
poll();
setInterval(poll, POLL_MS);
