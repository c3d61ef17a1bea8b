// The Lab panel: the launcher's lab controls (only on the page when LAB_URL is set). The state
// comes once a second; rows are updated in place so a button never moves under the pointer.
// Everything reaches the page through textContent, never as HTML.
"use strict";

const LAB_URL = document.querySelector('meta[name="lab-url"]').content.replace(/\/+$/, "");
const LAB_EVERY_MS = 1000;
const LAB_TIMEOUT_MS = 5000;

const lab = (id) => document.getElementById(id);
const labRows = new Map();

async function labPost(path) {
  const status = lab("labStatus");
  try {
    const response = await fetch(LAB_URL + path, {
      method: "POST", signal: AbortSignal.timeout(LAB_TIMEOUT_MS),
    });
    const json = await response.json();
    status.textContent = `${new Date().toLocaleTimeString()} ${json.message}`;
  } catch (err) {
    status.textContent = `Error: the lab controls do not answer (${err.message})`;
  }
  refreshLab();
}

function labCell(row, key, text, className) {
  const cell = row.cells[key];
  cell.textContent = text;
  if (className !== undefined) cell.className = className;
}

function labRow(target) {
  let row = labRows.get(target.name);
  if (row) return row;
  row = lab("labTargets").tBodies[0].insertRow();
  row.id = `lab-${target.name}`;
  for (let i = 0; i < 5; i += 1) row.insertCell();
  row.cells[0].textContent = target.kind === "proxy" ? `${target.name} (proxy)` : target.name;
  row.cells[4].className = "failure";
  const actions = row.insertCell();
  for (const action of target.actions) {
    const button = document.createElement("button");
    button.type = "button";
    button.id = `lab-${target.name}-${action}`;
    button.textContent = action;
    button.addEventListener("click", () => labPost(`/lab/${target.name}/${action}`));
    actions.append(button);
  }
  labRows.set(target.name, row);
  return row;
}

const depth = (value) => (value === null || value === undefined ? "–" : String(value));

function showLab(state) {
  for (const target of state.targets) {
    const row = labRow(target);
    labCell(row, 1, target.state, `state-${target.state.split(" ")[0]}`);
    labCell(row, 2, target.pid ?? "");
    labCell(row, 3, target.restarts ?? "");
    labCell(row, 4, target.failure);
  }
  lab("labQueueDepth").textContent = depth(state.queues.listener);
  lab("labDeadDepth").textContent = depth(state.queues.dead);
  lab("labQueueSource").textContent = `depths from ${state.queues.source}`;
  const trickle = state.trickle;
  lab("labSent").textContent = String(trickle.sent);
  lab("labAccepted").textContent = String(trickle.accepted);
  lab("labFailed").textContent = String(trickle.failed);
  lab("labStored").textContent = String(trickle.stored);
  lab("labLast").textContent = trickle.name
    ? `${trickle.running ? "running" : "stopped"}: ${trickle.rate}/s on ${trickle.door} as “${trickle.name}”; last answer ${trickle.last || "none yet"}`
    : "No trickle yet.";
  const doors = lab("labDoor");
  if (!doors.options.length) {
    for (const door of state.doors) doors.add(new Option(door, door));
  }
}

let labTimer = null;
// Only the newest refresh schedules the next one: a click's refresh must not start a second loop.
let labRun = 0;

async function refreshLab() {
  clearTimeout(labTimer);
  labRun += 1;
  const run = labRun;
  try {
    const response = await fetch(`${LAB_URL}/lab/state`, { signal: AbortSignal.timeout(LAB_TIMEOUT_MS) });
    const json = await response.json();
    if (response.ok) showLab(json.data);
    else lab("labStatus").textContent = `Error: ${json.message}`;
  } catch (err) {
    lab("labStatus").textContent = `Error: the lab controls do not answer (${err.message})`;
  }
  if (run === labRun) labTimer = setTimeout(refreshLab, LAB_EVERY_MS);
}

lab("labTrickle").addEventListener("submit", (event) => {
  event.preventDefault();
  const query = new URLSearchParams({ door: lab("labDoor").value || "/log-rabbit", rate: lab("labRate").value });
  labPost(`/lab/trickle?${query}`);
});
lab("labTrickleStop").addEventListener("click", () => labPost("/lab/trickle/stop"));

refreshLab();
