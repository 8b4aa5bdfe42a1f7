// The run page: draws the pinned definition's layout as SVG, colours each step from /state,
// and refreshes on every event of the run's SSE stream. No framework, no build step.
// Everything from the run (names, outputs, errors) is set as text, never parsed as HTML.
"use strict";
(function () {
  const boot = JSON.parse(document.body.dataset.boot);
  const base = boot.base;
  const SVG = "http://www.w3.org/2000/svg";
  const EVENTS = ["run.started", "run.phase", "run.paused", "run.resumed", "run.cancel_requested",
    "run.finished", "run.continued_as_new", "step.started", "step.completed", "step.failed",
    "step.cancelled", "branch.started", "branch.completed", "branch.failed", "task.opened",
    "task.answered", "task.escalated", "task.closed"];
  const nodes = new Map();
  let selected = null;
  let lastState = null;
  let refreshTimer = null;
  let refreshing = false;
  let again = false;

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  async function getJson(path) {
    const response = await fetch(base + path, { credentials: "same-origin" });
    if (!response.ok) throw new Error(await reason(response));
    return response.json();
  }

  async function reason(response) {
    try {
      const body = await response.json();
      return typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
    } catch (e) {
      return response.status + " " + response.statusText;
    }
  }

  function clip(text, n) {
    return text.length > n ? text.slice(0, n - 1) + "…" : text;
  }

  // --- the graph ------------------------------------------------------------------------

  function draw(graph) {
    const layout = graph.layout;
    document.getElementById("segment-name").textContent = graph.name || graph.segment_id;
    document.title = (graph.name || graph.segment_id) + " · " + boot.run_id;
    const root = document.getElementById("graph");
    root.setAttribute("width", layout.width);
    root.setAttribute("height", layout.height);
    root.setAttribute("viewBox", "0 0 " + layout.width + " " + layout.height);
    const defs = svg("defs");
    const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "9", refY: "5",
      markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" });
    marker.appendChild(svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#9aa3b2" }));
    defs.appendChild(marker);
    const frag = document.createDocumentFragment();
    frag.appendChild(defs);
    for (const region of layout.regions) {
      const g = svg("g", { class: "region", "data-region": region.id });
      g.appendChild(svg("rect", { x: region.x, y: region.y, width: region.w, height: region.h }));
      g.appendChild(svg("text", { x: region.x + 8, y: region.y + 13 }, region.label));
      frag.appendChild(g);
    }
    for (const edge of layout.edges) {
      const d = edge.points.map((p, i) => (i ? "L" : "M") + p[0] + "," + p[1]).join(" ");
      const cls = "edge" + (edge.back ? " back" : "") + (edge.port === "error" ? " error" : "");
      frag.appendChild(svg("path", { d: d, class: cls, "marker-end": "url(#arrow)",
        "data-source": edge.source, "data-target": edge.target, "data-port": edge.port }));
      if (edge.label) {
        const mid = edge.points[Math.floor(edge.points.length / 2)];
        const prev = edge.points[Math.floor(edge.points.length / 2) - 1] || mid;
        frag.appendChild(svg("text", { class: "edge-label", x: (mid[0] + prev[0]) / 2 + 4,
          y: (mid[1] + prev[1]) / 2 - 3 }, edge.label));
      }
    }
    for (const box of layout.nodes) {
      const g = svg("g", { class: "node", "data-step": box.id, "data-type": box.type,
        "data-state": "pending", transform: "translate(" + box.x + "," + box.y + ")", tabindex: "0" });
      g.appendChild(svg("title", {}, box.label + " (" + box.type + ")"));
      g.appendChild(svg("rect", { class: "box", width: box.w, height: box.h }));
      g.appendChild(svg("text", { class: "name", x: 10, y: 21 }, clip(box.label, 22)));
      g.appendChild(svg("text", { class: "type", x: 10, y: 39 }, box.type));
      const badge = svg("g", { class: "badge-group", transform: "translate(" + (box.w - 30) + ",8)" });
      badge.appendChild(svg("rect", { class: "badge", width: 24, height: 16, rx: 8 }));
      const visits = svg("text", { class: "visits", x: 12, y: 12, "text-anchor": "middle" }, "");
      badge.appendChild(visits);
      badge.style.display = "none";
      g.appendChild(badge);
      g.addEventListener("click", () => select(box.id));
      g.addEventListener("keydown", (e) => { if (e.key === "Enter") select(box.id); });
      nodes.set(box.id, { g: g, visits: visits, badge: badge });
      frag.appendChild(g);
    }
    root.appendChild(frag);
  }

  // --- state ----------------------------------------------------------------------------

  function apply(state) {
    lastState = state;
    const phase = document.getElementById("phase");
    const shown = state.finished && state.temporal_status !== "completed" && state.phase === "running"
      ? state.temporal_status : (state.phase || state.temporal_status);
    phase.textContent = shown;
    phase.dataset.phase = shown;
    document.getElementById("web-ui").href = state.web_ui;
    document.getElementById("user").textContent = state.user ? "answering as " + state.user : "view only";
    for (const [stepId, info] of Object.entries(state.steps)) {
      const node = nodes.get(stepId);
      if (!node) continue;
      node.g.dataset.state = info.state;
      node.g.dataset.visits = info.visits;
      node.visits.textContent = info.visits ? String(info.visits) : "";
      node.badge.style.display = info.visits ? "" : "none";
    }
    const errorBox = document.getElementById("run-error");
    errorBox.hidden = !state.error;
    document.getElementById("run-error-text").textContent = state.error || "";
    renderTasks(state);
    if (selected) select(selected, true);
    document.body.dataset.phase = shown;
  }

  async function refresh() {
    if (refreshing) { again = true; return; }
    refreshing = true;
    try {
      apply(await getJson("/state"));
    } catch (e) {
      document.getElementById("phase").textContent = "unavailable: " + e.message;
    } finally {
      refreshing = false;
      if (again) { again = false; scheduleRefresh(); }
    }
  }

  function scheduleRefresh() {
    if (refreshTimer) return;
    refreshTimer = setTimeout(() => { refreshTimer = null; refresh(); }, 150);
  }

  // --- tasks ----------------------------------------------------------------------------

  function renderTasks(state) {
    const list = document.getElementById("task-list");
    const keep = new Map();
    for (const item of list.querySelectorAll(".task")) keep.set(item.dataset.task, item);
    list.replaceChildren();
    if (!state.open_tasks.length) list.appendChild(el("p", { class: "muted" }, "none"));
    for (const task of state.open_tasks) {
      const previous = keep.get(task.task_id);
      list.appendChild(previous && previous.dataset.level === String(task.level) ? previous : taskCard(task, state));
    }
  }

  function taskCard(task, state) {
    const card = el("div", { class: "task", "data-task": task.task_id, "data-level": String(task.level) });
    card.appendChild(el("div", { class: "title" }, task.title || task.task_id));
    if (task.description) card.appendChild(el("div", {}, task.description));
    const who = task.assignee || (task.assignee_group || []).join(", ") || "anyone";
    const meta = el("div", { class: "meta" });
    meta.appendChild(document.createTextNode(task.kind + " · step " + task.step_id + " · assignee "));
    meta.appendChild(el("span", { class: "assignee" }, who));
    if (task.deadline) {
      meta.appendChild(document.createTextNode(" · due "));
      meta.appendChild(el("time", { class: "deadline", datetime: task.deadline },
        new Date(task.deadline).toLocaleString()));
    }
    if (task.priority) meta.appendChild(document.createTextNode(" · " + task.priority));
    card.appendChild(meta);
    if (!state.user) {
      card.appendChild(el("div", { class: "muted" },
        "View only: open the page with `segments open " + boot.run_id + " --as NAME` to answer."));
      return card;
    }
    const comment = el("input", { class: "comment", placeholder: "comment (optional)", maxlength: "2000" });
    const outcome = el("div", { class: "outcome" });
    let data = null;
    if (task.kind === "input" || task.kind === "review") {
      data = el("textarea", { class: "data", rows: "4", placeholder: "answer as JSON, e.g. {\"po\": \"PO-7\"}" });
      card.appendChild(data);
    }
    card.appendChild(comment);
    const send = (answer) => submit(task, answer, comment, data, outcome);
    if (task.kind === "approval") {
      card.appendChild(button("approve", "Approve", () => send({ decision: "approve" })));
      card.appendChild(button("reject", "Reject", () => send({ decision: "reject" })));
    } else if (task.kind === "choice") {
      for (const option of task.options || []) {
        const id = typeof option === "string" ? option : option.id;
        const label = typeof option === "string" ? option : (option.label || option.id);
        card.appendChild(button("choose", label, () => send({ option: id }), id));
      }
    } else {
      card.appendChild(button("answer", "Submit", () => send({})));
      if (task.kind === "review") {
        card.appendChild(button("approve", "Approve", () => send({ decision: "approve" })));
        card.appendChild(button("reject", "Reject", () => send({ decision: "reject" })));
      }
    }
    card.appendChild(outcome);
    return card;
  }

  function button(action, label, onClick, option) {
    const b = el("button", { type: "button", "data-action": action }, label);
    if (option !== undefined) b.dataset.option = option;
    b.addEventListener("click", onClick);
    return b;
  }

  async function submit(task, answer, comment, data, outcome) {
    outcome.className = "outcome";
    outcome.textContent = "sending…";
    const body = Object.assign({}, answer);
    if (comment.value) body.comment = comment.value;
    if (data && data.value.trim()) {
      try { body.data = JSON.parse(data.value); } catch (e) {
        outcome.className = "outcome refusal";
        outcome.textContent = "the answer is not JSON: " + e.message;
        return;
      }
    }
    const response = await fetch(base + "/tasks/" + encodeURIComponent(task.task_id), {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-Segments-UI": "1" },
      body: JSON.stringify(body),
    });
    if (response.ok) {
      outcome.className = "outcome answered";
      outcome.textContent = "answered";
      scheduleRefresh();
    } else {
      outcome.className = "outcome refusal";
      outcome.textContent = "refused: " + await reason(response);
    }
  }

  // --- the side panel ---------------------------------------------------------------------

  async function select(stepId, quiet) {
    if (selected && nodes.get(selected)) nodes.get(selected).g.classList.remove("selected");
    selected = stepId;
    nodes.get(stepId).g.classList.add("selected");
    const box = document.getElementById("step-detail");
    if (!quiet) box.replaceChildren(el("p", { class: "muted" }, "loading…"));
    let detail;
    try {
      detail = await getJson("/steps/" + encodeURIComponent(stepId));
    } catch (e) {
      box.replaceChildren(el("p", { class: "refusal" }, e.message));
      return;
    }
    if (selected !== stepId) return;
    box.replaceChildren(renderDetail(detail));
  }

  function pair(dl, term, value) {
    if (value === undefined || value === null || value === "") return;
    dl.appendChild(el("dt", {}, term));
    dl.appendChild(el("dd", {}, value));
  }

  function duration(from, to) {
    if (!from || !to) return "";
    const ms = new Date(to) - new Date(from);
    return ms < 1000 ? ms + " ms" : (ms / 1000).toFixed(1) + " s";
  }

  function renderDetail(detail) {
    const out = el("div", { class: "step", "data-step": detail.step_id });
    const info = (lastState && lastState.steps[detail.step_id]) || { state: "pending", visits: 0, instances: [] };
    out.appendChild(el("h3", {}, detail.name));
    const dl = el("dl");
    pair(dl, "step", detail.step_id);
    pair(dl, "type", detail.type);
    pair(dl, "state", info.state);
    pair(dl, "visits", String(info.visits));
    out.appendChild(dl);
    out.appendChild(el("div", { class: "muted" }, "config (as defined)"));
    out.appendChild(el("pre", { class: "config" }, JSON.stringify(detail.config, null, 2)));
    for (const visit of detail.visits) {
      const v = el("div", { class: "visit" });
      const vd = el("dl");
      pair(vd, "visit", (visit.task_path || "") + "#" + visit.visit + (visit.attempt > 1 ? " (attempt " + visit.attempt + ")" : ""));
      pair(vd, "started", visit.started_at || visit.scheduled_at);
      pair(vd, "finished", visit.finished_at);
      pair(vd, "took", duration(visit.started_at || visit.scheduled_at, visit.finished_at));
      v.appendChild(vd);
      if (visit.input) { v.appendChild(el("div", { class: "muted" }, "input")); v.appendChild(el("pre", { class: "input" }, visit.input)); }
      if (visit.output) { v.appendChild(el("div", { class: "muted" }, "output")); v.appendChild(el("pre", { class: "output" }, visit.output)); }
      if (visit.error) { v.appendChild(el("div", { class: "muted" }, "error")); v.appendChild(el("pre", { class: "error refusal" }, visit.error)); }
      out.appendChild(v);
    }
    if (!detail.visits.length) {
      for (const record of detail.records) {
        const v = el("div", { class: "visit" });
        const vd = el("dl");
        pair(vd, "visit", (record.task_path || "") + "#" + record.visit);
        pair(vd, "port", record.port);
        pair(vd, "finished", record.finished_at);
        v.appendChild(vd);
        out.appendChild(v);
      }
    }
    for (const running of detail.running) {
      out.appendChild(el("div", { class: "visit" }, "running since " + running.started_at));
    }
    for (const task of detail.closed_tasks) {
      out.appendChild(el("div", { class: "visit" }, "task " + task.task_id + ": " + task.status +
        (task.responder ? " by " + task.responder : "") + (task.decision ? " (" + task.decision + ")" : "") +
        (task.option ? " (" + task.option + ")" : "")));
    }
    if (info.instances && info.instances.length) {
      out.appendChild(el("div", { class: "muted" }, "in branches"));
      const ul = el("ul", { class: "instances" });
      for (const inst of info.instances) {
        ul.appendChild(el("li", { "data-path": inst.task_path }, inst.task_path + " " + inst.state + " ×" + inst.visits));
      }
      out.appendChild(ul);
    }
    if (detail.branches.length) {
      out.appendChild(el("div", { class: "muted" },
        detail.type === "subworkflow" ? "runs of the subworkflow" : "branches (child workflows)"));
      const ul = el("ul", { class: "instances branches" });
      for (const branch of detail.branches) {
        const li = el("li", { "data-branch": branch.workflow_id });
        const a = el("a", { href: branch.web_ui, target: "_blank", rel: "noopener" }, branch.workflow_id);
        li.appendChild(a);
        li.appendChild(document.createTextNode(" " + (branch.phase || branch.state)));
        if (branch.steps) {  // a subworkflow's run: its own steps, in place
          const inner = el("ul", { class: "instances substeps" });
          for (const s of branch.steps) {
            inner.appendChild(el("li", { "data-step": s.step_id }, s.step_id + " #" + s.visit + " → " + s.port));
          }
          li.appendChild(inner);
        }
        ul.appendChild(li);
      }
      out.appendChild(ul);
    }
    return out;
  }

  // --- live updates -------------------------------------------------------------------------

  function listen() {
    const live = document.getElementById("live");
    const source = new EventSource(base + "/events");
    source.onopen = () => live.classList.add("on");
    source.onerror = () => live.classList.remove("on");
    for (const type of EVENTS) {
      source.addEventListener(type, () => {
        scheduleRefresh();
        if (type === "run.finished") { source.close(); live.classList.remove("on"); }
      });
    }
  }

  // A link from `segments open` carries its ticket in the fragment (never sent to any server by
  // the browser); it is exchanged once for the page's session cookie and removed from the URL.
  async function login() {
    const match = /(?:^#|&)ticket=([^&]+)/.exec(location.hash);
    if (!match) return;
    history.replaceState(null, "", location.pathname);
    const response = await fetch(base + "/session", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-Segments-UI": "1" },
      body: JSON.stringify({ ticket: decodeURIComponent(match[1]) }),
    });
    if (!response.ok) throw new Error(await reason(response));
  }

  async function start() {
    // The graph is drawn as soon as it arrives; states fill in when /state answers (for a run
    // that has ended, that is a worker replaying its history once).
    const t0 = performance.now();
    try {
      await login();
      const state = getJson("/state");
      state.catch(() => {});
      draw(await getJson("/graph"));
      document.body.dataset.drawnMs = String(Math.round(performance.now() - t0));
      document.body.dataset.drawn = "1";
      apply(await state);
      document.body.dataset.loadMs = String(Math.round(performance.now() - t0));
      document.body.dataset.ready = "1";
      if (!lastState.finished) listen();
    } catch (e) {
      const phase = document.getElementById("phase");
      phase.textContent = "cannot load: " + e.message;
      phase.dataset.phase = "error";
      document.body.dataset.ready = "error";
    }
  }

  start();
})();
