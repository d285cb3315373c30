import { readFileSync } from 'node:fs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import * as root from 'instance-plan';
import * as adapter from 'instance-plan/adapter';
import * as machines from 'instance-plan/machines';
import * as tool from 'instance-plan/tool';
import * as http from 'instance-plan/http';
import * as httpNode from 'instance-plan/http/node';
import * as httpOpenApi from 'instance-plan/http/openapi';
import * as httpInspector from 'instance-plan/http/inspector';
import * as testing from 'instance-plan/testing';
import * as indexeddb from 'instance-plan/indexeddb';
import * as postgres from 'instance-plan/postgres';
import * as sqlite from 'instance-plan/sqlite';
import { PlanManager, type ListToolResult, type PlanToolResult, type ToolFailure, type ToolResult } from 'instance-plan';

// What each entry point offers. The root holds what an application needs and stays small; the
// rest lives on named subpaths, and no runtime name is offered by two entries.

const entries: Record<string, object> = {
  'instance-plan': root,
  'instance-plan/adapter': adapter,
  'instance-plan/machines': machines,
  'instance-plan/tool': tool,
  'instance-plan/http': http,
  'instance-plan/http/node': httpNode,
  'instance-plan/http/openapi': httpOpenApi,
  'instance-plan/http/inspector': httpInspector,
  'instance-plan/testing': testing,
  'instance-plan/indexeddb': indexeddb,
  'instance-plan/postgres': postgres,
  'instance-plan/sqlite': sqlite,
};

describe('the public entry points', () => {
  it('the root offers exactly what an application needs, at most 25 runtime names', () => {
    expect(Object.keys(root).sort()).toEqual(
      [
        'PlanManager',
        'InstancePlanError',
        'ERROR_CODES',
        'memoryAdapter',
        'copyStore',
        'dumpStore',
        'loadDump',
        'replay',
        'instanceMachine',
        'planMachine',
        'stepMachine',
        'InstanceStatus',
        'PlanStatus',
        'StepStatus',
        'StepType',
        'PlanType',
        'Ordering',
        'StatusReason',
        'Instance',
        'Plan',
        'Step',
        'Lease',
        'JsonObject',
        'DEFAULT_LIMITS',
        'MAX_LEASE_TTL_MS',
      ].sort(),
    );
    expect(Object.keys(root).length).toBeLessThanOrEqual(25);
  });

  it('adapter authors get the contract\'s helpers on instance-plan/adapter, and nothing else', () => {
    expect(Object.keys(adapter).sort()).toEqual(['INDEXED_FIELDS', 'checkBatch', 'checkHistoryPage', 'checkListQuery', 'compareNewestFirst', 'conflictError', 'pageOfEvents', 'storageError']);
  });

  it('the compiled tables and diagrams are on instance-plan/machines, the machines themselves on the root', () => {
    expect(Object.keys(machines)).toEqual(expect.arrayContaining(['instanceLogic', 'planLogic', 'stepLogic', 'compileMachine', 'toMermaid', 'applyEdge']));
    for (const name of ['instanceMachine', 'planMachine', 'stepMachine']) expect(Object.keys(machines)).not.toContain(name);
  });

  it('nothing is offered twice: no value under two names or by two entry points', () => {
    // Each store adapter has a SCHEMA_VERSION of its own, a number that may equal another's by
    // chance (PostgreSQL's and SQLite's are both 1): one name per entry, not one value offered twice.
    const offeredBy = new Map<unknown, string[]>();
    for (const [entry, module] of Object.entries(entries)) {
      for (const [name, value] of Object.entries(module)) if (name !== 'SCHEMA_VERSION') offeredBy.set(value, [...(offeredBy.get(value) ?? []), `${entry}: ${name}`]);
    }
    const twice = [...offeredBy.values()].filter((where) => where.length > 1);
    expect(twice).toEqual([]);
  });

  it('no public name speaks of seeds or internals', () => {
    for (const [entry, module] of Object.entries(entries)) {
      for (const name of Object.keys(module)) expect(name, `${entry} exports ${name}`).not.toMatch(/seed|^_|internal/i);
    }
    // Types are not enumerable at run time: read the entry files' export lists instead.
    const files = ['src/index.ts', 'src/adapter.ts', 'src/machines/index.ts', 'src/tool/index.ts', 'src/http/index.ts', 'src/testing/index.ts'];
    for (const file of files) {
      const exported = readFileSync(new URL(`../${file}`, import.meta.url), 'utf8')
        .split('\n')
        .filter((line) => !line.trimStart().startsWith('//'))
        .join('\n');
      expect(exported, file).not.toMatch(/seed/i);
    }
  });

  it('package.json exports each entry point the tests import, and no other', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { exports: Record<string, unknown> };
    const subpaths = Object.keys(pkg.exports).filter((key) => key !== './package.json');
    expect(subpaths.map((key) => (key === '.' ? 'instance-plan' : `instance-plan/${key.slice(2)}`)).sort()).toEqual(Object.keys(entries).sort());
  });
});

describe('handle() is typed by action', () => {
  it('create, update and execute_step answer plan results, list a list result, each or a refusal', async () => {
    const manager = new PlanManager();
    const created = await manager.handle({ action: 'create', instance_id: 'i-1', title: 'Typed', steps: [{ title: 'one', type: 'process' }] });
    expectTypeOf(created).toEqualTypeOf<PlanToolResult | ToolFailure>();
    if (!created.success) throw new Error(created.error.message);
    expect(created.plan.title).toBe('Typed');
    expect(created.next_step?.title).toBe('one');

    const listed = await manager.handle({ action: 'list', instance_id: 'i-1' });
    expectTypeOf(listed).toEqualTypeOf<ListToolResult | ToolFailure>();
    if (!listed.success) throw new Error(listed.error.message);
    expect(listed.total).toBe(1);

    const executed = await manager.forInstance('i-1').handle({ action: 'execute_step', plan_id: created.plan.id, step_id: created.plan.steps[0]!.id, step_status: 'in_progress' });
    expectTypeOf(executed).toEqualTypeOf<PlanToolResult | ToolFailure>();
    expect(executed.success && executed.plan.steps[0]!.status).toBe('in_progress');

    const refused = await manager.handle({ action: 'update', plan_id: 'missing' });
    expectTypeOf(refused).toEqualTypeOf<PlanToolResult | ToolFailure>();
    expect(refused.success === false && refused.error.code).toBe('NOT_FOUND');

    // A model's JSON is not known to be one action: the answer is any tool result.
    const unknown: unknown = JSON.parse('{"action":"list","instance_id":"i-1"}');
    expectTypeOf(await manager.handle(unknown)).toEqualTypeOf<ToolResult>();
  });
});
