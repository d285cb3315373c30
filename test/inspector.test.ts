// The inspector page in a real Chromium (Playwright, headless): over a store a manager changes
// while the page is open, it shows each instance and plan, follows every commit within a second
// (over the change stream), answers a waiting instance's question and sees it resume, is usable
// by keyboard, and axe-core finds no serious or critical violation. The screenshot it takes goes
// to reports/inspector.png; with UPDATE_DOCS_SCREENSHOT=1 it replaces docs/inspector.png (a test
// run leaves the repository's files as they were).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlanManager } from 'instance-plan';
import { instanceDefinition, instanceLogic, machineGraph } from 'instance-plan/machines';
import { createFetchHandler } from 'instance-plan/http';
import { inspectorPage } from 'instance-plan/http/inspector';
import { toNodeListener } from 'instance-plan/http/node';
import { channelOf } from '../src/adapters/postgres/feed';
import { cliBundle } from './support/cli-bundle';
import { sseReader } from './support/sse-reader';

const KEY = 'inspector-key';
let browser: Browser;
let server: Server;
let url: string;
const manager = new PlanManager();

beforeAll(async () => {
  const handler = createFetchHandler(manager, { authenticate: (_request, token) => (token === KEY ? { organization_id: 'acme' } : null), inspector: inspectorPage });
  server = createServer(toNodeListener(handler));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Opens the page and gives it the key by keyboard alone. */
async function opened(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
  await page.goto(`${url}/inspector`);
  await page.keyboard.press('Tab');
  await page.keyboard.type(KEY);
  await page.keyboard.press('Enter');
  return page;
}

const stepStatus = (page: Page, stepId: string) => page.locator(`tr[data-step="${stepId}"] .status`);

describe('the inspector (GET /inspector)', () => {
  it('shows instances and plans, follows each commit within a second, and answers a question', async () => {
    const instance = await manager.createInstance({ organization_id: 'acme', agent_type_id: 'lead-qualifier', max_turns: 20 });
    await manager.transitionInstance(instance.id, { status: 'running' });
    const plan = await manager.createPlan({ instance_id: instance.id, title: 'Qualify lead L-1001', steps: [{ title: 'Fetch lead data', type: 'tool_call' }, { title: 'Ask the rep for the budget', type: 'user_input' }, { title: 'Score the lead', type: 'process' }] });
    const page = await opened();
    await expect.poll(() => page.locator('h2').first().textContent(), { timeout: 5_000 }).toContain('lead-qualifier');
    await expect.poll(() => page.locator('#state').textContent()).toBe('1 instance, live.');

    // The lifecycle and the plan, drawn from the machines, the current state highlighted and the
    // moves out of it drawn stronger (what a screen reader hears says the same).
    const lifecycle = page.locator('svg[data-machine="instance"]');
    const planDiagram = page.locator('svg[data-machine="plan"]');
    expect(await lifecycle.getAttribute('aria-label')).toBe('Lifecycle of lead-qualifier now running; it may move to waiting, paused, completed, error, stopped');
    expect(await lifecycle.locator('g.now').getAttribute('data-state')).toBe('running');
    expect(await lifecycle.locator('g').evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-state')))).toEqual([...instanceLogic.states]);
    expect(await lifecycle.locator('path').count()).toBe(machineGraph(instanceDefinition).moves.length);
    expect(await lifecycle.locator('path.next').count()).toBe(instanceLogic.targets('running').length);
    expect(await planDiagram.getAttribute('data-now')).toBe('pending');
    expect(await planDiagram.locator('g.final').getAttribute('data-state')).toBe('cancelled');

    // The plan's history, opened by keyboard: its changes, oldest first, each with its diff.
    const history = page.locator(`details[data-history="${plan.id}"]`);
    await history.locator('summary').focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => history.locator('li[data-seq]').count(), { timeout: 1_000, interval: 50 }).toBe(1);
    expect(await history.locator('li[data-seq="1"]').textContent()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC plan\.created · created pending$/);
    // The redraw that showed it kept the keyboard where it was.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe(`history-${plan.id}`);

    // Each commit, seen on the page within a second.
    for (const [step_status, output] of [['in_progress', null], ['completed', 'Globex, 120 employees']] as const) {
      await manager.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status, step_output: output });
      await expect.poll(() => stepStatus(page, plan.steps[0]!.id).textContent(), { timeout: 1_000, interval: 50 }).toBe(step_status);
    }
    // The diagram follows (the plan started with its first step), and so does the open timeline.
    expect(await planDiagram.getAttribute('data-now')).toBe('in_progress');
    expect(await planDiagram.locator('g.now').getAttribute('data-state')).toBe('in_progress');
    await expect.poll(() => history.locator('li[data-seq]').count(), { timeout: 1_000, interval: 50 }).toBe(3);
    const second = history.locator('li[data-seq="3"] li');
    expect(await second.evaluateAll((lines) => lines.map((line) => line.textContent))).toEqual([
      'steps.0.status: "in_progress" → "completed"',
      'steps.0.output: null → "Globex, 120 employees"',
      'steps.0.completed_at: null → ' + JSON.stringify((await manager.getPlan(plan.id)).steps[0]!.completed_at),
    ]);
    expect(await history.locator('li[data-seq="2"]').textContent()).toContain('plan.step_executed · pending → in_progress · step pending → in_progress');
    await manager.recordTurn(instance.id, { tokens: 812 });
    await expect.poll(() => page.locator('section.instance p').first().textContent(), { timeout: 1_000, interval: 50 }).toContain('turns 1 of 20 · tokens 812');

    // A question: the instance waits; the page answers it, and sees it resume.
    await manager.executeStep({ plan_id: plan.id, step_id: plan.steps[1]!.id, step_status: 'in_progress' });
    const answer = page.locator(`#answer-${instance.id}`);
    await expect.poll(() => answer.count(), { timeout: 1_000, interval: 50 }).toBe(1);
    await expect.poll(() => page.locator('h2 .status').first().textContent()).toBe('waiting');
    expect(await lifecycle.getAttribute('data-now')).toBe('waiting');
    await answer.focus();
    await page.keyboard.type('40k EUR, decision in Q3');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('h2 .status').first().textContent(), { timeout: 2_000, interval: 50 }).toBe('running');
    expect((await manager.getPlan(plan.id)).steps[1]).toMatchObject({ status: 'completed', output: '40k EUR, decision in Q3' });
    await expect.poll(() => stepStatus(page, plan.steps[1]!.id).textContent(), { timeout: 1_000 }).toBe('completed');

    const screenshot = process.env.UPDATE_DOCS_SCREENSHOT ? '../docs/inspector.png' : '../reports/inspector.png';
    await page.screenshot({ path: fileURLToPath(new URL(screenshot, import.meta.url)), fullPage: true });
    await page.close();
  }, 60_000);

  it('a long history shows its latest 50 changes, each field\'s "before" known once they set it; appended steps show as added', async () => {
    const instance = await manager.createInstance({ organization_id: 'acme', agent_type_id: 'long-runner' });
    await manager.transitionInstance(instance.id, { status: 'running' });
    for (let turn = 1; turn <= 60; turn++) await manager.recordTurn(instance.id, { tokens: 10 });
    const plan = await manager.createPlan({ instance_id: instance.id, title: 'Grow', steps: [{ title: 'First', type: 'process' }] });
    await manager.updatePlan({ plan_id: plan.id, steps: [{ title: 'Second', type: 'process' }] });
    const page = await opened();
    const history = page.locator(`details[data-history="${instance.id}"]`);
    await expect.poll(() => history.count(), { timeout: 5_000 }).toBe(1);
    await history.locator('summary').click();
    await expect.poll(() => history.locator('li[data-seq]').count(), { timeout: 2_000, interval: 50 }).toBe(50);
    expect(await history.locator('p.muted').textContent()).toBe('The latest 50 of 62 changes: a field they change first shows only what it became.');
    // Seq 13 is the window's first: only what turn_count became; from the next on, what it was too.
    const turns = (seq: number) => history.locator(`li[data-seq="${seq}"] li`).evaluateAll((lines) => lines.map((line) => line.textContent).filter((line) => line!.startsWith('turn_count')));
    expect(await turns(13)).toEqual(['turn_count: 11']);
    expect(await turns(14)).toEqual(['turn_count: 11 → 12']);
    expect(await turns(62)).toEqual(['turn_count: 59 → 60']);
    const planHistory = page.locator(`details[data-history="${plan.id}"]`);
    await planHistory.locator('summary').click();
    await expect.poll(() => planHistory.locator('li[data-seq]').count(), { timeout: 2_000, interval: 50 }).toBe(2);
    const appended = await planHistory.locator('li[data-seq="2"] li').evaluateAll((lines) => lines.map((line) => line.textContent!));
    expect(appended.find((line) => line.startsWith('steps.1: '))).toMatch(/^steps\.1: \{"id":"[^"]+","title":"Second"/);
    expect(await planHistory.locator('li[data-seq="2"] li del').count()).toBe(0);
    await page.close();
  }, 60_000);

  it('draws any history it is given: patches without a value, a "-" path (the end of a list), removals', async () => {
    const instance = await manager.createInstance({ organization_id: 'acme', agent_type_id: 'imported' });
    const at = '2026-12-02T10:00:00.000Z';
    const event = (seq: number, changes: unknown[]) => ({ seq, record_id: instance.id, record_kind: 'instance', at, type: 'instance.transitioned', from: 'starting', to: 'starting', changes });
    // A history as another tool might have written it (the page reads what the route answers).
    const events = [
      event(1, [{ op: 'replace', path: [], value: { id: instance.id, items: [{ title: 'X' }] } }]),
      event(2, [{ op: 'add', path: ['items', '-'], value: { title: 'A' } }]),
      event(3, [{ op: 'replace', path: ['note'] }, { op: 'remove', path: ['items', 1] }, { op: 'remove', path: ['gone'] }]),
    ];
    const page = await opened();
    await page.route('**/api/instance-plan/history', (route) => route.fulfill({ contentType: 'application/json', body: JSON.stringify({ success: true, events }) }));
    const history = page.locator(`details[data-history="${instance.id}"]`);
    await expect.poll(() => history.count(), { timeout: 5_000 }).toBe(1);
    await history.locator('summary').click();
    await expect.poll(() => history.locator('li[data-seq]').count(), { timeout: 2_000, interval: 50 }).toBe(3);
    const lines = (seq: number) => history.locator(`li[data-seq="${seq}"] li`).evaluateAll((items) => items.map((item) => item.textContent));
    expect(await lines(2)).toEqual(['items.-: {"title":"A"}']);
    // The "-" appended after X, so the element removed at 1 is A.
    expect(await lines(3)).toEqual(['note: undefined', 'items.1: {"title":"A"}', 'gone: removed']);
    expect(await history.locator('li[data-seq="3"] del').count()).toBe(1);
    await page.close();
  }, 60_000);

  it('axe-core finds no serious or critical violation, the key form included', async () => {
    const page = await browser.newPage();
    await page.goto(`${url}/inspector`);
    const audit = async () => {
      await page.addScriptTag({ path: fileURLToPath(new URL('../node_modules/axe-core/axe.min.js', import.meta.url)) });
      const results = (await page.evaluate(() => (globalThis as unknown as { axe: { run(): Promise<unknown> } }).axe.run())) as { violations: { id: string; impact: string; help: string }[] };
      return results.violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical').map((violation) => `${violation.id}: ${violation.help}`);
    };
    expect(await audit()).toEqual([]);
    await page.fill('#key', KEY);
    await page.press('#key', 'Enter');
    await expect.poll(() => page.locator('#state').textContent(), { timeout: 5_000 }).toContain('live');
    // With the diagrams drawn and a history timeline open.
    expect(await page.locator('svg.machine').count()).toBeGreaterThan(0);
    await page.locator('details[data-history] summary').first().click();
    await expect.poll(() => page.locator('details[open] li[data-seq]').count(), { timeout: 2_000 }).toBeGreaterThan(0);
    expect(await audit()).toEqual([]);
    await page.close();
  }, 60_000);

  it('is served only when given, holds no data, and a wrong key sees nothing', async () => {
    const response = await fetch(`${url}/inspector`);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    const html = await response.text();
    expect(html).not.toContain('lead-qualifier');
    const without = createFetchHandler(new PlanManager(), { authenticate: () => ({}) });
    expect((await without(new Request('http://x/inspector'))).status).toBe(404);
    const page = await browser.newPage();
    await page.goto(`${url}/inspector`);
    await page.fill('#key', 'wrong');
    await page.press('#key', 'Enter');
    await expect.poll(() => page.locator('#state').textContent(), { timeout: 5_000 }).toContain('The API key was not accepted');
    expect(await page.locator('section.instance').count()).toBe(0);
    await page.close();
  }, 60_000);
});

/**
 * Runs `npx instance-plan inspect <store>` as a child process while `agent` (this process) writes
 * the same store, and drives the page: a commit of this process seen within a second, the
 * instance's history following it, a question answered from the page and seen here. `whileShown`
 * runs once the page shows the store. With `feed`, the store has a change feed: the inspector's
 * change stream must carry this process's commit within a second (not only the page's reads).
 */
async function inspectWhileAnotherProcessWrites(store: string, agent: PlanManager, { whileShown = async () => undefined, feed = false }: { whileShown?: () => Promise<void>; feed?: boolean } = {}): Promise<void> {
  const { spawn } = await import('node:child_process');
  const cli = await cliBundle('cli-inspect');
  const instance = await agent.createInstance({ organization_id: 'acme', agent_type_id: 'booker' });
  await agent.transitionInstance(instance.id, { status: 'running' });
  const plan = await agent.createPlan({ instance_id: instance.id, title: 'Book a train', steps: [{ title: 'Which train?', type: 'user_input' }, { title: 'Book it', type: 'tool_call' }] });
  const child = spawn(process.execPath, [cli, 'inspect', store, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let printed = '';
    child.stdout.on('data', (chunk: Buffer) => (printed += chunk));
    child.stderr.on('data', (chunk: Buffer) => (printed += chunk));
    await expect.poll(() => printed, { timeout: 10_000 }).toMatch(/key: \S+\n/);
    const address = /at (http:\/\/127\.0\.0\.1:\d+)\/inspector/.exec(printed)![1]!;
    const key = /key: (\S+)/.exec(printed)![1]!;
    const page = await browser.newPage();
    await page.goto(`${address}/inspector`);
    await page.fill('#key', key);
    await page.press('#key', 'Enter');
    await expect.poll(() => page.locator('caption').first().textContent(), { timeout: 5_000 }).toContain('Book a train');
    await whileShown();
    const stream = feed ? await fetch(`${address}/events`, { headers: { authorization: `Bearer ${key}` } }) : undefined;
    const streamed = stream && sseReader(stream.body!);
    const history = page.locator(`details[data-history="${instance.id}"]`);
    await history.locator('summary').click();
    await expect.poll(() => history.locator('li[data-seq]').count(), { timeout: 1_000, interval: 50 }).toBe(2);

    // A commit of this process, seen by the page within a second, in the diagram and the history too.
    const committed = Date.now();
    await agent.executeStep({ plan_id: plan.id, step_id: plan.steps[0]!.id, step_status: 'in_progress' });
    if (streamed) {
      // Heard by the inspector's process through the store's feed, and streamed to its callers.
      let change;
      do change = await streamed.next();
      while (change && !(change.event === 'change' && (change.data as { records: { id: string }[] }).records.some((record) => record.id === plan.id)));
      expect(change?.event).toBe('change');
      expect(Date.now() - committed).toBeLessThan(1_000);
      await streamed.cancel();
    }
    await expect.poll(() => page.locator('h2 .status').first().textContent(), { timeout: 1_000, interval: 50 }).toBe('waiting');
    expect(await page.locator('svg[data-machine="instance"]').getAttribute('data-now')).toBe('waiting');
    await expect.poll(() => history.locator('li[data-seq="3"] strong').textContent(), { timeout: 1_000, interval: 50 }).toBe('instance.transitioned');
    const diff = await history.locator('li[data-seq="3"] li').evaluateAll((lines) => lines.map((line) => line.textContent));
    expect(diff).toEqual(expect.arrayContaining(['status: "running" → "waiting"', 'needs_input: false → true', 'current_step: null → "Which train?"', 'status_reason: null → "awaiting_input"']));
    await page.fill(`#answer-${instance.id}`, 'The 9:40');
    await page.press(`#answer-${instance.id}`, 'Enter');
    // Answered through the inspector's process: this one reads it from the store.
    await expect.poll(async () => (await agent.getInstance(instance.id)).status, { timeout: 3_000 }).toBe('running');
    expect((await agent.getPlan(plan.id)).steps[0]).toMatchObject({ status: 'completed', output: 'The 9:40' });
    await expect.poll(() => page.locator(`tr[data-step="${plan.steps[0]!.id}"] .status`).textContent(), { timeout: 1_000, interval: 50 }).toBe('completed');
    await page.close();
    child.kill('SIGTERM');
    expect(await new Promise((resolve) => child.on('exit', resolve))).toBe(0);
  } finally {
    child.kill('SIGKILL');
  }
}

describe('npx instance-plan inspect <store>', () => {
  it('serves the inspector over a SQLite file that another process changes, live, and answers from the page', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { default: Database } = await import('better-sqlite3');
    const { migrate, sqliteAdapter } = await import('instance-plan/sqlite');
    const folder = mkdtempSync(join(tmpdir(), 'instance-plan-inspect-'));
    const file = join(folder, 'plans.db');
    const database = new Database(file);
    try {
      migrate(database);
      await inspectWhileAnotherProcessWrites(`sqlite:${file}`, new PlanManager({ adapter: sqliteAdapter({ database }) }));
    } finally {
      database.close();
      rmSync(folder, { recursive: true, force: true });
    }
  }, 60_000);

  const url = process.env.DATABASE_URL;
  it.skipIf(!url)('serves it over PostgreSQL that another process changes, live over LISTEN/NOTIFY (with a server: DATABASE_URL)', async () => {
    const { default: pg } = await import('pg');
    const { migrate, postgresAdapter } = await import('instance-plan/postgres');
    const schema = `inspect_${process.pid}`;
    const pool = new pg.Pool({ connectionString: url });
    try {
      await migrate(pool, { schema });
      // The inspector's process listens on the schema's channel (so the page is told, not only polling).
      const listening = async () => {
        const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = $1", [`LISTEN "${channelOf(schema)}"`]);
        expect(rows[0]!.n).toBe(1);
      };
      await inspectWhileAnotherProcessWrites(`${url}${url!.includes('?') ? '&' : '?'}schema=${schema}`, new PlanManager({ adapter: postgresAdapter({ client: pool, schema }) }), { whileShown: listening, feed: true });
    } finally {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    }
  }, 60_000);
});
