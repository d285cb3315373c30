import { instanceDefinition } from '../machines/instance';
import { machineGraph } from '../machines/graph';
import { planDefinition } from '../machines/plan';

/**
 * The inspector: one page (no build step, no dependency) that a browser opens at
 * `GET /inspector` of the HTTP handler, given `createFetchHandler(manager, { authenticate,
 * inspector: inspectorPage })`. The page itself holds no data; it asks for an API key and reads
 * everything through the handler's own routes with it (so `authenticate` decides what it shows):
 * the instances with their status, question and budgets, each plan's steps, the lifecycle and
 * plan machines drawn with the current state highlighted, each record's history of changes with
 * their diffs, live over the change stream (`GET /events`) and read again every half second (a
 * SQLite file has no change feed), and a form to answer a waiting instance's question.
 */
export function inspectorPage(): string {
  // The machines the page draws, read off their definitions (so no diagram is drawn by hand);
  // "<" escaped so that nothing in them can end the script.
  page ??= PAGE.replace('MACHINES_JSON', () => JSON.stringify({ instance: machineGraph(instanceDefinition), plan: machineGraph(planDefinition) }).replace(/</g, '\\u003c'));
  return page;
}

let page: string | undefined;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>instance-plan inspector</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1b1b1b;background:#fafafa}
header{background:#1d3557;color:#fff;padding:.6rem 1rem}h1{font-size:1.1rem;margin:0}
main{padding:1rem;max-width:70rem}form.key{display:flex;gap:.5rem;align-items:center;margin-bottom:1rem}
section.instance{background:#fff;border:1px solid #ccc;border-radius:6px;padding:.6rem 1rem;margin:0 0 1rem}
h2{font-size:1rem;margin:.2rem 0}.status{font-weight:600;padding:0 .4rem;border-radius:3px;background:#e8e8e8}
.status-running,.status-in_progress{background:#d7ecff}.status-waiting{background:#ffe9b3}.status-completed{background:#d8f3dc}
.status-failed,.status-error{background:#ffd6d6}table{border-collapse:collapse;width:100%;margin:.4rem 0}
th,td{text-align:left;border-bottom:1px solid #e2e2e2;padding:.25rem .4rem;vertical-align:top}
.muted{color:#555}button{font:inherit;padding:.2rem .7rem}input{font:inherit;padding:.2rem .4rem}
:focus-visible{outline:3px solid #f4a261;outline-offset:2px}
svg.machine{display:block;width:100%;max-width:480px;height:auto;margin:.3rem 0}.machine rect{fill:#fff;stroke:#767676}
.machine .now rect{fill:#1d3557;stroke:#1d3557}.machine .final rect{stroke-width:3}.machine text{font-size:12px;fill:#1b1b1b;text-anchor:middle}
.machine .now text{fill:#fff;font-weight:700}.machine path{fill:none;stroke:#767676;marker-end:url(#arrow)}
.machine path.next{stroke:#c2410c;stroke-width:2;marker-end:url(#arrow-next)}details{margin:.3rem 0}
ol.timeline{margin:.3rem 0;padding-left:1.4rem}ol.timeline ul{margin:0;padding-left:1rem}del{color:#9b1c1c}ins{color:#14532d;text-decoration:none}
</style>
</head>
<body>
<svg width="0" height="0" aria-hidden="true" style="position:absolute"><defs>
<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0 0L10 5L0 10z" fill="#767676"/></marker>
<marker id="arrow-next" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0 0L10 5L0 10z" fill="#c2410c"/></marker>
</defs></svg>
<header><h1>instance-plan inspector</h1></header>
<main>
<form class="key" id="key-form">
<label for="key">API key</label>
<input id="key" name="key" type="password" autocomplete="off" required>
<button type="submit">Show</button>
</form>
<p id="state" class="muted" role="status" aria-live="polite">Give an API key to see its instances and plans.</p>
<div id="instances"></div>
</main>
<script>
(() => {
  const $ = (id) => document.getElementById(id);
  let key = sessionStorage.getItem('instance-plan-key') || '';
  let stream;
  const text = (value) => (value === null || value === undefined ? '' : String(value));
  const el = (tag, props = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(props)) {
      if (name === 'class') node.className = value; else if (name.startsWith('on')) node.addEventListener(name.slice(2), value); else node.setAttribute(name, value);
    }
    for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(text(child)));
    return node;
  };
  const post = async (path, body) => {
    const response = await fetch(path, { method: 'POST', headers: { authorization: 'Bearer ' + key, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const answer = await response.json();
    if (!answer.success) throw new Error(answer.error ? answer.error.message : 'refused');
    return answer;
  };
  // The lifecycle and plan machines, read off their definitions by the server (machineGraph).
  const MACHINES = MACHINES_JSON;
  const svg = (tag, attributes, ...children) => {
    const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    node.append(...children);
    return node;
  };
  // A machine's states on an ellipse, each move an arrow (bent to its left, so that two opposite
  // moves are two curves), the current state filled and the moves out of it drawn stronger.
  const diagram = (name, graph, now) => {
    const width = 480, height = 200, at = {};
    graph.states.forEach((state, i) => {
      const angle = (2 * Math.PI * i) / graph.states.length - Math.PI / 2;
      at[state] = [width / 2 + 180 * Math.cos(angle), height / 2 + 72 * Math.sin(angle)];
    });
    const next = graph.moves.filter((move) => move.from === now).map((move) => move.to);
    const label = name + ' now ' + now + (next.length ? '; it may move to ' + next.join(', ') : '; it moves no more');
    const drawing = svg('svg', { class: 'machine', viewBox: '0 0 ' + width + ' ' + height, role: 'img', 'aria-label': label, 'data-machine': graph.id, 'data-now': now }, svg('title', {}, label));
    for (const move of graph.moves) {
      const [x1, y1] = at[move.from], [x2, y2] = at[move.to], dx = x2 - x1, dy = y2 - y1, length = Math.hypot(dx, dy);
      const cut = Math.min(46 / Math.abs(dx || 1e-9), 14 / Math.abs(dy || 1e-9)), bend = 16 / length;
      const control = [(x1 + x2) / 2 - dy * bend, (y1 + y2) / 2 + dx * bend];
      const d = 'M' + (x1 + dx * cut) + ' ' + (y1 + dy * cut) + 'Q' + control[0] + ' ' + control[1] + ' ' + (x2 - dx * cut) + ' ' + (y2 - dy * cut);
      drawing.append(svg('path', { d, class: move.from === now ? 'next' : '' }, svg('title', {}, move.from + ' to ' + move.to + ' (' + move.events.join(', ') + ')')));
    }
    for (const state of graph.states) {
      const [x, y] = at[state];
      drawing.append(svg('g', { class: (state === now ? 'now' : '') + (graph.finals.includes(state) ? ' final' : ''), 'data-state': state },
        svg('rect', { x: x - 46, y: y - 12, width: 92, height: 24, rx: 6 }), svg('text', { x, y: y + 4 }, state)));
    }
    return drawing;
  };
  // A record's latest changes, oldest first, each with its diff: every field it changed, what it
  // was and what it became. From the record's creation (or a snapshot) on, the whole record is
  // replayed; in a window that starts later, a field's "before" is known once the window set it.
  const WINDOW = 50;
  const openHistories = new Set();
  const shown = (value) => { const json = JSON.stringify(value) ?? String(value); return json.length > 120 ? json.slice(0, 119) + '…' : json; };
  const changes = (events) => {
    let record;
    const known = new Map();
    const forget = (prefix) => { for (const key of [...known.keys()]) if (key.startsWith(prefix)) known.delete(key); };
    return events.map((event) => {
      const lines = [];
      for (const { op, path, value } of event.changes) {
        if (path.length === 0) { record = structuredClone(value); continue; }
        const key = path.join('.'), last = path[path.length - 1];
        let had = false, before;
        if (record !== undefined) {
          let parent = record;
          for (const part of path.slice(0, -1)) parent = parent == null ? undefined : parent[part];
          if (parent != null) {
            const at = last === '-' ? parent.length : last;
            if (op !== 'add' && at in Object(parent)) [had, before] = [true, parent[at]];
            if (Array.isArray(parent) && op !== 'replace') op === 'add' ? parent.splice(at, 0, structuredClone(value)) : parent.splice(at, 1);
            else if (op === 'remove') delete parent[at];
            else parent[at] = structuredClone(value);
          }
        } else {
          if (op !== 'add' && known.has(key)) [had, before] = [true, known.get(key)];
          // What lay under a changed field is stale; an element added or removed moves its siblings.
          forget(key + '.');
          if (typeof last === 'number' && op !== 'replace') forget(path.slice(0, -1).join('.') + '.');
          if (op === 'remove') known.delete(key); else known.set(key, value);
        }
        // The version and updated_at of every change are its number and time, shown above it.
        if (path.length === 1 && (last === 'version' || last === 'updated_at')) continue;
        lines.push(el('li', {}, el('code', {}, key), ': ', had ? el('del', {}, shown(before)) : '', had && op !== 'remove' ? ' → ' : '', op === 'remove' ? (had ? '' : 'removed') : el('ins', {}, shown(value))));
      }
      if (event.snapshot) record = structuredClone(event.snapshot);
      const move = event.from === null ? 'created ' + event.to : event.from === event.to ? event.to : event.from + ' → ' + event.to;
      return el('li', { 'data-seq': event.seq }, el('time', { datetime: event.at }, event.at.slice(0, 10) + ' ' + event.at.slice(11, 19) + ' UTC'), ' ', el('strong', {}, event.type), ' · ' + move + (event.step ? ' · step ' + event.step.from + ' → ' + event.step.to : ''), lines.length ? el('ul', {}, ...lines) : '');
    });
  };
  const timeline = (record, events) => {
    const node = el('details', { 'data-history': record.id }, el('summary', { id: 'history-' + record.id }, 'History: ' + record.version + ' change' + (record.version === 1 ? '' : 's')));
    if (events) {
      node.open = true;
      if (events.length && events[0].seq > 1) node.append(el('p', { class: 'muted' }, 'The latest ' + events.length + ' of ' + record.version + ' changes: a field they change first shows only what it became.'));
      node.append(el('ol', { class: 'timeline' }, ...changes(events)));
    }
    node.addEventListener('toggle', () => {
      if (node.open === openHistories.has(record.id)) return;
      if (node.open) openHistories.add(record.id); else openHistories.delete(record.id);
      soon();
    });
    return node;
  };
  const budget = (used, max) => (max === null ? text(used) : used + ' of ' + max);
  const status = (value) => el('span', { class: 'status status-' + value }, value);
  let drawn = '';
  const render = async () => {
    const { instances, total } = await post('/api/instance-plan/instances/list', { limit: 100 });
    const plansOf = {};
    const historyOf = {};
    const readHistory = async (record) => {
      if (openHistories.has(record.id)) historyOf[record.id] = (await post('/api/instance-plan/history', { id: record.id, after_seq: Math.max(0, record.version - WINDOW), limit: WINDOW })).events;
    };
    for (const instance of instances) {
      plansOf[instance.id] = (await post('/api/agents/tools/instance_plan/get', { instance_id: instance.id, limit: 100 })).plans;
      for (const record of [instance, ...plansOf[instance.id]]) await readHistory(record);
    }
    // Redrawn only when something changed, keeping what the user is typing and where the focus is.
    const seen = JSON.stringify([instances, plansOf, historyOf]);
    if (seen === drawn) return;
    drawn = seen;
    const list = $('instances');
    const typed = {};
    for (const input of list.querySelectorAll('input')) typed[input.id] = input.value;
    const focused = document.activeElement && list.contains(document.activeElement) ? document.activeElement.id : '';
    const sections = [];
    for (const instance of instances) {
      const plans = plansOf[instance.id];
      const section = el('section', { class: 'instance', 'aria-labelledby': 'i-' + instance.id },
        el('h2', { id: 'i-' + instance.id }, instance.agent_type_id + ' ', status(instance.status)),
        el('p', { class: 'muted' }, 'Instance ' + instance.id + ' · turns ' + budget(instance.turn_count, instance.max_turns) + ' · tokens ' + budget(instance.tokens_total, instance.max_tokens) + (instance.current_step ? ' · at "' + instance.current_step + '"' : '')),
        diagram('Lifecycle of ' + instance.agent_type_id, MACHINES.instance, instance.status), timeline(instance, historyOf[instance.id]));
      if (instance.needs_input) {
        const input = el('input', { id: 'answer-' + instance.id, name: 'answer', required: '' });
        section.append(el('form', { class: 'answer', 'data-instance': instance.id, onsubmit: async (event) => {
          event.preventDefault();
          try { await post('/api/instance-plan/instances/answer', { instance_id: instance.id, text: input.value }); } catch (error) { $('state').textContent = error.message; }
        } }, el('label', { for: 'answer-' + instance.id }, 'Waiting for an answer: '), input, ' ', el('button', { type: 'submit' }, 'Answer')));
      }
      for (const plan of plans) {
        const rows = plan.steps.map((step) => el('tr', { 'data-step': step.id }, el('td', {}, step.title), el('td', {}, step.type), el('td', {}, status(step.status)), el('td', {}, step.attempts), el('td', {}, text(step.output))));
        section.append(el('table', {},
          el('caption', {}, 'Plan "' + plan.title + '" ', status(plan.status), plan.summary ? ' · ' + plan.summary : ''),
          el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Step'), el('th', { scope: 'col' }, 'Type'), el('th', { scope: 'col' }, 'Status'), el('th', { scope: 'col' }, 'Attempts'), el('th', { scope: 'col' }, 'Output'))),
          el('tbody', {}, ...rows)), diagram('Plan "' + plan.title + '"', MACHINES.plan, plan.status), timeline(plan, historyOf[plan.id]));
      }
      sections.push(section);
    }
    list.replaceChildren(...sections);
    for (const [id, value] of Object.entries(typed)) if ($(id)) $(id).value = value;
    if (focused && $(focused)) $(focused).focus();
    $('state').textContent = total + ' instance' + (total === 1 ? '' : 's') + ', live.';
  };
  // One read and redraw at a time: asked for meanwhile, it runs once more when that one is done.
  let pending, rendering = false, again = false;
  const redraw = async () => {
    if (rendering) { again = true; return; }
    rendering = true;
    try { do { again = false; await render(); } while (again); } finally { rendering = false; }
  };
  const soon = () => { clearTimeout(pending); pending = setTimeout(() => redraw().catch((error) => ($('state').textContent = error.message)), 30); };
  const follow = async () => {
    if (stream) stream.abort();
    stream = new AbortController();
    const response = await fetch('/events', { headers: { authorization: 'Bearer ' + key }, signal: stream.signal });
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf('\\n\\n')) !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (/^event: (change|reset)$/m.test(block)) soon();
      }
    }
  };
  // The change stream hears what this server's manager commits, and with a store that has a
  // change feed (PostgreSQL with listen, IndexedDB) every process's; a SQLite file has none, so
  // the page also reads again every half second.
  let polling;
  const start = async () => {
    try {
      await redraw();
      clearInterval(polling);
      polling = setInterval(soon, 500);
      follow().catch(() => ($('state').textContent = 'The change stream ended; reload to follow again.'));
    } catch (error) {
      $('state').textContent = error.message;
    }
  };
  $('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    key = $('key').value;
    sessionStorage.setItem('instance-plan-key', key);
    start();
  });
  if (key) start();
})();
</script>
</body>
</html>
`;
