/**
 * The inspector: one page (no build step, no dependency) that a browser opens at
 * `GET /inspector` of the HTTP handler, given `createFetchHandler(manager, { authenticate,
 * inspector: inspectorPage })`. The page itself holds no data; it asks for an API key and reads
 * everything through the handler's own routes with it (so `authenticate` decides what it shows):
 * the instances with their status, question and budgets, each plan's steps, live over the change
 * stream (`GET /events`) and read again every half second (a SQLite file has no change feed), and a
 * form to answer a waiting instance's question.
 */
export function inspectorPage(): string {
  return PAGE;
}

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
</style>
</head>
<body>
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
  const budget = (used, max) => (max === null ? text(used) : used + ' of ' + max);
  const status = (value) => el('span', { class: 'status status-' + value }, value);
  let shown = '';
  const render = async () => {
    const { instances, total } = await post('/api/instance-plan/instances/list', { limit: 100 });
    const plansOf = {};
    for (const instance of instances) plansOf[instance.id] = (await post('/api/agents/tools/instance_plan/get', { instance_id: instance.id, limit: 100 })).plans;
    // Redrawn only when something changed, keeping what the user is typing and where the focus is.
    const seen = JSON.stringify([instances, plansOf]);
    if (seen === shown) return;
    shown = seen;
    const list = $('instances');
    const typed = {};
    for (const input of list.querySelectorAll('input')) typed[input.id] = input.value;
    const focused = document.activeElement && list.contains(document.activeElement) ? document.activeElement.id : '';
    const sections = [];
    for (const instance of instances) {
      const plans = plansOf[instance.id];
      const section = el('section', { class: 'instance', 'aria-labelledby': 'i-' + instance.id },
        el('h2', { id: 'i-' + instance.id }, instance.agent_type_id + ' ', status(instance.status)),
        el('p', { class: 'muted' }, 'Instance ' + instance.id + ' · turns ' + budget(instance.turn_count, instance.max_turns) + ' · tokens ' + budget(instance.tokens_total, instance.max_tokens) + (instance.current_step ? ' · at "' + instance.current_step + '"' : '')));
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
          el('tbody', {}, ...rows)));
      }
      sections.push(section);
    }
    list.replaceChildren(...sections);
    for (const [id, value] of Object.entries(typed)) if ($(id)) $(id).value = value;
    if (focused && $(focused)) $(focused).focus();
    $('state').textContent = total + ' instance' + (total === 1 ? '' : 's') + ', live.';
  };
  let pending;
  const soon = () => { clearTimeout(pending); pending = setTimeout(() => render().catch((error) => ($('state').textContent = error.message)), 30); };
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
      await render();
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
