// orderflow console: polls the JSON API under ./api/ and draws the state machine graph as SVG.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const state = {
  graph: null,          // laid-out graph from api/graph
  selected: null,       // execution ARN shown in the detail panel
  detail: null,         // last api/execution answer
  pickedState: null,    // state whose runs are shown
  tab: "workflow",
  view: null,           // the graph's viewBox {x, y, w, h}: zoom and pan move it
  openIterations: new Set(),  // "<Map state>#<index>" of the iterations unfolded
};

const $ = (selector) => document.querySelector(selector);

// This start's token, given only in the page: the endpoint takes actions (POSTs) only with it.
const TOKEN = document.querySelector('meta[name="orderflow-console-token"]').content;

async function api(path, options = {}) {
  if (options.method && options.method !== "GET") {
    options = { ...options, headers: { ...options.headers, "x-orderflow-console-token": TOKEN } };
  }
  const response = await fetch("api/" + path, options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child ?? ""));
  return node;
}

function svg(tag, attributes = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  return node;
}

function statusBadge(status) {
  return el("span", { class: "status " + status }, status);
}

function time(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (isNaN(date)) return iso;
  const pad = (n, width = 2) => String(n).padStart(width, "0");
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

function seconds(value) {
  if (value === null || value === undefined) return "";
  return value < 60 ? value.toFixed(1) + " s" : (value / 60).toFixed(1) + " min";
}

function pretty(text) {
  if (text === null || text === undefined) return "";
  try { return JSON.stringify(JSON.parse(text), null, 2); } catch { return String(text); }
}

// -- graph ------------------------------------------------------------------------------------------

function drawGraph() {
  const host = $("#graph");
  host.replaceChildren();
  const graph = state.graph.graph;
  // The graph fits its panel (viewBox, scaled to the box); the wheel zooms, dragging pans.
  host.setAttribute("preserveAspectRatio", "xMidYMid meet");
  fitGraph();

  const defs = svg("defs");
  for (const [id, colour] of [["arrow", "#9aa4af"], ["arrow-taken", "#2e7d32"], ["arrow-catch", "#e65100"]]) {
    const marker = svg("marker", { id, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 9, markerHeight: 9, markerUnits: "userSpaceOnUse", orient: "auto-start-reverse" });
    marker.append(svg("path", { d: "M0,0 L10,5 L0,10 z", fill: colour }));
    defs.append(marker);
  }
  host.append(defs);

  // Compound boxes first so that their children and edges are drawn on top.
  const nodes = [...graph.nodes].sort((a, b) => Number(b.compound) - Number(a.compound));
  const nodeLayer = svg("g");
  for (const node of nodes) {
    const group = svg("g", { class: `node type-${node.type}${node.compound ? " compound" : ""}`, "data-state": node.id, "data-type": node.type });
    const title = svg("title");
    title.textContent = `${node.id} (${node.type})`;
    group.append(title);
    if (node.type === "Start") {
      group.append(svg("circle", { cx: node.x + node.width / 2, cy: node.y + node.height / 2, r: node.width / 2 }));
    } else {
      const rounded = node.type === "Succeed" || node.type === "Fail" ? node.height / 2 : 6;
      group.append(svg("rect", { x: node.x, y: node.y, width: node.width, height: node.height, rx: node.compound ? 8 : rounded }));
      const label = svg("text", node.compound
        ? { x: node.x + 10, y: node.y + 17 }
        : { x: node.x + node.width / 2, y: node.y + node.height / 2 + 4, "text-anchor": "middle" });
      label.textContent = node.compound ? `${node.id}  [${node.type}]` : node.id;
      group.append(label);
      group.addEventListener("click", (event) => {
        event.stopPropagation();
        if (performance.now() - (state.draggedAt || -1e9) > 250) pickState(node.id);
      });
    }
    nodeLayer.append(group);
  }

  const edgeLayer = svg("g");
  for (const edge of graph.edges) {
    const group = svg("g", { class: `edge kind-${edge.kind}`, "data-source": edge.source, "data-target": edge.target, "data-kind": edge.kind });
    // A Catch to the state Next already leads to would hide behind it: draw it a little to the side.
    const twin = edge.kind === "catch" && graph.edges.some((o) => o !== edge && o.kind !== "catch" && o.source === edge.source && o.target === edge.target);
    const points = twin ? edge.points.map(([x, y]) => [x + 14, y]) : edge.points;
    let d = `M${points[0][0]},${points[0][1]}`;
    for (let i = 1; i < points.length; i++) {
      const [ax, ay] = points[i - 1];
      const [bx, by] = points[i];
      const my = (ay + by) / 2;
      d += ` C${ax},${my} ${bx},${my} ${bx},${by}`;
    }
    const path = svg("path", { d, "marker-end": "url(#arrow)" });
    const title = svg("title");
    title.textContent = `${edge.source} → ${edge.target}` + (edge.label ? ` (${edge.label})` : "");
    path.append(title);
    group.append(path);
    edgeLayer.append(group);
  }
  // Compound boxes under edges, plain states over them.
  for (const group of [...nodeLayer.children]) if (group.classList.contains("compound")) host.append(group);
  host.append(edgeLayer);
  for (const group of [...nodeLayer.children]) host.append(group);
  colourGraph();
}

function colourGraph() {
  const path = state.detail ? state.detail.path : null;
  const statuses = path ? path.states : {};
  for (const group of document.querySelectorAll("#graph .node")) {
    const status = statuses[group.dataset.state];
    if (status) group.setAttribute("data-status", status); else group.removeAttribute("data-status");
    group.classList.toggle("picked", group.dataset.state === state.pickedState);
  }
  const taken = new Set();
  if (path) {
    for (const t of path.transitions) {
      // A next transition may follow a Choice or Default edge; a catch one follows a Catch edge.
      const candidates = [...document.querySelectorAll("#graph .edge")].filter(
        (e) => e.dataset.source === t.source && e.dataset.target === t.target);
      const exact = candidates.filter((e) => (t.kind === "catch") === (e.dataset.kind === "catch"));
      for (const edge of (exact.length ? exact : candidates)) taken.add(edge);
    }
    if (path.runs.length) {
      for (const e of document.querySelectorAll('#graph .edge[data-kind="start"]')) taken.add(e);
    }
  }
  for (const edge of document.querySelectorAll("#graph .edge")) {
    const isTaken = taken.has(edge);
    edge.classList.toggle("taken", isTaken);
    edge.querySelector("path").setAttribute("marker-end",
      isTaken ? (edge.dataset.kind === "catch" ? "url(#arrow-catch)" : "url(#arrow-taken)") : "url(#arrow)");
  }
}

// -- zoom and pan: the viewBox moves, the drawing stays -------------------------------------------------

const ZOOM_LIMITS = [0.2, 8];  // relative to the whole graph fitted in the panel
const GRAPH_MARGIN = 8;

function fullView() {
  const graph = state.graph.graph;
  return { x: -GRAPH_MARGIN, y: -GRAPH_MARGIN, w: graph.width + 2 * GRAPH_MARGIN, h: graph.height + 2 * GRAPH_MARGIN };
}

function applyView() {
  const { x, y, w, h } = state.view;
  const host = $("#graph");
  host.setAttribute("viewBox", `${x} ${y} ${w} ${h}`);
  const zoom = fullView().w / w;
  host.dataset.zoom = zoom.toFixed(3);
  $("#zoom-level").textContent = Math.round(zoom * 100) + "%";
}

function fitGraph() {
  state.view = fullView();
  applyView();
}

function zoomAt(factor, cx, cy) {
  // Zoom by `factor` (> 1 zooms in) keeping the graph point (cx, cy) where it is on screen.
  const full = fullView();
  const zoom = Math.min(ZOOM_LIMITS[1], Math.max(ZOOM_LIMITS[0], (full.w / state.view.w) * factor));
  const w = full.w / zoom;
  const h = full.h / zoom;
  const v = state.view;
  state.view = { x: cx - ((cx - v.x) * w) / v.w, y: cy - ((cy - v.y) * h) / v.h, w, h };
  applyView();
}

function graphPoint(host, clientX, clientY) {
  const point = host.createSVGPoint();
  point.x = clientX;
  point.y = clientY;
  return point.matrixTransform(host.getScreenCTM().inverse());
}

function zoomCentre(factor) {
  const v = state.view;
  zoomAt(factor, v.x + v.w / 2, v.y + v.h / 2);
}

function wireZoomAndPan() {
  const host = $("#graph");
  host.addEventListener("wheel", (event) => {
    if (!state.view) return;
    event.preventDefault();
    const at = graphPoint(host, event.clientX, event.clientY);
    zoomAt(Math.exp(-event.deltaY * 0.0015), at.x, at.y);
  }, { passive: false });
  let drag = null;
  host.addEventListener("pointerdown", (event) => {
    if (!state.view || event.button !== 0) return;
    drag = { x: event.clientX, y: event.clientY, view: { ...state.view }, scale: host.getScreenCTM().a, moved: false };
  });
  host.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const dx = event.clientX - drag.x;
    const dy = event.clientY - drag.y;
    if (!drag.moved && Math.hypot(dx, dy) < 4) return;  // a click on a node, not a drag
    if (!drag.moved) { drag.moved = true; host.setPointerCapture(event.pointerId); host.classList.add("panning"); }
    state.view = { ...drag.view, x: drag.view.x - dx / drag.scale, y: drag.view.y - dy / drag.scale };
    applyView();
  });
  const end = (event) => {
    if (drag && drag.moved) {
      host.classList.remove("panning");
      state.draggedAt = performance.now();  // the click that ends a drag picks no state
      if (host.hasPointerCapture(event.pointerId)) host.releasePointerCapture(event.pointerId);
    }
    drag = null;
  };
  host.addEventListener("pointerup", end);
  host.addEventListener("pointercancel", end);
  $("#zoom-in").addEventListener("click", () => state.view && zoomCentre(1.25));
  $("#zoom-out").addEventListener("click", () => state.view && zoomCentre(0.8));
  $("#zoom-fit").addEventListener("click", () => state.view && fitGraph());
}

// -- executions -------------------------------------------------------------------------------------

async function refreshExecutions() {
  const params = new URLSearchParams();
  if ($("#status-filter").value) params.set("status", $("#status-filter").value);
  if ($("#order-filter").value.trim()) params.set("orderId", $("#order-filter").value.trim());
  const data = await api("executions?" + params);
  const body = $("#executions tbody");
  body.replaceChildren(...data.executions.map((execution) => el("tr", {
    class: execution.arn === state.selected ? "selected" : "",
    "data-execution-arn": execution.arn,
    "data-order-id": execution.orderId || "",
    "data-status": execution.status,
    onclick: () => selectExecution(execution.arn),
  },
  el("td", { title: execution.name }, execution.orderId || execution.name.slice(0, 18)),
  el("td", {}, statusBadge(execution.status)),
  el("td", { title: execution.start, class: "nowrap" }, time(execution.start).slice(0, 8)),
  el("td", {}, seconds(execution.durationSeconds)))));
  $("#executions-count").textContent = `(${data.executions.length})`;
  const current = data.executions.find((e) => e.arn === state.selected);
  if (current && state.detail && current.status !== state.detail.execution.status) await refreshDetail();
}

async function selectExecution(arn) {
  state.selected = arn;
  state.pickedState = null;
  state.openIterations.clear();
  for (const row of document.querySelectorAll("#executions tbody tr")) {
    row.classList.toggle("selected", row.dataset.executionArn === arn);
  }
  await refreshDetail();
}

async function refreshDetail() {
  if (!state.selected) return;
  state.detail = await api("execution?arn=" + encodeURIComponent(state.selected));
  renderDetail();
  colourGraph();
}

function renderDetail() {
  const { execution, path, history } = state.detail;
  $("#execution-empty").hidden = true;
  $("#execution-detail").hidden = false;
  $("#execution-detail").dataset.executionArn = execution.arn;
  $("#execution-detail").dataset.status = execution.status;
  const summary = [
    ["order", execution.orderId || "—"],
    ["status", statusBadge(execution.status)],
    ["execution", execution.name],
    ["started", execution.start || ""],
    ["stopped", execution.stop || "—"],
    ["duration", seconds(execution.durationSeconds)],
    ["now in", path.currentState || "—"],
  ];
  $("#execution-summary").replaceChildren(...summary.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  const errorBox = $("#execution-error");
  errorBox.hidden = !(execution.error || execution.cause);
  errorBox.replaceChildren(el("strong", {}, execution.error || ""), " ", execution.cause || "");

  $("#runs tbody").replaceChildren(...path.runs.map((run, index) => el("tr", {
    "data-state": run.name, "data-status": run.status, onclick: () => pickState(run.name, index),
  },
  el("td", {}, run.name),
  el("td", {}, statusBadge(run.status), run.retries ? ` ${run.retries} retr${run.retries > 1 ? "ies" : "y"}` : ""),
  el("td", {}, time(run.entered_at)),
  el("td", {}, run.exited_at ? seconds((new Date(run.exited_at) - new Date(run.entered_at)) / 1000) : ""),
  el("td", {}, run.error ? `${run.error}${run.cause ? ": " + run.cause : ""}` : ""))));

  renderIterations(path);
  $("#history tbody").replaceChildren(...timeline(history, state.detail.statusEvents || []));
  if (state.pickedState) renderRuns(state.pickedState);
}

// The history, each status-change event the default bus received placed after the history event of the
// same change (RUNNING after ExecutionStarted, FAILED after ExecutionFailed...).
const STATUS_EVENT_AFTER = {
  RUNNING: "ExecutionStarted", SUCCEEDED: "ExecutionSucceeded", FAILED: "ExecutionFailed",
  TIMED_OUT: "ExecutionTimedOut", ABORTED: "ExecutionAborted",
};

function timeline(history, statusEvents) {
  const rows = history.map((event) => el("tr", { "data-type": event.type },
    el("td", {}, event.id),
    el("td", { class: "nowrap" }, time(event.timestamp)),
    el("td", { class: "nowrap" }, event.type),
    el("td", {}, event.state || ""),
    el("td", {}, summariseDetails(event.details))));
  for (const change of statusEvents) {
    const row = el("tr", { class: "status-event", "data-type": "StatusChange", "data-status": change.status, title: `EventBridge event ${change.id}` },
      el("td", { class: "muted nowrap" }, "EB"),
      el("td", { class: "nowrap" }, time(change.at)),
      el("td", { class: "nowrap" }, "Status change"),
      el("td", {}, "aws.states"),
      el("td", {}, statusBadge(change.status), change.error ? ` ${change.error}${change.cause ? ": " + change.cause : ""}` : ""));
    const anchor = rows.findIndex((r) => r.dataset.type === STATUS_EVENT_AFTER[change.status]);
    if (anchor >= 0) rows.splice(anchor + 1, 0, row); else rows.push(row);
  }
  return rows;
}

// Inside each Map: one fold per item, its states with their inputs and outputs, the failed item marked.
function itemLabel(input) {
  try {
    const item = JSON.parse(input);
    if (item && typeof item === "object") {
      for (const key of ["sku", "id", "name"]) if (typeof item[key] === "string") return item[key];
    }
    return JSON.stringify(item).slice(0, 40);
  } catch { return ""; }
}

function renderIterations(path) {
  const box = $("#iterations");
  const iterations = path.iterations || [];
  box.hidden = !iterations.length;
  const maps = [...new Set(iterations.map((i) => i.map_state))];
  box.replaceChildren(...maps.flatMap((map) => {
    const items = iterations.filter((i) => i.map_state === map);
    const failed = items.filter((i) => i.status === "failed").length;
    return [
      el("h3", { "data-map": map }, `${map} `, el("span", { class: "muted" }, `${items.length} iteration${items.length === 1 ? "" : "s"}${failed ? `, ${failed} failed` : ""}`)),
      ...items.map((iteration) => renderIteration(iteration, path.runs)),
    ];
  }));
}

function renderIteration(iteration, runs) {
  const key = `${iteration.map_state}#${iteration.index}`;
  const own = iteration.runs.map((index) => runs[index]);
  const failure = own.find((run) => run.error);
  const fold = el("details", {
    class: "iteration", "data-map": iteration.map_state, "data-index": iteration.index, "data-status": iteration.status,
    open: state.openIterations.has(key) || iteration.status === "failed" ? "" : null,
  },
  el("summary", {}, `#${iteration.index} `, el("strong", {}, own.length ? itemLabel(own[0].input) : ""), " ", statusBadge(iteration.status),
    failure ? el("span", { class: "muted" }, ` ${failure.name}: ${failure.error}`) : ""),
  ...own.map((run) => el("div", { class: "iteration-run", "data-state": run.name, "data-status": run.status },
    el("div", {}, el("strong", {}, run.name), " ", statusBadge(run.status), ` ${time(run.entered_at)}`),
    run.error ? el("div", { class: "error-box" }, el("strong", {}, run.error), " ", run.cause || "") : "",
    el("div", { class: "muted" }, "input"), el("pre", { class: "state-input" }, pretty(run.input)),
    el("div", { class: "muted" }, "output"), el("pre", { class: "state-output" }, run.output === null ? "—" : pretty(run.output)))));
  fold.addEventListener("toggle", () => {
    if (fold.open) state.openIterations.add(key); else state.openIterations.delete(key);
  });
  return fold;
}

function summariseDetails(details) {
  if (!details) return "";
  if (details.error) return `${details.error}: ${details.cause || ""}`.slice(0, 240);
  if (details.resource) return `${details.resourceType || ""}:${details.resource}`;
  if (details.name) return "";
  const text = JSON.stringify(details);
  return text.length > 160 ? text.slice(0, 160) + "…" : text;
}

function pickState(name, runIndex) {
  state.pickedState = name;
  colourGraph();
  renderRuns(name, runIndex);
}

function renderRuns(name, runIndex) {
  const box = $("#run-detail");
  if (!state.detail) { box.hidden = true; return; }
  const runs = state.detail.path.runs.filter((run, index) => run.name === name && (runIndex === undefined || index === runIndex));
  box.hidden = false;
  box.dataset.state = name;
  if (!runs.length) { box.replaceChildren(el("strong", {}, name), el("div", { class: "muted" }, "not reached in this execution")); return; }
  box.replaceChildren(el("strong", {}, name), ...runs.flatMap((run) => [
    el("div", {}, statusBadge(run.status), ` entered ${time(run.entered_at)}`, run.exited_at ? `, exited ${time(run.exited_at)}` : ""),
    run.error ? el("div", { class: "error-box" }, el("strong", {}, run.error), " ", run.cause || "") : "",
    el("div", { class: "muted" }, "input"), el("pre", { class: "state-input" }, pretty(run.input)),
    el("div", { class: "muted" }, "output"), el("pre", { class: "state-output" }, run.output === null ? "—" : pretty(run.output)),
  ]));
}

// -- resources --------------------------------------------------------------------------------------

async function refreshResources() {
  const data = await api("resources");
  $("#queues tbody").replaceChildren(...data.queues.map((q) => el("tr", { "data-queue": q.name },
    el("td", {}, q.name, q.isDlq ? el("span", { class: "muted" }, ` DLQ of ${q.sources.join(", ")}`) : ""),
    el("td", {}, q.depth),
    el("td", {}, q.in_flight),
    el("td", {}, q.dlq || ""),
    el("td", {}, q.dlq_depth === null ? "" : el("span", { class: q.dlq_depth ? "status FAILED" : "" }, q.dlq_depth)),
    el("td", {}, q.isDlq && q.depth > 0 ? el("button", { class: "show-messages", onclick: () => showDlq(q.name) }, "messages") : ""))));
  $("#alarms tbody").replaceChildren(...data.alarms.map((a) => el("tr", { "data-alarm": a.name, title: a.reason || "" },
    el("td", {}, a.name), el("td", {}, statusBadge(a.state)), el("td", {}, time(a.updated)))));
  const analytics = Array.isArray(data.analytics) ? data.analytics : [];
  $("#analytics tbody").replaceChildren(...(analytics.length ? analytics.map((item) => {
    const { pk, sk, ...rest } = item;
    return el("tr", {}, el("td", {}, pk), el("td", {}, sk),
      el("td", {}, Object.entries(rest).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join("  ")));
  }) : [el("tr", {}, el("td", { colspan: 3, class: "muted" }, data.analytics && data.analytics.error ? data.analytics.error : "no aggregates yet"))]));
  $("#topics").replaceChildren(...data.topics.map((topic) => el("div", { class: "topic", "data-topic": topic.name },
    el("h3", {}, topic.name, el("span", { class: "muted" }, ` (${topic.recent.length} recent)`)),
    ...topic.recent.slice(0, 8).map((n) => el("div", { class: "notification" },
      el("div", { class: "meta" }, `${time(n.at)} ${n.subject || ""} ${Object.entries(n.attributes || {}).map(([k, v]) => `${k}=${v}`).join(" ")}`),
      el("pre", { class: "compact" }, typeof n.message === "string" ? n.message : JSON.stringify(n.message)))))));
}

async function refreshImports() {
  const data = await api("imports");
  $("#imports-bucket").textContent = data.bucket;
  $("#imports tbody").replaceChildren(...(data.imports.length ? data.imports.map((i) => el("tr", { "data-import": i.file, class: "clickable", onclick: () => showImport(i.report) },
    el("td", {}, i.file), el("td", {}, statusBadge(i.status === "completed" ? "SUCCEEDED" : "FAILED"), " ", i.status),
    el("td", {}, i.totals.orders), el("td", {}, i.totals.accepted), el("td", {}, i.totals.known),
    el("td", {}, i.totals.rejected), el("td", {}, time(i.updated)))) : [el("tr", {}, el("td", { colspan: 7, class: "muted" }, "no imports yet: upload a file to incoming/"))]));
}

async function showImport(reportKey) {
  const data = await api("import?report=" + encodeURIComponent(reportKey));
  const box = $("#import-report");
  box.hidden = false;
  box.replaceChildren(
    el("h3", {}, `${data.source ? data.source.key : reportKey}: ${data.status}`),
    data.error ? el("p", { class: "status FAILED" }, data.error) : "",
    el("table", { class: "data small" },
      el("thead", {}, el("tr", {}, el("th", {}, "line"), el("th", {}, "item"), el("th", {}, "order"), el("th", {}, "outcome"), el("th", {}, "reasons"))),
      el("tbody", {}, ...(data.orders.length ? data.orders.map((o) => el("tr", { "data-line": o.line },
        el("td", {}, o.line), el("td", {}, o.item ?? ""), el("td", {}, o.orderId ?? ""), el("td", {}, o.outcome), el("td", {}, (o.reasons || []).join("; "))))
        : [el("tr", {}, el("td", { colspan: 5, class: "muted" }, "every order accepted"))]))));
}

async function showDlq(queue) {
  const data = await api("queue-messages?queue=" + encodeURIComponent(queue));
  const box = $("#dlq-messages");
  box.hidden = false;
  box.replaceChildren(el("h3", {}, `Messages in ${queue}`), ...data.messages.map((m) => el("div", { class: "notification", "data-message-id": m.messageId },
    el("div", { class: "meta" }, `${m.messageId} · received ${m.attributes.ApproximateReceiveCount || "?"}× `,
      el("button", { class: "redrive", onclick: () => redrive(queue, m.messageId) }, "redrive to source")),
    el("pre", {}, pretty(m.body)))));
}

async function redrive(queue, messageId) {
  try {
    const moved = await api("redrive", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ queue, messageId }) });
    $("#action-status").textContent = `moved ${moved.moved} from ${moved.from} to ${moved.to}`;
    await showDlq(queue);
  } catch (error) {
    $("#action-status").textContent = "redrive failed: " + error.message;
  }
}

// -- actions, wiring --------------------------------------------------------------------------------

async function placeOrder(event) {
  event.preventDefault();
  const sample = $("#sample").value;
  $("#action-status").textContent = "placing…";
  try {
    const placed = await api("orders", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ sample }) });
    const status = $("#action-status");
    status.textContent = `placed ${placed.orderId} (${sample})`;
    status.dataset.orderId = placed.orderId;
  } catch (error) {
    $("#action-status").textContent = "failed: " + error.message;
  }
}

function showTab(name) {
  state.tab = name;
  for (const button of document.querySelectorAll(".tab")) button.classList.toggle("active", button.dataset.tab === name);
  for (const panel of document.querySelectorAll(".tab-panel")) panel.hidden = panel.id !== name;
  if (name === "resources") { refreshResources().catch(report); refreshImports().catch(report); }
}

function report(error) {
  $("#action-status").textContent = String(error.message || error);
}

async function loadGraph() {
  try {
    state.graph = await api("graph");
    $("#machine-name").textContent = state.graph.stateMachineArn.split(":").pop() + ` · ${state.graph.states.length} states`;
    drawGraph();
  } catch (error) {
    $("#machine-name").textContent = error.message;
    setTimeout(loadGraph, 2000);  // not deployed yet: try again
  }
}

async function start() {
  const overview = await api("overview");
  $("#sample").replaceChildren(...overview.samples.map((s) => el("option", { value: s, selected: s === "normal" ? "" : null }, s)));
  $("#place-order-form").addEventListener("submit", placeOrder);
  for (const button of document.querySelectorAll(".tab")) button.addEventListener("click", () => showTab(button.dataset.tab));
  $("#status-filter").addEventListener("change", () => refreshExecutions().catch(report));
  $("#order-filter").addEventListener("input", () => refreshExecutions().catch(report));
  wireZoomAndPan();
  await loadGraph();
  let busy = false;
  setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      await refreshExecutions();
      if (state.detail && state.detail.execution.status === "RUNNING") await refreshDetail();
      if (state.tab === "resources") { await refreshResources(); await refreshImports(); }
    } catch (error) {
      report(error);
    } finally {
      busy = false;
    }
  }, 1000);
  refreshExecutions().catch(report);
}

start().catch(report);
