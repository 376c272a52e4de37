// The orchestrator dashboard: plain JavaScript, routed by the URL's fragment so that the back
// button and reloads work. Everything is built with DOM nodes (never innerHTML), so text from
// the store cannot become markup.
'use strict';

const TOKEN_KEY = 'orchestrator-token';
// The token from a `#token=…` address — the one printed at start, opened or pasted into a tab
// already showing the dashboard — kept for the session and taken out of the address.
function takeToken() {
  const m = location.hash.match(/^#token=([^&]+)/);
  if (m) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    history.replaceState(null, '', '#/');
  }
}
takeToken();
const token = () => sessionStorage.getItem(TOKEN_KEY);

async function api(path, options = {}) {
  const headers = { Accept: 'application/json' };
  if (token()) headers.Authorization = 'Bearer ' + token();
  if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    headers['X-Orchestrator'] = '1';
  }
  const response = await fetch(path, { method: options.body !== undefined ? 'POST' : 'GET', headers, body: options.body !== undefined ? JSON.stringify(options.body) : undefined });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

// The tab's one event stream (browsers allow six connections to a host, so a stream per topic
// hung a third tab): a page says what it follows while it draws, and `render` opens one
// `/api/stream` for all of it — the header's count of waiting requests included.
let tab = null;
// The run page's hook for a retry or resume sent from it (its ended events start again).
let onRunControlled = null;
function follow(topics, handlers) {
  for (const [k, v] of Object.entries(topics)) tab.topics.set(k, String(v));
  for (const [name, fn] of Object.entries(handlers)) (tab.handlers[name] ||= []).push(fn);
}

function openTab(current) {
  const params = new URLSearchParams(current.topics);
  if (token()) params.set('token', token());
  current.source = new EventSource('/api/stream?' + params);
  for (const [name, fns] of Object.entries(current.handlers)) {
    current.source.addEventListener(name, (e) => { for (const fn of fns) fn(e); });
  }
}

// Redraws with each `name` event of the tab's stream that differs from the last.
function live(topics, name, draw) {
  let last = null;
  follow(topics, {
    [name]: (e) => {
      if (e.data !== last) draw(JSON.parse(e.data));
      last = e.data;
    },
  });
}

// Children as DOM nodes: nested lists flattened, null/undefined/false left out, the rest text.
function nodes(children) {
  return children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false)
    .map((c) => (c instanceof Node ? c : document.createTextNode(String(c))));
}

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  el.append(...nodes(children));
  return el;
}

// Replaces what `el` shows. A node it already shows stays where it is rather than being taken
// out and put back, so that one kept by `keeping` keeps its focus and a click in progress.
function fill(el, ...children) {
  const want = nodes(children);
  const wanted = new Set(want);
  for (const child of [...el.childNodes]) if (!wanted.has(child)) child.remove();
  want.forEach((node, i) => { if (el.childNodes[i] !== node) el.insertBefore(node, el.childNodes[i] || null); });
}

// A drawing function that keeps the elements it made from one drawing to the next while their
// key stays the same, so that a live redraw does not throw away what a person is in the middle
// of: a button armed for a second click, a reason being typed. `draw(data, keep)` calls
// `keep(key, make)` for such an element; one that a drawing no longer asks for is let go.
function keeping(draw) {
  let kept = new Map();
  return (data) => {
    const used = new Map();
    draw(data, (key, make) => {
      const el = kept.get(key) || make();
      used.set(key, el);
      return el;
    });
    kept = used;
  };
}

const badge = (status) => h('span', { class: 'badge status-' + status, 'data-status': status }, status);
const time = (t) => (t ? new Date(t).toLocaleString() : '');
const money = (x) => '$' + (x || 0).toFixed(4);
function progress(done, total) {
  const bar = h('span');
  bar.style.width = (total ? Math.round((100 * done) / total) : 0) + '%';
  return h('div', { class: 'progress', title: done + ' of ' + total }, bar);
}
function table(headers, rows) {
  return h('div', { class: 'scroll' }, h('table', {}, h('thead', {}, h('tr', {}, headers.map((x) => h('th', typeof x === 'string' ? {} : x[1], typeof x === 'string' ? x : x[0])))), h('tbody', {}, rows)));
}

// ---- pages ----

// The plans, drawn again whenever they change.
async function overview(main) {
  drawOverview(main, await api('/api/overview'));
  live({ overview: true }, 'overview', (data) => drawOverview(main, data));
}

function drawOverview(main, data) {
  fill(main,
    h('h1', {}, 'Plans of ', data.project.name),
    h('p', { class: 'muted' }, data.project.root),
    h('div', { class: 'card' }, h('a', { href: '#/approvals' }, data.approvals_waiting + ' approval(s) waiting'), ' · ', data.runs_active + ' run(s) active'),
    data.plans.length === 0
      ? h('p', { class: 'muted' }, 'No plans yet: plan a goal with `orchestrator plan new` or through Claude Code.')
      : table(['Plan', 'Status', 'Progress', ['Running', { class: 'optional' }], ['Escalated', { class: 'optional' }], ['Cost', { class: 'optional' }]],
          data.plans.map((p) => h('tr', { 'data-plan': p.plan.id },
            h('td', {}, h('a', { href: '#/plans/' + p.plan.id }, '#' + p.plan.id + ' ' + p.plan.title), h('div', { class: 'muted' }, 'version ' + p.plan.current_version)),
            h('td', {}, badge(p.plan.status)),
            h('td', {}, progress(p.completed, p.tasks), h('span', { class: 'muted' }, p.completed + '/' + p.tasks)),
            h('td', { class: 'optional' }, p.running),
            h('td', { class: 'optional' }, p.escalated),
            h('td', { class: 'optional' }, money(p.cost_usd))))),
  );
}

function graph(content, statuses) {
  const tasks = content.phases.flatMap((p) => p.tasks);
  const depth = {};
  const depthOf = (t, seen = new Set()) => {
    if (depth[t.key] !== undefined) return depth[t.key];
    if (seen.has(t.key)) return 0;
    seen.add(t.key);
    const deps = t.depends_on.map((d) => tasks.find((x) => x.key === d)).filter(Boolean);
    depth[t.key] = deps.length ? 1 + Math.max(...deps.map((d) => depthOf(d, seen))) : 0;
    return depth[t.key];
  };
  tasks.forEach((t) => depthOf(t));
  const columns = {};
  const at = {};
  for (const t of tasks) {
    const c = depth[t.key];
    columns[c] = (columns[c] || 0) + 1;
    at[t.key] = { x: 10 + c * 150, y: 10 + (columns[c] - 1) * 46 };
  }
  const width = 10 + (Math.max(0, ...Object.keys(columns).map(Number)) + 1) * 150;
  const height = 10 + Math.max(1, ...Object.values(columns)) * 46;
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('width', width);
  svg.setAttribute('height', height);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', 'task dependencies');
  const el = (tag, attrs, text) => {
    const e = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text) e.textContent = text;
    svg.append(e);
    return e;
  };
  for (const t of tasks) for (const d of t.depends_on) if (at[d]) el('line', { x1: at[d].x + 120, y1: at[d].y + 17, x2: at[t.key].x, y2: at[t.key].y + 17 });
  for (const t of tasks) {
    const status = statuses[t.key] || 'NOT_STARTED';
    el('rect', { x: at[t.key].x, y: at[t.key].y, width: 120, height: 34, class: 'node-' + status });
    el('text', { x: at[t.key].x + 8, y: at[t.key].y + 21 }, t.key + ' · ' + status.toLowerCase().replace('_', ' '));
  }
  return h('div', { class: 'graph' }, svg);
}

// A plan, drawn again whenever it changes (task states, runs, a new version).
async function plan(main, id, version) {
  const query = version ? '?version=' + version : '';
  const draw = keeping((data, keep) => drawPlan(main, id, data, keep));
  draw(await api('/api/plans/' + id + query));
  live(version ? { plan: id, version } : { plan: id }, 'plan', draw);
}

// Buttons that POST an action; a `confirm` one asks for a second click first. Errors show beside
// them; what changed shows through the page's live stream.
function controls(path, buttons) {
  const message = h('span', { class: 'error' });
  const send = async (action) => {
    try {
      message.textContent = '';
      await api(path, { body: { action } });
      const run = path.match(/^\/api\/runs\/(\d+)\/control$/);
      if (run && onRunControlled) onRunControlled(run[1]);
    } catch (err) {
      message.textContent = err.message;
    }
  };
  return h('div', { class: 'actions controls' }, buttons.map((b) => {
    const button = h('button', { class: b.danger ? 'danger' : b.primary ? 'primary' : null, 'data-action': b.action, title: b.title || null }, b.label);
    let armed = false;
    button.addEventListener('click', () => {
      if (b.confirm && !armed) {
        armed = true;
        button.textContent = b.confirm;
        return;
      }
      button.disabled = true;
      send(b.action).finally(() => { button.disabled = false; });
    });
    return button;
  }), message);
}

// What a person can do with a plan's run from here.
function planControls(id, data) {
  const state = runState(data);
  const path = '/api/plans/' + id + '/control';
  if (state === 'running') {
    return controls(path, [
      { label: 'Pause', action: 'pause', title: 'No new task starts; running agents stop and resume later' },
      { label: 'Cancel the plan run', action: 'cancel', danger: true, confirm: 'Click again: every unfinished run is cancelled' },
    ]);
  }
  if (state.startsWith('running')) return h('div', { class: 'muted' }, 'Run by another process (`orchestrator run`): pause or stop it there.');
  if (state === 'finished' || !['APPROVED', 'ACTIVE'].includes(data.view.plan.status)) return null;
  return controls(path, [{ label: data.runs.length ? 'Resume the plan run' : 'Start the plan run', action: 'start', primary: true, title: 'Run it in this dashboard\'s process' }]);
}

// What a person can do with one run: an escalated one is theirs to decide.
function runControls(run) {
  const path = '/api/runs/' + run.id + '/control';
  const cancel = { label: 'Cancel the run', action: 'cancel', danger: true, confirm: 'Click again to cancel it' };
  switch (run.status) {
    case 'ESCALATED': return controls(path, [
      { label: 'Retry', action: 'retry', primary: true, title: 'A fresh count of attempts, from a fresh session' },
      { label: 'Resume its session', action: 'resume', title: 'The agent continues where it stopped' },
      cancel]);
    case 'FAILED': return controls(path, [{ label: 'Retry', action: 'retry', primary: true }, cancel]);
    case 'COMPLETED': case 'CANCELLED': return null;
    default: return controls(path, [cancel]);
  }
}

// The plan run's state: this server's own, or what the runs say when another process (an
// `orchestrator run` in a terminal) runs the plan.
function runState(data) {
  if (data.run.state !== 'idle') return data.run.state;
  const report = data.run.report;
  if (report.running) return 'running (started elsewhere)';
  if (report.tasks.length && report.completed === report.tasks.length) return 'finished';
  return 'not running';
}

function drawPlan(main, id, data, keep) {
  const view = data.view;
  const content = view.version.content;
  const report = data.run.report;
  const statuses = Object.fromEntries(report.tasks.map((t) => [t.task, t.status]));
  const latestRun = {};
  for (const r of data.runs) latestRun[r.task_key] = r.id;
  const outcome = Object.fromEntries(report.tasks.map((t) => [t.task, t]));
  const waits = {};
  for (const w of data.waiting || []) waits[w.task] = w;
  fill(main,
    h('h1', {}, '#' + view.plan.id + ' ' + view.plan.title, ' ', badge(view.plan.status)),
    view.version.version !== view.plan.current_version
      ? h('p', { class: 'card notice' }, 'This is version ' + view.version.version + '; the plan is at version ' + view.plan.current_version + '. ', h('a', { href: '#/plans/' + id }, 'See the current one'))
      : null,
    h('p', {}, content.goal),
    h('div', { class: 'card' },
      h('strong', {}, 'Plan run: ' + runState(data)), ' · ', report.completed + ' of ' + report.tasks.length + ' completed, ' + report.escalated + ' escalated, ' + report.blocked + ' blocked · ' + money(report.cost_usd),
      progress(report.completed, report.tasks.length),
      keep([runState(data), view.plan.status, data.runs.length > 0].join(), () => planControls(id, data))),
    content.success_criteria.length ? [h('h2', {}, 'Success criteria'), h('ul', {}, content.success_criteria.map((c) => h('li', {}, c)))] : null,
    content.constraints.length ? [h('h2', {}, 'Constraints'), h('ul', {}, content.constraints.map((c) => h('li', {}, c)))] : null,
    h('h2', {}, 'Dependencies'),
    graph(content, statuses),
    content.phases.map((phase) => [
      h('h2', {}, 'Phase ' + phase.key + ': ' + phase.name),
      table(['Task', 'Status', ['Files', { class: 'optional' }], 'Run', ['Attempts', { class: 'optional' }]],
        phase.tasks.map((t) => h('tr', { 'data-task': t.key },
          h('td', {}, h('strong', {}, t.key), ' ', t.title, t.depends_on.length ? h('div', { class: 'muted' }, 'after ' + t.depends_on.join(', ')) : null),
          h('td', {}, badge(statuses[t.key] || 'NOT_STARTED'),
            waits[t.key] ? h('a', { class: 'waits', href: '#/runs/' + waits[t.key].run_id }, ' waits for you') : null),
          h('td', { class: 'optional' }, h('code', {}, t.files.join(', '))),
          h('td', {}, latestRun[t.key] ? h('a', { href: '#/runs/' + latestRun[t.key] }, 'run ' + latestRun[t.key]) : '–'),
          h('td', { class: 'optional' }, outcome[t.key] ? outcome[t.key].attempts : 0)))),
    ]),
    h('h2', {}, 'Decisions'),
    content.decisions.length
      ? content.decisions.map((d) => h('div', { class: 'card' }, h('strong', {}, d.key + ': ' + d.what), h('div', {}, 'Why: ' + d.why),
          d.rejected_alternatives.map((r) => h('div', { class: 'muted' }, 'Not chosen: ' + r.option + ' — ' + r.reason))))
      : h('p', { class: 'muted' }, 'None recorded.'),
    h('h2', {}, 'Versions'),
    h('ul', {}, view.history.map((v) => h('li', {},
      h('a', { href: '#/plans/' + id + '/v/' + v.version }, 'version ' + v.version), ' — ' + (v.note || '') + ' ', h('span', { class: 'muted' }, time(v.created_at)),
      v.version > 1 ? [' · ', h('a', { href: '#/plans/' + id + '/diff/' + (v.version - 1) + '/' + v.version }, 'what changed')] : null))),
  );
}

// What changed between two versions of a plan: fields, then phases, tasks and decisions.
async function diff(main, id, from, to) {
  const [d, older, newer] = await Promise.all([
    api('/api/plans/' + id + '/diff?from=' + from + '&to=' + to),
    api('/api/plans/' + id + '?version=' + from),
    api('/api/plans/' + id + '?version=' + to),
  ]);
  // An added or removed item's words, from the version that has it.
  const words = (title, item) => {
    const content = (item.kind === 'removed' ? older : newer).view.version.content;
    const tasks = content.phases.flatMap((p) => p.tasks);
    const found = title === 'Phases' ? content.phases.find((p) => p.key === item.key)
      : title === 'Tasks' ? tasks.find((t) => t.key === item.key)
      : content.decisions.find((x) => x.key === item.key);
    if (!found) return null;
    return ': ' + (found.what || found.title || found.name || '') + (found.why ? ' — ' + found.why : '');
  };
  const value = (v) => (typeof v === 'string' ? v : JSON.stringify(v));
  const change = (f) => h('li', { class: 'change' }, h('strong', {}, f.field), ': ', h('del', {}, value(f.before)), ' → ', h('ins', {}, value(f.after)));
  const items = (title, list) => list.length
    ? [h('h2', {}, title), h('ul', {}, list.map((item) => h('li', { 'data-change': item.kind },
        badge(item.kind.toUpperCase()), ' ', h('strong', {}, item.key), item.kind === 'changed' ? null : words(title, item),
        item.fields.length ? h('ul', {}, item.fields.map(change)) : null)))]
    : null;
  const empty = !d.fields.length && !d.phases.length && !d.tasks.length && !d.decisions.length;
  fill(main,
    h('h1', {}, 'Plan #' + id + ': version ' + from + ' → ' + to),
    h('p', {}, h('a', { href: '#/plans/' + id }, '← the plan'), ' · ', h('a', { href: '#/plans/' + id + '/v/' + from }, 'version ' + from), ' · ', h('a', { href: '#/plans/' + id + '/v/' + to }, 'version ' + to)),
    empty ? h('p', { class: 'muted' }, 'The two versions are the same.') : null,
    d.fields.length ? [h('h2', {}, 'Plan'), h('ul', {}, d.fields.map(change))] : null,
    items('Phases', d.phases), items('Tasks', d.tasks), items('Decisions', d.decisions));
}

// A run: its events live, what of it waits for a person (answerable here), its checkpoints and
// verification, redrawn as events arrive.
async function run(main, id) {
  const first = await api('/api/runs/' + id);
  const r = first.view.run;
  const list = h('ul', { class: 'events', id: 'events' });
  const status = h('span', { id: 'run-status' }, badge(r.status));
  const head = h('div', { class: 'card' });
  const waiting = h('div', { id: 'run-waiting' });
  const details = h('div', { id: 'run-details' });
  let cost = 0;
  const draw = keeping((data, keep) => {
    const run = data.view.run;
    fill(head,
      h('div', {}, 'Task ', h('strong', {}, run.task_key), ' of ', h('a', { href: '#/plans/' + run.plan_id }, 'plan #' + run.plan_id), ' · attempt ' + run.attempt + ' · ' + run.agent + ' · ', h('span', { id: 'run-cost' }, money(cost))),
      run.worktree && !['COMPLETED', 'CANCELLED'].includes(run.status) ? h('div', { class: 'muted' }, 'worktree ' + run.worktree) : null,
      run.last_error ? h('div', { class: 'error' }, run.last_error) : null,
      keep(run.status, () => runControls(run)));
    fill(details,
      h('h2', {}, 'Checkpoints'),
      data.view.checkpoints.length
        ? table(['When', 'Why', ['Commit', { class: 'optional' }], 'Files changed', 'Cost'],
            data.view.checkpoints.map((c) => h('tr', {}, h('td', {}, time(c.at)), h('td', {}, c.reason), h('td', { class: 'optional' }, h('code', {}, (c.commit || '').slice(0, 10))),
              h('td', {}, h('code', {}, c.files_changed.join(', '))), h('td', {}, money(c.cost_usd)))))
        : h('p', { class: 'muted' }, 'None yet.'),
      h('h2', {}, 'Verification'),
      data.reports.length ? data.reports.map(report) : h('p', { class: 'muted' }, 'Not verified yet.'));
  });
  draw(first);
  let pending = null;
  const refresh = () => {
    if (pending) return;
    pending = setTimeout(() => { pending = null; api('/api/runs/' + id).then(draw).catch(() => {}); }, 400);
  };
  fill(main, h('h1', {}, 'Run ' + r.id + ' ', status), head, waiting, h('h2', {}, 'Events (live)'), list, details);
  let ended = false;
  follow({ run: id }, {
    run_event: (e) => {
      const ev = JSON.parse(e.data);
      ended = false;
      if (ev.kind === 'status' && ev.payload.to) fill(status, badge(ev.payload.to));
      if (ev.kind === 'result') {
        cost += ev.payload.cost_usd || 0;
        const shown = document.getElementById('run-cost');
        if (shown) shown.textContent = money(cost);
      }
      list.append(h('li', { class: ev.kind === 'approval_waiting' ? 'waiting' : '', 'data-kind': ev.kind },
        h('span', { class: 'muted' }, ev.seq), h('span', { class: 'muted at' }, new Date(ev.at).toLocaleTimeString()),
        h('span', {}, h('span', { class: 'kind' }, ev.kind.replace(/_/g, ' ')), ' ', ev.summary)));
      list.scrollTop = list.scrollHeight;
      refresh();
    },
    // The run ended (or waits for a person): its events stop; a retry or resume from this page
    // draws the page again, following it anew.
    end: (e) => { ended = true; fill(status, badge(e.data)); refresh(); },
  });
  onRunControlled = (runId) => { if (String(runId) === String(id) && ended) render(); };
  // What this run waits for, answerable in place.
  const drawWaiting = keeping((list, keep) => {
    const mine = list.filter((a) => String(a.run_id) === String(id));
    fill(waiting, mine.length ? [h('h2', {}, 'Waiting for you'), mine.map((a) => waitingCard(a, keep))] : null);
  });
  follow({ approvals: true }, { approvals: (e) => drawWaiting(JSON.parse(e.data)) });
}

function report(rep) {
  return h('div', { class: 'card' },
    h('div', {}, h('strong', {}, rep.passed ? '✓ passed' : '✗ failed'), ' ', h('span', { class: 'muted' }, time(rep.finished_at) + (rep.commit ? ' · ' + rep.commit.slice(0, 10) : ''))),
    rep.checks.map((c) => {
      const byFile = {};
      for (const f of c.findings) (byFile[f.file || '(no file)'] = byFile[f.file || '(no file)'] || []).push(f);
      return h('div', {}, (c.passed ? '✓ ' : '✗ ') + c.name, c.error ? h('span', { class: 'error' }, ' — ' + c.error) : null,
        Object.entries(byFile).map(([file, fs]) => h('div', { class: 'findings' }, h('code', {}, file),
          h('ul', {}, fs.map((f) => h('li', {}, (f.line ? 'line ' + f.line + ': ' : '') + (f.rule ? '[' + f.rule + '] ' : '') + f.message))))));
    }));
}

// A request waiting for an answer, kept while it waits so that a reason being typed survives
// the queue changing around it.
const waitingCard = (a, keep) => keep(a.id, () => approvalCard(a, false));

function approvalCard(a, answered) {
  const reason = h('input', { type: 'text', placeholder: 'reason (required to deny)', 'aria-label': 'reason' });
  const message = h('span', { class: 'error' });
  let buttons = [];
  const decide = async (decision) => {
    // Disabled while the answer is on its way: one click, one answer.
    for (const b of buttons) b.disabled = true;
    try {
      await api('/api/approvals/' + a.id, { body: { decision, reason: reason.value || null, by: localStorage.getItem(NAME_KEY) || null } });
    } catch (err) {
      message.textContent = err.message;
      for (const b of buttons) b.disabled = false;
    }
  };
  const actions = answered ? null : [
    h('button', { class: 'primary', onclick: () => decide('approve') }, 'Approve'),
    h('button', { onclick: () => decide('approve_always'), title: a.grants.length ? 'Also allows, for the rest of this run: ' + a.grants.join(', ') : null }, 'Always for this run'),
    h('button', { class: 'danger', onclick: () => { if (!reason.value.trim()) { message.textContent = 'Say why: the agent reads it.'; reason.focus(); return; } decide('deny'); } }, 'Deny'),
  ];
  buttons = actions || [];
  return h('div', { class: answered ? 'card approval answered' : 'card approval', 'data-approval': a.id },
    h('div', {}, h('strong', {}, '#' + a.id + ' ' + a.tool_name), ' ', badge(a.status), ' · task ', a.task_key, a.task_title ? ' ' + a.task_title : '',
      ' of ', h('a', { href: '#/plans/' + a.plan_id }, 'plan #' + a.plan_id), ' · ', h('a', { href: '#/runs/' + a.run_id }, 'run ' + a.run_id)),
    h('div', {}, a.reason),
    h('pre', {}, JSON.stringify(a.input, null, 2)),
    answered
      ? h('div', { class: 'muted' }, (a.decided_by ? 'by ' + a.decided_by : '') + (a.applies_to_run ? ', always for this run' : '') + (a.decision_reason ? ': ' + a.decision_reason : '') + (a.decided_at ? ' · ' + time(a.decided_at) : ''))
      : h('div', { class: 'actions' }, actions[0], actions[1], reason, actions[2], message,
          h('span', { class: 'muted', title: 'expires ' + time(a.expires_at) }, timeLeft(a.expires_at))));
}

// "denied in 23 min" for a waiting request: the time left, not a clock time to work out.
function timeLeft(at) {
  const minutes = Math.round((new Date(at) - Date.now()) / 60000);
  if (minutes <= 0) return 'denied at any moment';
  if (minutes < 90) return 'denied in ' + minutes + ' min unless answered';
  return 'denied in ' + Math.round(minutes / 60) + ' h unless answered';
}

// The name a person answers as, kept in this browser: the audit log says who decided.
const NAME_KEY = 'orchestrator-name';
function answerAs() {
  const input = h('input', { type: 'text', id: 'answer-as', placeholder: 'your name', 'aria-label': 'answer as', value: localStorage.getItem(NAME_KEY) || '' });
  input.addEventListener('change', () => localStorage.setItem(NAME_KEY, input.value.trim()));
  return h('label', { class: 'muted' }, 'Answer as ', input);
}

async function approvals(main) {
  const waiting = h('div', { id: 'waiting' }, h('p', { class: 'muted' }, 'Nothing waits for you.'));
  const answered = h('div', { id: 'answered' });
  fill(main, h('h1', {}, 'Approvals'), h('p', { class: 'muted' }, 'Tool calls the permission policy put before a person. The agent waits for your answer.'), answerAs(), waiting,
    h('h2', {}, 'Answered'), answered);
  const drawWaiting = keeping((list, keep) => {
    fill(waiting, ...(list.length ? list.map((a) => waitingCard(a, keep)) : [h('p', { class: 'muted' }, 'Nothing waits for you.')]));
  });
  follow({ approvals: true }, {
    approvals: (e) => {
      drawWaiting(JSON.parse(e.data));
      api('/api/approvals?all=true').then((all) => fill(answered, ...all.filter((a) => a.status !== 'PENDING').slice(0, 20).map((a) => approvalCard(a, true)))).catch(() => {});
    },
  });
}

async function locks(main) {
  const list = await api('/api/locks');
  fill(main, h('h1', {}, 'Locks in force'),
    list.length ? table(['Pattern', 'Mode', 'Run', ['Holder', { class: 'optional' }], 'Until'],
      list.map((l) => h('tr', {}, h('td', {}, h('code', {}, l.pattern)), h('td', {}, l.mode), h('td', {}, l.run_id ? h('a', { href: '#/runs/' + l.run_id }, 'run ' + l.run_id) : '–'),
        h('td', { class: 'optional' }, l.owner), h('td', {}, time(l.expires_at)))))
      : h('p', { class: 'muted' }, 'No file is locked.'));
}

async function knowledge(main) {
  const k = await api('/api/knowledge');
  fill(main, h('h1', {}, 'Knowledge'),
    h('h2', {}, 'Documentation sources'),
    k.sources.length ? table(['Source', 'Kind', 'Documents', 'Chunks', ['Indexed', { class: 'optional' }]],
      k.sources.map((s) => h('tr', {}, h('td', {}, s.location), h('td', {}, s.kind), h('td', {}, s.documents), h('td', {}, s.chunks), h('td', { class: 'optional' }, time(s.indexed_at) || 'never'))))
      : h('p', { class: 'muted' }, 'None: add one with `orchestrator kb add PATH|URL`.'),
    h('h2', {}, 'Skills'),
    k.skills.length ? h('ul', {}, k.skills.map((s) => h('li', {}, h('strong', {}, s.name), ' (' + s.origin + ') — ' + s.description))) : h('p', { class: 'muted' }, 'No skills found.'),
    k.problems.length ? [h('h2', {}, 'Skipped skill files'), h('ul', {}, k.problems.map((p) => h('li', {}, h('code', {}, p.path), ': ' + p.problem)))] : null);
}

// ---- routing ----

const routes = [
  [/^#?\/?$/, (m, main) => overview(main)],
  [/^#\/plans\/(\d+)$/, (m, main) => plan(main, m[1])],
  [/^#\/plans\/(\d+)\/v\/(\d+)$/, (m, main) => plan(main, m[1], m[2])],
  [/^#\/plans\/(\d+)\/diff\/(\d+)\/(\d+)$/, (m, main) => diff(main, m[1], m[2], m[3])],
  [/^#\/runs\/(\d+)$/, (m, main) => run(main, m[1])],
  [/^#\/approvals$/, (m, main) => approvals(main)],
  [/^#\/locks$/, (m, main) => locks(main)],
  [/^#\/knowledge$/, (m, main) => knowledge(main)],
];

async function render() {
  if (tab && tab.source) tab.source.close();
  onRunControlled = null;
  // The approvals count in the header stays live on every page.
  const current = { topics: new URLSearchParams({ approvals: 'true' }), handlers: {}, source: null };
  tab = current;
  follow({}, { approvals: countWaiting });
  const main = document.getElementById('main');
  const hash = location.hash || '#/';
  const route = routes.find(([pattern]) => pattern.test(hash));
  if (route) {
    try {
      await route[1](hash.match(route[0]), main);
    } catch (err) {
      fill(main, h('h1', {}, 'Cannot show this'), h('p', { class: 'error' }, err.message), h('p', {}, h('a', { href: '#/' }, 'Back to the plans')));
    }
  } else {
    fill(main, h('h1', {}, 'No such page'), h('p', {}, h('a', { href: '#/' }, 'Back to the plans')));
  }
  // Another render began meanwhile (a quick click): that one opens its own stream.
  if (tab === current) openTab(current);
}

function countWaiting(e) {
  const n = JSON.parse(e.data).length;
  const el = document.getElementById('waiting-count');
  el.textContent = n;
  el.hidden = n === 0;
}

window.addEventListener('hashchange', () => { takeToken(); render(); });
window.addEventListener('DOMContentLoaded', render);
