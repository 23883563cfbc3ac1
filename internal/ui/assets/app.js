// skiff's dashboard. It follows the session's events (/v2/events as
// server-sent events, replayed from the session's start on every
// connection) and reduces them into rows here, in the browser; it reads
// /v2/state for the auto switches and drives the loop with /v2/execute
// and /v2/{build,sync,deploy}/auto_execute. Standard DOM APIs only.
'use strict';

const maxLogLines = 5000;
// maxOutputLines is how much of a failed build's output its row shows.
const maxOutputLines = 40;
let model = fresh();

// fresh is the model before any event: the page starts over from it on
// each (re)connection, as the stream replays the session from its start.
function fresh() {
  return {
    meta: '',
    artifacts: new Map(), // image name -> {name, state, reason, build, sync, builds, syncs, started}
    workloads: new Map(), // "deployment/web" -> {name, state, reason, pods: Set, ports: []}
    ports: new Map(), // local port -> portEvent
    pods: new Map(), // pod name -> its last podEvent
    debugging: new Map(), // workload id (deployment.apps/web) -> debuggingContainerEvent
    logs: [], // {pod, container, text}
    sync: null, // {artifact, started} of the sync running
    deploy: null, // the last deploy: {state, took, at, reason}
    deployStarted: 0,
    error: null, // the last failed task: {task, message}
  };
}

function artifact(name) {
  let a = model.artifacts.get(name);
  if (!a) {
    a = {name, state: 'pending', reason: '', build: null, sync: null, builds: 0, syncs: 0, started: 0, output: []};
    model.artifacts.set(name, a);
  }
  return a;
}

function workload(name) {
  let w = model.workloads.get(name);
  if (!w) {
    w = {name, state: 'deploying', reason: '', pods: new Set()};
    model.workloads.set(name, w);
    // Pods seen before their workload's first status.
    for (const p of model.pods.keys()) addPod(p);
  }
  return w;
}

// workloadOf is the workload a pod belongs to, by its name: web-5d8f-x2x
// (deployment/web), db-0 (statefulset/db), web (container/web); the
// longest match wins.
function workloadOf(pod) {
  let best = null;
  for (const w of model.workloads.values()) {
    const short = w.name.slice(w.name.indexOf('/') + 1);
    if ((pod === short || pod.startsWith(short + '-')) && (!best || short.length > best.short)) {
      best = {w, short: short.length};
    }
  }
  return best && best.w;
}

function errText(err) {
  if (!err) return '';
  const advice = (err.suggestions || []).map((s) => s.action).filter(Boolean);
  return [err.message, ...advice].join('\n');
}

// apply changes the model by one event (Skaffold's proto.v2.Event).
function apply(e) {
  const at = Date.parse(e.timestamp) || Date.now();
  if (e.metaEvent) {
    model.meta = e.metaEvent.entry;
  } else if (e.taskEvent) {
    applyTask(e.taskEvent, at);
  } else if (e.buildSubtaskEvent) {
    const b = e.buildSubtaskEvent;
    const a = artifact(b.artifact);
    if (b.status === 'InProgress') {
      a.state = 'building';
      a.reason = '';
      a.started = at;
      a.builds++;
      a.output = [];
    } else {
      const ok = b.status === 'Succeeded';
      a.state = ok ? 'built' : 'failed';
      a.reason = ok ? '' : errText(b.actionableErr);
      a.build = {ok, took: (b.durationNanos || 0) / 1e6 || at - a.started, at, image: b.image || '', cached: b.step === 'Cache'};
    }
  } else if (e.skaffoldLogEvent) {
    // A line of an artifact's build output: the compiler's messages.
    const l = e.skaffoldLogEvent;
    if ((l.task_id || '').startsWith('Build') && l.subtask_id) {
      const a = artifact(l.subtask_id);
      a.output.push(l.message);
      if (a.output.length > maxOutputLines) a.output.shift();
    }
  } else if (e.deploySubtaskEvent) {
    const d = e.deploySubtaskEvent;
    if (d.status === 'InProgress') {
      model.deployStarted = at;
      model.deploy = {state: 'deploying', took: 0, at, reason: ''};
    } else {
      model.deploy = {state: d.status === 'Succeeded' ? 'healthy' : 'failed', took: (d.durationNanos || 0) / 1e6 || at - model.deployStarted, at, reason: errText(d.actionableErr)};
    }
  } else if (e.statusCheckSubtaskEvent) {
    const c = e.statusCheckSubtaskEvent;
    const w = workload(c.resource);
    w.state = {Succeeded: 'healthy', Failed: 'failed'}[c.status] || 'deploying';
    w.reason = [c.message, errText(c.actionableErr)].filter(Boolean).filter((m, i, all) => all.indexOf(m) === i).join('\n');
    if (c.status === 'Succeeded') w.reason = '';
  } else if (e.portEvent) {
    model.ports.set(e.portEvent.localPort, e.portEvent);
  } else if (e.fileSyncEvent) {
    const f = e.fileSyncEvent;
    const a = artifact(f.image);
    const ok = f.status !== 'Failed';
    a.syncs++;
    a.sync = {ok, files: f.files || [], count: f.fileCount || 0, pods: f.pods || [], at, took: model.sync ? at - model.sync.started : null};
    a.state = ok ? 'synced' : 'failed';
    a.reason = ok ? '' : errText(f.actionableErr);
    for (const p of a.sync.pods) addPod(p);
    model.sync = null;
  } else if (e.debuggingContainerEvent) {
    const d = e.debuggingContainerEvent;
    if (d.status === 'Terminated') model.debugging.delete(d.id);
    else model.debugging.set(d.id, d);
  } else if (e.podEvent) {
    const p = e.podEvent;
    if (p.deleted) {
      model.pods.delete(p.podName);
      for (const w of model.workloads.values()) w.pods.delete(p.podName);
    } else {
      model.pods.set(p.podName, p);
      addPod(p.podName);
    }
  } else if (e.applicationLogEvent) {
    const l = e.applicationLogEvent;
    addPod(l.podName);
    model.logs.push({pod: l.podName || '', container: l.containerName || '', text: l.message});
  }
}

function addPod(pod) {
  const w = pod && workloadOf(pod);
  if (w) w.pods.add(pod);
}

function applyTask(t, at) {
  // The banner names the phase that failed, not the DevLoop it failed.
  if (t.status === 'Failed' && !(t.task === 'DevLoop' && model.error)) {
    model.error = {task: t.task, message: errText(t.actionableErr)};
  }
  if (t.task === 'DevLoop' && t.status === 'InProgress') {
    model.error = null;
  }
  if (t.task === 'Deploy' && t.status === 'InProgress') {
    // A deploy starts the workloads, their pods and ports afresh, as
    // /v2/state does.
    // Pods skiff follows (podEvent) stay until they go; the others (known
    // from log lines or syncs only) until they show up again.
    for (const w of model.workloads.values()) {
      w.state = 'deploying';
      w.reason = '';
      for (const p of w.pods) {
        if (!model.pods.has(p)) w.pods.delete(p);
      }
    }
    model.ports.clear();
    model.debugging.clear();
  }
  if (t.task === 'Sync' && t.status === 'InProgress') {
    // "Syncing 1 file to IMAGE"
    const i = (t.description || '').lastIndexOf(' to ');
    const name = i >= 0 ? t.description.slice(i + 4) : '';
    model.sync = {artifact: name, started: at};
    if (model.artifacts.has(name)) artifact(name).state = 'syncing';
  }
  if (t.task === 'Sync' && t.status !== 'InProgress' && model.sync) {
    const a = model.artifacts.get(model.sync.artifact);
    if (a && a.state === 'syncing') a.state = a.build && !a.build.ok ? 'failed' : 'built';
    model.sync = null;
  }
}

// ---------------------------------------------------------------- view

const $ = (sel) => document.querySelector(sel);

function el(tag, attrs, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') n.className = v;
    else if (k.startsWith('on')) n.addEventListener(k.slice(2), v);
    else n.setAttribute(k, v);
  }
  for (const c of children) {
    if (c !== null && c !== undefined && c !== '') n.append(c);
  }
  return n;
}

function duration(ms) {
  if (ms === null || ms === undefined || !isFinite(ms)) return '';
  if (ms < 1000) return Math.round(ms) + ' ms';
  if (ms < 60000) return (ms / 1000).toFixed(1) + ' s';
  const s = Math.round(ms / 1000);
  return Math.floor(s / 60) + 'm' + String(s % 60).padStart(2, '0') + 's';
}

function clock(at) {
  return new Date(at).toLocaleTimeString([], {hour12: false});
}

// shortFiles names up to 3 files by their last two path elements
// (kodata/index.html); the row's title has them whole.
function shortFiles(files) {
  const short = files.slice(0, 3).map((f) => f.split('/').slice(-2).join('/'));
  return short.join(', ') + (files.length > 3 ? ', …' : '');
}

function plural(n, word) {
  return n + ' ' + word + (n === 1 ? '' : 's');
}

function stateCell(state, reason, output) {
  return el('td', {}, el('span', {class: 'state'}, state),
    reason ? el('pre', {class: 'reason'}, reason) : null,
    output && output.length ? el('pre', {class: 'output'}, output.join('\n')) : null);
}

function artifactRow(a) {
  let build = '';
  if (a.build) {
    build = (a.build.ok ? (a.build.cached ? 'from the cache' : 'built') : 'failed') + ' in ' + duration(a.build.took) + ' at ' + clock(a.build.at);
  }
  let sync = '';
  if (a.sync) {
    sync = (a.sync.ok ? 'synced ' : 'failed to sync ') + plural(a.sync.count, 'file') +
      (a.sync.files.length ? ' (' + shortFiles(a.sync.files) + ')' : '') +
      (a.sync.pods.length ? ' to ' + plural(a.sync.pods.length, 'pod') : '') +
      (a.sync.took !== null ? ' in ' + duration(a.sync.took) : '') + ' at ' + clock(a.sync.at);
  }
  return el('tr', {'data-artifact': a.name, 'data-state': a.state, 'data-builds': a.builds, 'data-syncs': a.syncs},
    el('td', {class: 'name'}, a.name, a.build && a.build.image ? el('div', {class: 'detail'}, a.build.image) : null),
    stateCell(a.state, a.reason, a.state === 'failed' && a.build && !a.build.ok ? a.output : null),
    el('td', {class: 'build'}, build),
    el('td', {class: 'sync', title: a.sync ? a.sync.files.join('\n') : ''}, sync),
    el('td', {class: 'actions'},
      el('button', {class: 'rebuild', 'data-artifact': a.name, title: 'POST /v2/execute {build: true}', onclick: () => execute({build: true})}, 'Rebuild'), ' ',
      el('button', {class: 'sync-now', 'data-artifact': a.name, title: 'POST /v2/execute {sync: true}', onclick: () => execute({sync: true})}, 'Sync')));
}

function workloadRow(w) {
  const short = w.name.slice(w.name.indexOf('/') + 1);
  const ports = [...model.ports.values()].filter((p) => p.resourceName === short || p.podName && w.pods.has(p.podName));
  const deploy = model.deploy && model.deploy.state !== 'deploying' ? (model.deploy.state === 'failed' ? 'failed' : 'done') + ' in ' + duration(model.deploy.took) + ' at ' + clock(model.deploy.at) : (model.deploy ? 'deploying since ' + clock(model.deploy.at) : '');
  return el('tr', {'data-workload': w.name, 'data-state': w.state},
    el('td', {class: 'name'}, w.name, ...debugLines(short)),
    stateCell(w.state, w.reason),
    el('td', {}, deploy),
    el('td', {class: 'pods'}, ...[...w.pods].sort().map(podLine)),
    el('td', {class: 'ports'}, ...ports.map((p) => {
      const url = 'http://' + (p.address || '127.0.0.1') + ':' + p.localPort + '/';
      return el('div', {}, el('a', {href: url, target: '_blank', rel: 'noopener'}, url), el('span', {class: 'detail'}, ' → ' + (p.targetPort.intVal || p.targetPort.strVal || '')));
    })),
    el('td', {class: 'actions'}, el('button', {class: 'show-logs', onclick: () => { $('#log-source').value = w.name; renderLogs(true); }}, 'Logs')));
}

// debugLines say which containers of the workload named short skiff debug
// set up for a debugger: the runtime and the debug ports.
function debugLines(short) {
  return [...model.debugging.values()]
    .filter((d) => d.id.slice(d.id.indexOf('/') + 1) === short)
    .map((d) => el('div', {class: 'detail debugging'}, 'debug ' + d.containerName + ': ' + d.runtime +
      Object.entries(d.debugPorts || {}).map(([name, port]) => ', ' + name + ' ' + port).join('')));
}

// podLine is a pod with its state, when skiff follows it: ready or not,
// its restarts, why a container waits.
function podLine(name) {
  const p = model.pods.get(name);
  if (!p) return el('div', {'data-pod': name}, name);
  const notes = [p.ready ? 'ready' : (p.phase || 'not ready').toLowerCase()];
  if (p.restarts) notes.push(plural(p.restarts, 'restart'));
  if (p.reason) notes.push(p.reason);
  return el('div', {'data-pod': name, 'data-restarts': p.restarts || 0}, name, ' ',
    el('span', {class: p.reason || p.restarts ? 'detail bad' : 'detail'}, notes.join(', ')));
}

// The ports whose resource has no row get rows of their own.
function portRows() {
  const rows = [];
  for (const p of model.ports.values()) {
    const matched = [...model.workloads.values()].some((w) => w.name.slice(w.name.indexOf('/') + 1) === p.resourceName || p.podName && w.pods.has(p.podName));
    if (!matched) {
      const url = 'http://' + (p.address || '127.0.0.1') + ':' + p.localPort + '/';
      rows.push(el('tr', {'data-port': p.localPort, 'data-state': 'forwarded'},
        el('td', {class: 'name'}, p.resourceType + '/' + p.resourceName), el('td', {}, el('span', {class: 'state'}, 'forwarded')), el('td'), el('td'),
        el('td', {class: 'ports'}, el('a', {href: url, target: '_blank', rel: 'noopener'}, url)), el('td')));
    }
  }
  return rows;
}

let scheduled = false;
// noLoop: the API said there is no dev loop to drive; the buttons and
// switches are then disabled.
let noLoop = false;

function schedule() {
  if (!scheduled) {
    scheduled = true;
    setTimeout(render, 30);
  }
}

function render() {
  scheduled = false;
  $('#session').textContent = model.meta;
  const arts = [...model.artifacts.values()].sort((a, b) => a.name.localeCompare(b.name));
  $('#artifacts tbody').replaceChildren(...arts.map(artifactRow));
  $('#no-artifacts').hidden = arts.length > 0;
  const wls = [...model.workloads.values()].sort((a, b) => a.name.localeCompare(b.name));
  $('#workloads tbody').replaceChildren(...wls.map(workloadRow), ...portRows());
  $('#no-workloads').hidden = wls.length > 0 || model.ports.size > 0;
  const err = $('#error');
  err.hidden = !model.error;
  err.textContent = model.error ? model.error.task + ' failed: ' + model.error.message : '';
  const src = $('#log-source');
  const want = ['', ...wls.map((w) => w.name)];
  const have = [...src.options].map((o) => o.value);
  if (want.join('\n') !== have.join('\n')) {
    const keep = src.value;
    src.replaceChildren(...want.map((v) => el('option', {value: v}, v || 'all resources')));
    src.value = want.includes(keep) ? keep : '';
  }
  for (const control of document.querySelectorAll('button.rebuild, button.sync-now, #deploy-now, .switch input')) {
    control.disabled = noLoop;
    if (noLoop) control.title = 'this command has no dev loop to drive (skiff dev and skiff debug have)';
  }
  renderLogs(false);
}

// The log pane shows the lines of the chosen resource that hold the
// filter's text; it appends new lines, and starts over when the choice
// changes or old lines are dropped.
let shown = 0; // how many of model.logs the pane went through
let shownKey = '';

function renderLogs(force) {
  const source = $('#log-source').value;
  const filter = $('#log-filter').value.toLowerCase();
  const key = source + '\n' + filter;
  const pane = $('#logs');
  if (model.logs.length > maxLogLines) {
    model.logs.splice(0, model.logs.length - maxLogLines + 1000);
    force = true;
  }
  if (force || key !== shownKey || shown > model.logs.length) {
    pane.replaceChildren();
    shown = 0;
    shownKey = key;
  }
  const lines = [];
  for (; shown < model.logs.length; shown++) {
    const l = model.logs[shown];
    if (source) {
      const w = workloadOf(l.pod);
      if (!w || w.name !== source) continue;
    }
    const prefix = '[' + l.pod + (l.container ? ' ' + l.container : '') + '] ';
    if (filter && !(prefix + l.text).toLowerCase().includes(filter)) continue;
    lines.push(el('div', {class: 'log-line', 'data-pod': l.pod}, el('span', {class: 'src'}, prefix), l.text));
  }
  if (lines.length) {
    pane.append(...lines);
  }
  $('#log-count').textContent = plural(pane.childElementCount, 'line');
  if ($('#log-follow').checked) pane.scrollTop = pane.scrollHeight;
}

// ---------------------------------------------------------------- API

function showError(message) {
  model.error = {task: 'Request', message};
  schedule();
}

async function call(method, path, body) {
  let resp;
  try {
    resp = await fetch(path, {method, headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)});
  } catch (err) {
    showError(method + ' ' + path + ': ' + err.message + '; is skiff still running?');
    return false;
  }
  if (resp.status === 501) {
    // A command without a dev loop (skiff run --ui): nothing to drive.
    noLoop = true;
  }
  if (!resp.ok) {
    let message = resp.statusText;
    try {
      message = (await resp.json()).message || message;
    } catch (_) { /* not grpc-gateway's error body */ }
    showError(method + ' ' + path + ': ' + message);
    return false;
  }
  return true;
}

function execute(intent) {
  return call('POST', '/v2/execute', intent);
}

async function loadState() {
  try {
    const resp = await fetch('/v2/state');
    const st = await resp.json();
    $('#auto-build').checked = st.buildState.autoTrigger;
    $('#auto-sync').checked = st.fileSyncState.autoTrigger;
    $('#auto-deploy').checked = st.deployState.autoTrigger;
  } catch (err) {
    showError('GET /v2/state: ' + err.message);
  }
}

for (const box of document.querySelectorAll('.switch input')) {
  box.addEventListener('change', async () => {
    const ok = await call('PUT', '/v2/' + box.dataset.phase + '/auto_execute', {enabled: box.checked});
    if (!ok) loadState();
  });
}
$('#deploy-now').addEventListener('click', () => execute({deploy: true}));
$('#log-source').addEventListener('change', () => renderLogs(true));
$('#log-filter').addEventListener('input', () => renderLogs(true));
$('#log-follow').addEventListener('change', () => renderLogs(false));

// connect follows the events. The browser's EventSource reconnects by
// itself when skiff restarts; when it gives up (an answer that is not a
// stream), a new one is made.
function connect() {
  const conn = $('#connection');
  const es = new EventSource('/v2/events');
  es.onopen = () => {
    model = fresh();
    noLoop = false;
    shown = 0;
    $('#logs').replaceChildren();
    conn.dataset.state = 'open';
    conn.textContent = 'connected';
    loadState();
    schedule();
  };
  es.onmessage = (m) => {
    apply(JSON.parse(m.data));
    schedule();
  };
  es.onerror = () => {
    conn.dataset.state = 'lost';
    conn.textContent = 'disconnected: reconnecting…';
    if (es.readyState === EventSource.CLOSED) {
      setTimeout(connect, 2000);
    }
  };
}

connect();
