import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import * as z from 'zod/mini';
import { renderDocs } from '../scripts/render-docs.mjs';
import { ERROR_CODES, instanceMachine, InstancePlanError, memoryAdapter, PlanManager, planMachine, stepMachine, type StorageAdapter } from 'instance-plan';
import { conflictError } from 'instance-plan/adapter';
import { compileMachine, toMermaid } from 'instance-plan/machines';
import { createInputSchemas } from 'instance-plan/tool';

const root = new URL('../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

describe('generated docs', () => {
  const files = renderDocs({ machines: { instance: instanceMachine, plan: planMachine, step: stepMachine }, toMermaid, compileMachine });

  test.each(Object.entries(files))('%s matches the machines', (path, text) => {
    let committed = '';
    try {
      committed = read(path);
    } catch {
      // missing: reported by the comparison below
    }
    expect(committed, `${path} differs from the machines: run npm run diagrams`).toBe(text);
  });

  test('lifecycle.md has one Mermaid state diagram per machine', () => {
    const diagrams = files['docs/lifecycle.md']!.match(/```mermaid\nstateDiagram-v2\n/g) ?? [];
    expect(diagrams).toHaveLength(3);
  });
});

// The examples of docs/tool.md: `<!-- request [store=...] -->` or `<!-- transition <id> -->`, then
// a ```json request, then the ```json response it must produce.
interface Example {
  marker: string;
  request: unknown;
  response: unknown;
  line: number;
}

function examplesOf(markdown: string): Example[] {
  const examples: Example[] = [];
  const pattern = /^<!-- ((?:request|transition)[^>]*?) -->\n```json\n([\s\S]*?)```[\s\S]*?```json\n([\s\S]*?)```/gm;
  for (const match of markdown.matchAll(pattern)) {
    const line = markdown.slice(0, match.index).split('\n').length;
    examples.push({ marker: match[1]!, request: JSON.parse(match[2]!), response: JSON.parse(match[3]!), line });
  }
  return examples;
}

/** `"..."` in a documented response stands for any value. */
function withWildcards(documented: unknown): unknown {
  if (documented === '...') return expect.anything();
  if (Array.isArray(documented)) return documented.map(withWildcards);
  if (typeof documented === 'object' && documented !== null) {
    return Object.fromEntries(Object.entries(documented).map(([key, value]) => [key, withWildcards(value)]));
  }
  return documented;
}

type Store = 'memory' | 'conflicting' | 'failing' | 'leased' | 'taken' | 'asking' | 'spent';

/** The store every example starts from, as docs/tool.md describes it. */
async function prepare(store: Store): Promise<PlanManager> {
  const base = memoryAdapter();
  const names: string[] = [];
  let generated = 0;
  let tick = 0;
  const options = {
    clock: () => new Date(Date.UTC(2025, 0, 1, 9, 0, tick++)),
    ids: () => names.shift() ?? `generated-${++generated}`,
  };
  const setup = new PlanManager({ adapter: base, ...options });
  names.push('instance-1');
  await setup.createInstance({ organization_id: 'org-1', agent_type_id: 'lead-qualifier' });
  await setup.transitionInstance('instance-1', { status: 'running' });
  names.push('plan-1', 'step-1', 'step-2', 'step-3');
  await setup.createPlan({
    instance_id: 'instance-1',
    title: 'Lead qualification flow',
    steps: [
      { title: 'Fetch lead data', type: 'tool_call', details: { tool: 'crm.get_lead', arguments: { lead_id: 'L-1001' } } },
      { title: 'Qualify lead', type: 'process' },
      { title: 'Review the score', type: 'review' },
    ],
  });
  await setup.executeStep({ plan_id: 'plan-1', step_id: 'step-1', step_status: 'completed', step_output: '{"company":"Acme","employees":120}' });
  names.push('plan-2', 'step-4');
  await setup.createPlan({ instance_id: 'instance-1', title: 'Old approach', steps: [{ title: 'Cold call', type: 'user_input' }] });
  await setup.updatePlan({ plan_id: 'plan-2', status: 'cancelled' });
  // Leases (docs/scaling.md): another worker holds the instance; or ours was taken over (the
  // clock moves a second per reading, so a lease of one second has run out at the next call).
  if (store === 'leased') await setup.acquireLease('instance-1', { owner: 'worker-2', ttl_ms: 60_000 });
  const ours = store === 'taken' ? await setup.acquireLease('instance-1', { owner: 'worker-1', ttl_ms: 1_000 }) : undefined;
  if (ours) await setup.acquireLease('instance-1', { owner: 'worker-2', ttl_ms: 60_000 });
  // Human in the loop: another plan of the instance asked the person a question, still open.
  if (store === 'asking') {
    names.push('plan-3', 'step-5');
    await setup.createPlan({ instance_id: 'instance-1', title: 'Book the trip', steps: [{ title: 'Which train should I book?', type: 'user_input' }] });
    await setup.executeStep({ plan_id: 'plan-3', step_id: 'step-5', step_status: 'in_progress' });
  }
  // Budgets: two turns allowed, two spent.
  if (store === 'spent') {
    await setup.setBudget('instance-1', { max_turns: 2 });
    await setup.recordTurn('instance-1', { tokens: 900 });
    await setup.recordTurn('instance-1', { tokens: 700 });
  }

  const faults: Record<Store, StorageAdapter['commit'] | undefined> = {
    memory: undefined,
    // Another writer commits between every read and write of ours.
    conflicting: async ({ writes }) => {
      const [write] = writes;
      throw conflictError(write!.kind, write!.record.id, write!.expected_version, (write!.expected_version ?? 0) + 1);
    },
    failing: async () => {
      throw new Error('disk I/O error');
    },
    leased: undefined,
    taken: undefined,
    asking: undefined,
    spent: undefined,
  };
  const commit = faults[store];
  const manager = new PlanManager({ adapter: commit ? { ...base, commit } : base, ...options });
  return ours ? manager.withLease(ours) : manager;
}

async function answer(example: Example): Promise<unknown> {
  const [kind, argument = ''] = example.marker.split(/\s+/);
  if (kind === 'request') {
    const store = (/^store=(\w+)$/.exec(argument)?.[1] ?? 'memory') as Store;
    expect(['memory', 'conflicting', 'failing', 'leased', 'taken', 'asking', 'spent']).toContain(store);
    return (await prepare(store)).forInstance('instance-1').handle(example.request);
  }
  const manager = await prepare('memory');
  try {
    return await manager.transitionInstance(argument, example.request as { status: 'running' });
  } catch (error) {
    if (InstancePlanError.is(error)) return error.toJSON();
    throw error;
  }
}

/** Every object with a `code` is an error: the docs must show all it carries, not a part. */
function expectErrorsShownWhole(actual: unknown, documented: unknown, where: string): void {
  if (typeof documented !== 'object' || documented === null) return;
  if ('code' in documented) {
    expect(Object.keys(actual as object).sort(), `${where}: the fields of the error`).toEqual(Object.keys(documented).sort());
  }
  for (const [key, value] of Object.entries(documented)) {
    expectErrorsShownWhole((actual as Record<string, unknown>)?.[key], value, where);
  }
}

describe('docs/tool.md examples', () => {
  const markdown = read('docs/tool.md');
  const examples = examplesOf(markdown);

  test('every error code of the library has an example', () => {
    const shown = new Set(
      examples.map(({ response }) => {
        const body = response as { error?: { code?: string }; code?: string };
        return body.error?.code ?? body.code;
      }),
    );
    for (const code of ERROR_CODES) expect(shown, `no example in docs/tool.md answers ${code}`).toContain(code);
    // Every marked request was found (a malformed block would be skipped silently).
    expect(examples).toHaveLength(markdown.match(/^<!-- (request|transition)\b/gm)!.length);
  });

  test.each(examples.map((example) => [`line ${example.line}: ${example.marker}`, example] as const))('%s', async (where, example) => {
    const actual = await answer(example);
    const documented = example.response as { success?: boolean; error?: { code?: string } };
    if ('success' in documented) {
      const real = actual as { success: boolean; error?: { code: string } };
      expect(real.success, `${where}: success`).toBe(documented.success);
      expect(real.error?.code, `${where}: error.code`).toBe(documented.error?.code);
    }
    expect(actual, where).toMatchObject(withWildcards(documented) as object);
    expectErrorsShownWhole(actual, documented, where);
  });

  test('the tool schema converts to JSON Schema as tool.md says', () => {
    const schema = z.toJSONSchema(createInputSchemas(new PlanManager().limits).tool) as { oneOf?: { properties: { action: { const: string } } }[] };
    expect(schema.oneOf?.map((option) => option.properties.action.const)).toEqual(['create', 'list', 'update', 'execute_step']);
  });
});

const pages = ['README.md', ...readdirSync(new URL('docs/', root)).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];

test('every relative link in README.md and docs/ leads to a file that exists', () => {
  const broken: string[] = [];
  for (const page of pages) {
    for (const [, target] of read(page).matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
      if (/^[a-z]+:/i.test(target!)) continue;
      if (!existsSync(new URL(target!, new URL(page, root)))) broken.push(`${page} → ${target}`);
    }
  }
  expect(broken).toEqual([]);
});

// README.md and docs/ are for users of the package: they say what the library does, and cite no
// design document or seed (the tool is "the Instance Plan tool", the endpoint "the Transition
// Instance endpoint"). Maintainers' records (mutation runs, timings, commit hashes) are in
// CONTRIBUTING.md, which is not shipped.
test('README.md and docs/ cite no design document, seed or maintainers\' record', () => {
  const cited: string[] = [];
  const citation = /DESIGN\.md|decisions\.md|\bseeds?\b|\b00[0-9]_[0-9a-f]{16}\b|Stryker|\bcommit [0-9a-f]{7,40}\b/gi;
  for (const page of pages) {
    read(page)
      .split('\n')
      .forEach((line, index) => {
        for (const [match] of line.matchAll(citation)) cited.push(`${page}:${index + 1}: ${match}`);
      });
  }
  expect(cited).toEqual([]);
});

test('code in README.md and docs/ imports only entry points the package exports', () => {
  const exported = Object.keys((JSON.parse(read('package.json')) as { exports: Record<string, unknown> }).exports)
    .filter((key) => key !== './package.json')
    .map((key) => (key === '.' ? 'instance-plan' : `instance-plan/${key.slice(2)}`));
  const imported = new Set(pages.flatMap((page) => [...read(page).matchAll(/from '(instance-plan[^']*)'/g)].map((match) => match[1]!)));
  expect([...imported].filter((name) => !exported.includes(name))).toEqual([]);
  expect(imported).not.toContain('instance-plan/memory');
});
