// rumor dashboard: one page over the agent's HTTP API (docs/http-api.md).
// Plain DOM code, no framework and no build step. Every value that comes
// from the cluster is written with textContent, never as HTML.
"use strict";

(() => {
  const MAX_EVENTS = 200;        // entries kept in the event log
  const MEMBERS_GAP_MS = 250;    // at most 4 member refetches a second
  const HEALTH_EVERY_MS = 2000;
  const VIEWS_EVERY_MS = 1000;
  const VIEWS_RETRY_MS = 5000;   // while /v1/views fails for a reason other than 404
  const SELF_RETRY_MS = 5000;
  const STREAM_RETRY_MS = 5000;  // after EventSource gave up for good
  const STATES = ["alive", "suspect", "dead", "left"];
  const EVENT_TYPES = ["join", "leave", "dead", "update", "suspect", "alive", "refute", "broadcast", "message"];
  const PAYLOAD_EVENTS = new Set(["broadcast", "message"]);

  // The token travels in the page's own URL so that a link can carry it;
  // fetch sends it as a header, EventSource (which cannot) as a query.
  const token = new URLSearchParams(location.search).get("token") || "";

  const $ = (id) => document.getElementById(id);
  const collator = new Intl.Collator("en", { numeric: true });
  const byName = (a, b) => collator.compare(a.name, b.name);

  let selfName = "";
  let members = [];
  let rtt = {};

  // ---- HTTP ----

  class HTTPError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(path, init = {}) {
    const headers = new Headers(init.headers || {});
    if (token) headers.set("Authorization", "Bearer " + token);
    const res = await fetch(path, { ...init, headers, cache: "no-store" });
    if (!res.ok) {
      let msg = res.statusText || "HTTP " + res.status;
      try {
        const body = await res.json();
        if (body && body.error) msg = body.error;
      } catch {
        // not an api.Error body: keep the status text
      }
      if (res.status === 401) msg = "unauthorized: open this page with ?token=… (" + msg + ")";
      throw new HTTPError(res.status, msg);
    }
    return res;
  }

  const getJSON = async (path) => (await api(path)).json();

  // Errors are kept per source so that one recovering does not hide another.
  const errors = new Map();
  function setError(source, err) {
    errors.set(source, source + ": " + (err && err.message ? err.message : String(err)));
    showErrors();
  }
  function clearError(source) {
    if (errors.delete(source)) showErrors();
  }
  function showErrors() {
    const box = $("error");
    setText(box, [...errors.values()].join(" · "));
    box.hidden = errors.size === 0;
  }

  // ---- DOM helpers ----

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== undefined && v !== null) e.setAttribute(k, v);
    }
    for (const c of children) {
      if (c !== undefined && c !== null) e.append(c);
    }
    return e;
  }

  // setText writes only on a change, so that live regions do not repeat
  // themselves and selections survive.
  function setText(e, text) {
    if (e.textContent !== text) e.textContent = text;
  }

  function stateBadge(state) {
    const known = STATES.includes(state);
    return el("span", { class: "state " + (known ? "state-" + state : "state-other") }, state || "?");
  }

  function hostPort(addr, port) {
    if (!addr) return "";
    const host = addr.includes(":") ? "[" + addr + "]" : addr;
    return port ? host + ":" + port : host;
  }

  function formatRTT(ms) {
    if (typeof ms !== "number" || !isFinite(ms)) return "—";
    if (ms < 10) return ms.toFixed(2) + " ms";
    if (ms < 100) return ms.toFixed(1) + " ms";
    return Math.round(ms) + " ms";
  }

  const pad = (n) => String(n).padStart(2, "0");
  function clock(t) {
    const d = t ? new Date(t) : new Date();
    const ok = !isNaN(d.getTime());
    const v = ok ? d : new Date();
    return { text: pad(v.getHours()) + ":" + pad(v.getMinutes()) + ":" + pad(v.getSeconds()), iso: v.toISOString() };
  }

  // throttled returns a function that runs fn soon, at most once per gap
  // and never twice at once; calls in between are folded into one run.
  // busy(true) is called when a run is due, busy(false) once none is.
  function throttled(fn, gap, busy) {
    let last = 0;
    let timer = 0;
    let running = false;
    let again = false;
    async function run() {
      timer = 0;
      running = true;
      last = Date.now();
      try {
        await fn();
      } catch (err) {
        console.error(err);
      } finally {
        running = false;
        if (again) {
          again = false;
          schedule();
        } else {
          busy(false);
        }
      }
    }
    function schedule() {
      busy(true);
      if (running) {
        again = true;
        return;
      }
      if (!timer) timer = setTimeout(run, Math.max(0, last + gap - Date.now()));
    }
    return schedule;
  }

  // every runs fn now and then again ms after each run ends, so that a
  // slow agent is never asked twice at once.
  function every(ms, fn) {
    const tick = async () => {
      try {
        await fn();
      } catch (err) {
        console.error(err);
      }
      setTimeout(tick, ms);
    };
    tick();
  }

  // ---- self and members ----

  async function fetchSelf() {
    try {
      const me = await getJSON("/v1/self");
      clearError("self");
      showSelf(me);
      renderMembers(); // to mark this node's row
    } catch (err) {
      setError("self", err);
      setTimeout(fetchSelf, SELF_RETRY_MS);
    }
  }

  function showSelf(me) {
    selfName = me.name;
    setText($("self-name"), me.name);
    setText($("self-addr"), hostPort(me.addr, me.port) + (me.incarnation ? " · incarnation " + me.incarnation : ""));
    document.title = me.name + " · rumor";
  }

  async function fetchMembers() {
    try {
      const list = await getJSON("/v1/members");
      members = Array.isArray(list) ? list.slice().sort(byName) : [];
      clearError("members");
    } catch (err) {
      setError("members", err);
      return;
    }
    renderMembers();
    const me = members.find((m) => m.name === selfName);
    if (me) showSelf(me);
  }
  // data-syncing tells a watcher (the browser tests) whether the table may
  // still change from a refetch already asked for.
  const syncMembers = throttled(fetchMembers, MEMBERS_GAP_MS, (b) => {
    $("members").dataset.syncing = String(b);
  });

  // rowKeys remembers what each row was built from: rows are rebuilt only
  // when their member changed, so a refresh keeps a reader's selection.
  const rowKeys = new WeakMap();

  function memberRow(m, self) {
    const tags = Object.entries(m.tags || {}).sort(([a], [b]) => collator.compare(a, b));
    const chips = tags.length
      ? el("ul", { class: "chips", "aria-label": "tags" },
        ...tags.map(([k, v]) => el("li", { class: "chip", title: k + "=" + v }, k + "=" + v)))
      : el("span", { class: "muted" }, "—");
    return el("tr", { "data-member": m.name, "data-state": m.state, class: self ? "self" : null },
      el("th", { scope: "row" }, m.name, self ? el("span", { class: "you" }, " this node") : null),
      el("td", { class: "mono" }, hostPort(m.addr, m.port)),
      el("td", {}, stateBadge(m.state)),
      el("td", { class: "num" }, String(m.incarnation ?? "")),
      el("td", {}, chips),
      el("td", { class: "num rtt" }),
    );
  }

  function renderMembers() {
    const tbody = $("members").tBodies[0];
    const old = new Map([...tbody.rows].map((r) => [r.dataset.member, r]));
    const rows = members.map((m) => {
      const self = m.name === selfName;
      const key = JSON.stringify([m, self]);
      let tr = old.get(m.name);
      if (!tr || rowKeys.get(tr) !== key) {
        tr = memberRow(m, self);
        rowKeys.set(tr, key);
      }
      setText(tr.querySelector(".rtt"), self ? "—" : formatRTT(rtt[m.name]));
      return tr;
    });
    if (rows.length !== tbody.rows.length || rows.some((r, i) => tbody.rows[i] !== r)) {
      tbody.replaceChildren(...rows);
    }
    $("members-empty").hidden = rows.length > 0;
    setText($("members-empty"), "No members.");

    const counts = Object.fromEntries(STATES.map((s) => [s, 0]));
    for (const m of members) if (m.state in counts) counts[m.state]++;
    for (const li of $("counts").children) {
      setText(li.querySelector(".n"), String(counts[li.dataset.countState] ?? 0));
    }
  }

  // ---- health ----

  async function fetchHealth() {
    let h;
    try {
      h = await getJSON("/v1/health");
      clearError("health");
    } catch (err) {
      setError("health", err);
      return;
    }
    const score = Number(h.score) || 0;
    const box = $("health");
    box.dataset.score = String(score);
    box.dataset.status = h.status || (score > 0 ? "degraded" : "ok");
    box.className = "pill health-" + (score > 0 ? "degraded" : "ok");
    setText(box, box.dataset.status + " · score " + score + " · " + (h.members ?? "?") + " live");
    rtt = h.probe_rtt_ms || {};
    renderMembers();
    // Without the stream nothing else tells us the table went stale.
    if (!streamOpen) syncMembers();
  }

  // ---- event stream ----

  let streamOpen = false;

  function setStream(open, text) {
    streamOpen = open;
    const box = $("stream");
    box.dataset.connected = String(open);
    box.className = "pill " + (open ? "stream-live" : "stream-down");
    setText(box, text);
  }

  // lastEventId is the newest event ID seen, for a stream opened anew;
  // EventSource resumes by itself only within one EventSource.
  let lastEventId = "";

  function connect() {
    const q = new URLSearchParams();
    if (token) q.set("token", token);
    if (lastEventId) q.set("after", lastEventId);
    const es = new EventSource("/v1/events" + (q.size ? "?" + q : ""));
    es.addEventListener("open", () => {
      setStream(true, "live");
      // Events may have been missed while the stream was down.
      syncMembers();
    });
    es.addEventListener("error", () => {
      if (es.readyState === EventSource.CLOSED) {
        // EventSource gives up on an HTTP error status; try again later.
        setStream(false, "disconnected");
        setTimeout(connect, STREAM_RETRY_MS);
      } else {
        setStream(false, "reconnecting…");
      }
    });
    for (const type of EVENT_TYPES) es.addEventListener(type, onEvent);
    es.addEventListener("lost", (e) => {
      let after = null;
      try {
        after = JSON.parse(e.data).after;
      } catch {
        // no api.Lost body: say it without the position
      }
      addLogEntry({ type: "lost", after }, "lost");
      syncMembers();
    });
  }

  function onEvent(e) {
    if (e.lastEventId) lastEventId = e.lastEventId;
    let ev;
    try {
      ev = JSON.parse(e.data);
    } catch {
      ev = { type: e.type, text: String(e.data) };
    }
    const type = ev.type || e.type;
    addLogEntry(ev, type);
    if (!PAYLOAD_EVENTS.has(type)) syncMembers();
  }

  function payloadText(ev) {
    if (ev.text) return "“" + ev.text + "”";
    if (ev.payload) {
      const b64 = String(ev.payload);
      const bytes = Math.floor(b64.length * 3 / 4) - (b64.endsWith("==") ? 2 : b64.endsWith("=") ? 1 : 0);
      return bytes + " bytes of binary";
    }
    return "(empty)";
  }

  function describe(ev, type) {
    const m = ev.member;
    const who = m ? m.name : "?";
    const from = ev.from ? " from " + ev.from : "";
    switch (type) {
      case "join": return who + " joined" + (m && m.addr ? " at " + hostPort(m.addr, m.port) : "");
      case "leave": return who + " left the cluster";
      case "dead": return who + " is dead";
      case "update": return who + " updated its metadata";
      case "suspect": return who + " is suspect" + (ev.from ? " (accused by " + ev.from + ")" : "");
      case "alive": return who + " is alive again";
      case "refute": return who + " refuted a suspicion" + (m ? " (incarnation " + m.incarnation + ")" : "");
      case "broadcast": return "broadcast" + from + ": " + payloadText(ev);
      case "message": return "message" + from + ": " + payloadText(ev);
      case "lost": return "the stream fell behind: events" + (ev.after != null ? " after #" + ev.after : "") + " were missed";
      default: return type;
    }
  }

  function addLogEntry(ev, type) {
    const t = clock(ev.time);
    const li = el("li", { "data-event-type": type, "data-event-id": ev.id != null ? String(ev.id) : null },
      el("time", { datetime: t.iso }, t.text),
      el("span", { class: "badge ev-" + (EVENT_TYPES.includes(type) || type === "lost" ? type : "other") }, type),
      el("span", { class: "what" }, describe(ev, type)),
    );
    const log = $("events");
    log.prepend(li);
    for (let n = log.children.length; n > MAX_EVENTS; n--) log.lastElementChild.remove();
  }

  // ---- broadcast ----

  function setupBroadcast() {
    const form = $("broadcast");
    const input = $("broadcast-text");
    const status = $("broadcast-status");
    const button = form.querySelector("button");
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const text = input.value;
      if (!text) return;
      button.disabled = true;
      status.className = "muted";
      status.textContent = "sending…";
      try {
        await api("/v1/broadcast", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ text }),
        });
        status.textContent = "sent to every member";
        input.value = "";
      } catch (err) {
        status.className = "error-text";
        status.textContent = "not sent: " + err.message;
      } finally {
        button.disabled = false;
      }
    });
  }

  // ---- views (rumor demo only) ----

  async function fetchViews() {
    let views;
    try {
      views = await getJSON("/v1/views");
      clearError("views");
    } catch (err) {
      if (err instanceof HTTPError && err.status === 404) {
        // Not a demo: there is nothing to compare, and never will be.
        $("views-section").dataset.views = "off";
        $("views-section").hidden = true;
        clearError("views");
        return;
      }
      $("views-section").dataset.views = "error";
      setError("views", err);
      setTimeout(fetchViews, VIEWS_RETRY_MS);
      return;
    }
    renderViews(Array.isArray(views) ? views : []);
    setTimeout(fetchViews, VIEWS_EVERY_MS);
  }

  let lastViews = "";

  function renderViews(views) {
    // Views change far less often than once a second: keep the DOM, and
    // any selection in it, when nothing changed.
    const sig = JSON.stringify(views);
    if (sig === lastViews) return;
    lastViews = sig;
    views = views.slice().sort((a, b) => collator.compare(a.node, b.node));
    const tables = views.map((v) => new Map((v.members || []).map((m) => [m.name, m.state])));
    const names = [...new Set(tables.flatMap((t) => [...t.keys()]))].sort(collator.compare);

    // The views agree when every node holds the same (name, state) set.
    const signature = (t) => [...t].map(([n, s]) => n + "=" + s).sort().join("\n");
    const agree = views.length > 0 && tables.every((t) => signature(t) === signature(tables[0]));

    const differing = [];
    const rows = names.map((name) => {
      const states = tables.map((t) => t.get(name) || "");
      const tally = new Map();
      for (const s of states) tally.set(s, (tally.get(s) || 0) + 1);
      const majority = [...tally].sort((a, b) => b[1] - a[1])[0][0];
      if (tally.size > 1) differing.push({ name, states });
      return el("tr", { "data-view-member": name },
        el("th", { scope: "row" }, name),
        ...states.map((s, i) => el("td", {
          "data-view-node": views[i].node,
          "data-view-state": s || "absent",
          class: s !== majority ? "odd" : null,
        }, s ? stateBadge(s) : el("span", { class: "muted", title: "not in this view" }, "absent"))),
      );
    });

    const head = $("views").tHead.rows[0];
    head.replaceChildren(el("th", { scope: "col" }, "Member"), ...views.map((v) => el("th", { scope: "col" }, nodeLink(v))));
    $("views").tBodies[0].replaceChildren(...rows);

    const banner = $("agreement");
    banner.dataset.agree = String(agree);
    banner.className = "banner " + (agree ? "agree" : "differ");
    if (views.length === 0) {
      setText(banner, "no views yet");
    } else if (agree) {
      setText(banner, "all " + views.length + " views agree (" + names.length + " members)");
    } else {
      setText(banner, "views differ: " + summarize(differing, views));
    }
    $("views-section").dataset.views = "on";
    $("views-section").hidden = false;
  }

  // summarize says, for the first few members the views disagree about,
  // which nodes see a state other than the most common one.
  function summarize(differing, views) {
    const shown = differing.slice(0, 4).map(({ name, states }) => {
      const groups = new Map();
      states.forEach((s, i) => {
        const k = s || "absent";
        if (!groups.has(k)) groups.set(k, []);
        groups.get(k).push(views[i].node);
      });
      const [[common, most], ...rest] = [...groups].sort((a, b) => b[1].length - a[1].length);
      const odd = rest.map(([s, nodes]) => s + " on " + nodes.join(", ")).join("; ");
      const others = most.length === 1 ? most[0] : "the other " + most.length;
      return name + " " + odd + " (" + common + " on " + others + ")";
    });
    const more = differing.length - shown.length;
    return shown.join(" · ") + (more > 0 ? " · and " + more + " more" : "");
  }

  function nodeLink(v) {
    if (!v.http) return v.node;
    try {
      const u = new URL(location.protocol + "//" + v.http + "/");
      if (token) u.searchParams.set("token", token);
      return el("a", { href: u.href, title: "this node's dashboard" }, v.node);
    } catch {
      return v.node;
    }
  }

  // ---- start ----

  function start() {
    setupBroadcast();
    fetchSelf();
    syncMembers();
    every(HEALTH_EVERY_MS, fetchHealth);
    fetchViews();
    connect();
  }

  start();
})();
