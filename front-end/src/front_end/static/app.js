// The test page: each button sends one request to the broker and shows what went and came back.
// Everything reaches the page through textContent, never as HTML.
"use strict";

const BROKER_URL = document.querySelector('meta[name="broker-url"]').content.replace(/\/+$/, "");
// Where a trace id links to (the Jaeger UI in compose); empty: the id is shown as text.
const TRACE_UI_URL = document.querySelector('meta[name="trace-ui-url"]').content.replace(/\/+$/, "");
const CALL_TIMEOUT_MS = 15000;
const LOG_LIMIT = 20;
// The listener writes RabbitMQ entries after the broker answers: look again a moment later.
const LATE_REFRESH_MS = 1500;

const $ = (id) => document.getElementById(id);

const pretty = (value) => JSON.stringify(value, null, 2);

// The call's trace: a link to the trace UI when there is one, else the id as text and how to get one.
function traceElement(traceId) {
  const trace = document.createElement(TRACE_UI_URL ? "a" : "span");
  trace.className = "trace";
  trace.textContent = `trace ${traceId}`;
  trace.title = TRACE_UI_URL
    ? "the call's trace id (X-Trace-Id)"
    : "the call's trace id (X-Trace-Id); set TRACE_UI_URL to a Jaeger UI to link it (see below)";
  if (TRACE_UI_URL) {
    trace.href = `${TRACE_UI_URL}/trace/${encodeURIComponent(traceId)}`;
    trace.target = "_blank";
    trace.rel = "noopener noreferrer";
  }
  return trace;
}

function addOutputLine(text, isError, door, ms, traceId, status) {
  const output = $("output");
  output.querySelector(".placeholder")?.remove();
  const item = document.createElement("li");
  item.className = isError ? "error" : "ok";
  const line = document.createElement("span");
  line.className = "line";
  line.textContent = text;
  const meta = document.createElement("span");
  meta.className = "took";
  meta.textContent = `${door} · ${ms} ms`;
  item.append(line);
  if (status) {
    const code = document.createElement("span");
    code.className = "status";
    code.textContent = String(status);
    item.append(code);
  }
  item.append(meta);
  if (traceId) item.append(traceElement(traceId));
  output.append(item);
  item.scrollIntoView({ block: "nearest" });
}

function show(id, text) {
  const pane = $(id);
  pane.classList.remove("muted");
  pane.textContent = text;
}

async function readBody(response) {
  const text = await response.text();
  try {
    return { json: JSON.parse(text), text };
  } catch {
    return { json: null, text };
  }
}

// One call to the broker: shows Sent, Received and an Output line with the time it took.
async function callBroker(door, path, body) {
  show("payload", body === undefined ? "(empty POST request)" : pretty(body));
  const init = { method: "POST", signal: AbortSignal.timeout(CALL_TIMEOUT_MS) };
  if (body !== undefined) {
    init.headers = { "Content-Type": "application/json" };
    init.body = JSON.stringify(body);
  }
  const started = performance.now();
  let response;
  try {
    response = await fetch(BROKER_URL + path, init);
  } catch (err) {
    const ms = Math.round(performance.now() - started);
    const why = err.name === "TimeoutError"
      ? `the broker did not answer within ${CALL_TIMEOUT_MS / 1000} s`
      : `cannot reach the broker at ${BROKER_URL} (${err.message})`;
    show("received", why);
    addOutputLine(`Error: ${why}`, true, door, ms);
    return false;
  }
  const { json, text } = await readBody(response);
  const ms = Math.round(performance.now() - started);
  show("received", json === null ? text : pretty(json));
  const ok = response.ok && json !== null && json.error !== true;
  const message = json !== null && typeof json.message === "string"
    ? json.message
    : `HTTP ${response.status} ${response.statusText}`.trim();
  // The broker names the call's trace in X-Trace-Id (exposed to this page by CORS).
  const traceId = /^[0-9a-f]{32}$/.test(response.headers.get("X-Trace-Id") ?? "")
    ? response.headers.get("X-Trace-Id")
    : null;
  addOutputLine(
    ok ? `Response from broker service: ${message}` : `Error: ${message}`, !ok, door, ms, traceId,
    response.status,
  );
  return ok;
}

function logEntryItem(entry) {
  const item = document.createElement("li");
  const when = document.createElement("time");
  when.dateTime = entry.created_at ?? "";
  when.textContent = entry.created_at ? new Date(entry.created_at).toLocaleString() : "";
  const name = document.createElement("span");
  name.className = "name";
  name.textContent = entry.name ?? "";
  const data = document.createElement("span");
  data.className = "data";
  data.textContent = entry.data ?? "";
  item.append(when, name, data);
  return item;
}

async function refreshLogs() {
  const name = $("logFilter").value.trim();
  const query = new URLSearchParams({ limit: String(LOG_LIMIT) });
  if (name) query.set("name", name);
  const status = $("logStatus");
  try {
    const response = await fetch(`${BROKER_URL}/logs?${query}`, {
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
    const { json, text } = await readBody(response);
    if (!response.ok || json === null || !Array.isArray(json.data)) {
      status.textContent = `Error: ${json?.message ?? text ?? response.status}`;
      return;
    }
    $("logList").replaceChildren(...json.data.map(logEntryItem));
    const shown = json.data.length;
    status.textContent = shown
      ? `${shown} newest ${name ? `“${name}” ` : ""}entr${shown === 1 ? "y" : "ies"}`
      : `No entries${name ? ` named “${name}”` : ""} yet.`;
  } catch (err) {
    status.textContent = `Error: cannot load the log entries (${err.message})`;
  }
}

const LOG = (data) => ({ action: "log", log: { name: "event", data } });

// Element id → [door shown in Output, path, body (undefined = empty POST), refresh the log view?]
const BUTTONS = {
  brokerBtn: ["broker", "/", undefined, false],
  authBrokerBtn: ["auth", "/handle",
    { action: "auth", auth: { email: "admin@example.com", password: "verysecret" } }, false],
  mailBtn: ["mail", "/handle", {
    action: "mail",
    mail: { from: "me@example.com", to: "you@there.com", subject: "Test email", message: "Hello world!" },
  }, false],
  logBtn: ["log action (RPC)", "/handle", LOG("Some kind of data"), true],
  logGBtn: ["gRPC", "/log-grpc", LOG("Some kind of gRPC data"), true],
  logHttpBtn: ["HTTP", "/log-http", LOG("Some kind of HTTP data"), true],
  logRpcBtn: ["RPC", "/log-rpc", LOG("Some kind of RPC data"), true],
  logRabbitBtn: ["RabbitMQ", "/log-rabbit", LOG("Some kind of RabbitMQ data"), true],
};

for (const [id, [door, path, body, refresh]] of Object.entries(BUTTONS)) {
  $(id).addEventListener("click", async () => {
    const ok = await callBroker(door, path, body);
    if (ok && refresh) {
      await refreshLogs();
      if (path === "/log-rabbit") setTimeout(refreshLogs, LATE_REFRESH_MS);
    }
  });
}

$("logForm").addEventListener("submit", (event) => {
  event.preventDefault();
  refreshLogs();
});

refreshLogs();
