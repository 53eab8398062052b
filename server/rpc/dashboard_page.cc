#include "server/rpc/dashboard_page.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace mproc {
namespace {

constexpr char kStyle[] = R"css(
body { font: 14px system-ui, sans-serif; margin: 0; color: #1d2733;
       background: #f4f6f9; }
header { background: #1d2733; color: #fff; padding: 10px 20px;
         display: flex; gap: 24px; align-items: baseline; }
header h1 { font-size: 18px; margin: 0; }
header span { opacity: .8; }
main { padding: 12px 20px; display: grid; gap: 16px;
       grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); }
section { background: #fff; border-radius: 6px; padding: 10px 14px;
          box-shadow: 0 1px 2px rgba(0,0,0,.08); overflow-x: auto; }
section.wide { grid-column: 1 / -1; }
h2 { font-size: 15px; margin: 4px 0 10px; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; }
.card { background: #f4f6f9; border-radius: 4px; padding: 6px 12px; }
.card b { display: block; font-size: 18px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #e5e8ec;
         white-space: nowrap; }
td.args { white-space: normal; font-family: monospace; font-size: 12px; }
tr.task { cursor: pointer; }
tr.task:hover, tr.selected { background: #eef3fb; }
.state-failed, .state-lost, .state-expired { color: #b3261e; }
.state-succeeded { color: #1e7b34; }
.state-running { color: #1f5fbf; }
canvas { width: 100%; height: 120px; background: #fbfcfd; }
#task-detail { font-family: monospace; font-size: 12px; white-space: pre-wrap; }
.filters { display: flex; gap: 8px; margin-bottom: 8px; }
button.requeue { cursor: pointer; }
)css";

constexpr char kScript[] = R"js(
'use strict';
const $ = (id) => document.getElementById(id);
const history = {ops: [], latency: [], throughput: []};
let last = null, lastDone = null, refreshes = 0, selected = null;

async function api(path, method) {
  const r = await fetch(path, {method: method || 'GET', credentials:
      'same-origin', headers: {'X-Mproc-Request': '1'}});
  if (r.status === 401) { location.href = '/login'; throw new Error('login'); }
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

// Every cell is text: names and arguments come from clients.
function row(cells, attrs) {
  const tr = document.createElement('tr');
  for (const [k, v] of Object.entries(attrs || {})) tr.setAttribute(k, v);
  for (const c of cells) {
    const td = document.createElement('td');
    if (c instanceof Node) td.appendChild(c);
    else if (c && typeof c === 'object') {
      td.textContent = c.text; if (c.cls) td.className = c.cls;
    } else td.textContent = c === undefined || c === null ? '' : String(c);
    tr.appendChild(td);
  }
  return tr;
}
function fill(id, rows) {
  const body = $(id).querySelector('tbody');
  body.replaceChildren(...rows);
}
const when = (s) => s ? new Date(s * 1000).toLocaleTimeString() : '';
const ago = (s) => s ? ((Date.now() / 1000 - s).toFixed(1) + ' s') : '';
function bytes(n) {
  const u = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0; while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return n.toFixed(i ? 1 : 0) + ' ' + u[i];
}

function push(series, v) { series.push(v); if (series.length > 300) series.shift(); }
function chart(id, series, unit) {
  const c = $(id), g = c.getContext('2d');
  c.width = c.clientWidth; c.height = c.clientHeight;
  g.clearRect(0, 0, c.width, c.height);
  const max = Math.max(1e-9, ...series);
  g.strokeStyle = '#1f5fbf'; g.lineWidth = 1.5; g.beginPath();
  series.forEach((v, i) => {
    const x = c.width - (series.length - 1 - i) * (c.width / 300);
    const y = c.height - 4 - (v / max) * (c.height - 20);
    i ? g.lineTo(x, y) : g.moveTo(x, y);
  });
  g.stroke();
  g.fillStyle = '#1d2733'; g.font = '11px sans-serif';
  g.fillText('max ' + max.toPrecision(3) + ' ' + unit + ', last 5 min', 6, 12);
}

function overview(o, now) {
  $('version').textContent = 'mproc ' + o.version;
  $('uptime').textContent = o.uptime_seconds.toFixed(0) + ' s';
  $('connections').textContent = o.connections;
  $('objects-count').textContent = o.objects;
  $('rss').textContent = bytes(o.rss_bytes);
  $('cpu').textContent = o.cpu_seconds.toFixed(1) + ' s';
  if (last) {
    const dt = (now - last.t) / 1000, dn = o.requests - last.requests;
    const ops = dn / dt;
    const lat = dn > 0 ? (o.latency_seconds_sum - last.sum) / dn * 1e6 : 0;
    $('ops').textContent = ops.toFixed(0);
    $('latency').textContent = lat.toFixed(1) + ' µs';
    push(history.ops, ops); push(history.latency, lat);
    chart('ops-chart', history.ops, 'ops/s');
    chart('latency-chart', history.latency, 'µs');
  }
  last = {t: now, requests: o.requests, sum: o.latency_seconds_sum};
}

function pools(ps, now) {
  let done = 0;
  const dead = [];
  fill('pools', ps.map((p) => {
    done += p.succeeded + p.failed;
    for (const d of p.dead_letter) dead.push([p.pool, d]);
    return row([p.pool, p.workers.length, p.queued, p.scheduled, p.running,
                {text: p.succeeded, cls: 'state-succeeded'},
                {text: p.failed, cls: 'state-failed'}, p.lost, p.retried,
                p.dead_letter.length], {'data-pool': p.pool});
  }));
  if (lastDone !== null) {
    push(history.throughput, (done - lastDone.n) / ((now - lastDone.t) / 1000));
    chart('throughput-chart', history.throughput, 'tasks/s');
  }
  lastDone = {t: now, n: done};
  fill('dead-letters', dead.map(([pool, d]) => {
    const b = document.createElement('button');
    b.className = 'requeue'; b.textContent = 'requeue';
    b.disabled = !d.requeueable;
    b.onclick = async () => {
      b.disabled = true;
      try {
        const pairs = await api('/api/requeue?pool=' + encodeURIComponent(pool) +
                                '&id=' + d.task_id, 'POST');
        $('message').textContent = 'requeued task ' + d.task_id + ' as task ' +
                                   pairs[0][1];
      } catch (e) { $('message').textContent = 'requeue failed: ' + e.message; }
      refresh();
    };
    return row([pool, d.task_id, d.name, {text: d.args || '', cls: 'args'},
                d.attempts, {text: d.error, cls: 'state-failed'}, b],
               {'data-id': d.task_id});
  }));
  const choice = $('filter-pool'), keep = choice.value;
  const names = [''].concat(ps.map((p) => p.pool));
  if (choice.options.length !== names.length) {
    choice.replaceChildren(...names.map((n) => {
      const o = document.createElement('option');
      o.value = n; o.textContent = n || 'every pool'; return o;
    }));
    choice.value = keep;
  }
}

function workers(ws) {
  fill('workers', ws.map((w) => row([
      w.pool, w.host, w.pid, {text: w.state, cls: 'state-' + w.state},
      w.task ? w.task.name + ' (' + w.task.id + ')' : '',
      w.task ? ago(w.task.started) : '', w.done,
      {text: w.last_error || '', cls: 'state-failed'}],
      {'data-pid': w.pid})));
}

function tasks(ts) {
  fill('tasks', ts.slice().reverse().map((t) => {
    const tr = row([t.pool, t.id, t.name, {text: t.state, cls: 'state-' + t.state},
                    t.worker || '', t.attempts, when(t.submitted),
                    {text: t.args, cls: 'args'},
                    {text: t.error || '', cls: 'state-failed'}],
                   {'data-id': t.id, 'data-pool': t.pool, 'class': 'task'});
    if (selected && selected.id === t.id && selected.pool === t.pool)
      tr.classList.add('selected');
    tr.onclick = () => { selected = {pool: t.pool, id: t.id}; detail(); };
    return tr;
  }));
}

async function detail() {
  if (!selected) return;
  try {
    const t = await api('/api/task?pool=' + encodeURIComponent(selected.pool) +
                        '&id=' + selected.id);
    const lines = ['task ' + t.id + ' of pool ' + t.pool + ': ' + t.name +
                   ', ' + t.state, 'arguments: ' + t.args,
                   'submitted: ' + when(t.submitted) +
                   (t.started ? ', started: ' + when(t.started) : '') +
                   (t.finished ? ', finished: ' + when(t.finished) : ''),
                   'worker: ' + (t.worker || '-'), 'attempts: ' + t.attempts];
    for (const a of t.history)
      lines.push('  ' + when(a.started) + ' - ' + when(a.finished) + ' on ' +
                 a.worker + (a.error ? ': ' + a.error : ''));
    if (t.error) lines.push('error: ' + t.error);
    $('task-detail').textContent = lines.join('\n');
  } catch (e) { $('task-detail').textContent = e.message; }
}

function objects(os) {
  fill('objects', os.map((o) => {
    const extra = [];
    if (o.holder) extra.push('held by ' + o.holder);
    if (o.waiters) extra.push(o.waiters + ' waiting');
    if (o.value !== undefined && o.kind === 'semaphore') extra.push('value ' + o.value);
    return row([o.kind, o.name, o.size, extra.join(', ')],
               {'data-name': o.name});
  }));
}

async function refresh() {
  const now = Date.now();
  const q = new URLSearchParams();
  for (const [k, id] of [['pool', 'filter-pool'], ['state', 'filter-state'],
                         ['name', 'filter-name']]) {
    if ($(id).value) q.set(k, $(id).value);
  }
  try {
    const [o, ps, ws, ts, os] = await Promise.all([
        api('/api/overview'), api('/api/pools'), api('/api/workers'),
        api('/api/tasks?' + q.toString()), api('/api/objects')]);
    overview(o, now); pools(ps, now); workers(ws); tasks(ts); objects(os);
    if (selected) detail();
    refreshes++;
    $('updated').textContent = 'updated ' + new Date(now).toLocaleTimeString();
    $('updated').setAttribute('data-refreshes', refreshes);
  } catch (e) { $('updated').textContent = 'not updated: ' + e.message; }
}

for (const id of ['filter-pool', 'filter-state', 'filter-name'])
  $(id).addEventListener('input', () => refresh());
// The next refresh a second after this one ends: slow answers never pile up.
async function loop() { await refresh(); setTimeout(loop, 1000); }
loop();
)js";

constexpr char kBody[] = R"html(
<header><h1>mproc</h1><span id="version"></span>
<span id="updated" data-refreshes="0">loading</span>
<span id="message"></span></header>
<main>
<section class="wide"><h2>Overview</h2><div class="cards">
 <div class="card">uptime<b id="uptime"></b></div>
 <div class="card">ops/s<b id="ops">-</b></div>
 <div class="card">mean latency<b id="latency">-</b></div>
 <div class="card">connections<b id="connections"></b></div>
 <div class="card">objects<b id="objects-count"></b></div>
 <div class="card">memory (RSS)<b id="rss"></b></div>
 <div class="card">CPU<b id="cpu"></b></div></div></section>
<section><h2>Requests per second</h2><canvas id="ops-chart"></canvas></section>
<section><h2>Mean latency</h2><canvas id="latency-chart"></canvas></section>
<section class="wide"><h2>Pools</h2><table id="pools"><thead><tr><th>pool</th>
 <th>workers</th><th>queued</th><th>scheduled</th><th>running</th>
 <th>succeeded</th><th>failed</th><th>lost</th><th>retried</th>
 <th>dead letters</th></tr></thead><tbody></tbody></table></section>
<section class="wide"><h2>Tasks finished per second</h2>
 <canvas id="throughput-chart"></canvas></section>
<section class="wide"><h2>Workers</h2><table id="workers"><thead><tr>
 <th>pool</th><th>host</th><th>pid</th><th>state</th><th>current task</th>
 <th>for</th><th>done</th><th>last error</th></tr></thead><tbody></tbody>
 </table></section>
<section class="wide"><h2>Tasks</h2><div class="filters">
 <select id="filter-pool"><option value="">every pool</option></select>
 <select id="filter-state"><option value="">every state</option>
  <option>queued</option><option>scheduled</option><option>running</option>
  <option>succeeded</option><option>failed</option><option>cancelled</option>
  <option>lost</option><option>expired</option></select>
 <input id="filter-name" placeholder="task name"></div>
 <table id="tasks"><thead><tr><th>pool</th><th>id</th><th>task</th>
 <th>state</th><th>worker</th><th>tries</th><th>submitted</th><th>args</th>
 <th>error</th></tr></thead><tbody></tbody></table>
 <h2>Task detail</h2><div id="task-detail">click a task</div></section>
<section class="wide"><h2>Dead letters</h2><table id="dead-letters"><thead>
 <tr><th>pool</th><th>id</th><th>task</th><th>args</th><th>tries</th>
 <th>error</th><th></th></tr></thead><tbody></tbody></table></section>
<section class="wide"><h2>Objects</h2><table id="objects"><thead><tr>
 <th>kind</th><th>name</th><th>size</th><th>holders and waiters</th></tr>
 </thead><tbody></tbody></table></section>
</main>
)html";

}  // namespace

absl::string_view DashboardPage() {
  static const std::string* const page = new std::string(absl::StrCat(
      "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>mproc dashboard</title><style>",
      kStyle, "</style></head><body>", kBody, "<script>", kScript,
      "</script></body></html>"));
  return *page;
}

std::string LoginPage(absl::string_view error) {
  const std::string escaped = absl::StrReplaceAll(
      error, {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"}});
  return absl::StrCat(
      "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>mproc dashboard: log in</title><style>",
      kStyle,
      "</style></head><body><header><h1>mproc</h1></header><main><section>"
      "<h2>Log in</h2>",
      escaped.empty() ? "" : absl::StrCat("<p id=\"error\">", escaped, "</p>"),
      "<p>The token is what <code>mproc metrics-token</code> prints on the "
      "manager's machine.</p><form method=\"post\" action=\"/login\">"
      "<input id=\"token\" name=\"token\" type=\"password\" "
      "autocomplete=\"off\" size=\"40\"> <button id=\"login\" "
      "type=\"submit\">log in</button></form></section></main></body></html>");
}

}  // namespace mproc
