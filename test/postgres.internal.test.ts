// The PostgreSQL adapter's internals: how reasonOf (src/adapters/postgres/faults.ts) classifies a
// driver's error, the order in which prepareCommit has a batch lock its rows (one order for every
// batch, so two batches never wait for each other in a cycle), and the order keys of ids
// (codeUnitKey), which make the database sort ids by UTF-16 code units as the other adapters do.
import { describe, expect, it } from 'vitest';
import { prepareCommit } from '../src/adapters/postgres/commit';
import { reasonOf } from '../src/adapters/postgres/faults';
import { codeUnitKey } from '../src/adapters/text-keys';
import { instanceRecord, leaseRecord, planRecord } from '../src/testing/conformance/fixtures';
import { pgError } from './support/pg-harness';

describe('reasonOf: the reason of a driver error', () => {
  it('classifies every documented SQLSTATE class, socket code and connection message', () => {
    const cases: [unknown, string][] = [
      [pgError('08006'), 'connection'],
      [pgError('08001'), 'connection'],
      [pgError('57P02'), 'connection'],
      [pgError('57P03'), 'connection'],
      [pgError('57P04'), 'failed'],
      [pgError('40001'), 'serialization'],
      [pgError('40002'), 'failed'],
      [pgError('40P01'), 'deadlock'],
      [pgError('42P01'), 'not_migrated'],
      [pgError('42883'), 'not_migrated'],
      [pgError('3F000'), 'not_migrated'],
      [pgError('42601'), 'failed'],
      [pgError('54000'), 'too_large'],
      [pgError('54001'), 'too_large'],
      [pgError('53200'), 'insufficient_resources'],
      [pgError('53300'), 'insufficient_resources'],
      [pgError('25006'), 'read_only'],
      [pgError('25001'), 'failed'],
      [pgError('57014'), 'canceled'],
      ...['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'].map((code): [unknown, string] => [pgError(code), 'connection']),
      [new Error('Connection terminated unexpectedly'), 'connection'],
      [new Error('Connection error'), 'connection'],
      [new Error('timeout exceeded when trying to connect'), 'connection'],
      [new Error('Client was closed and is not queryable'), 'connection'],
      [new Error('Cannot use a pool after calling end on the pool'), 'connection'],
      [new Error('PGlite is closed'), 'connection'],
      [new Error('syntax error at or near "x"'), 'failed'],
      // Several addresses tried: connection only when one of them was refused for that reason.
      [new AggregateError([pgError('XX000'), new Error('nope')], 'all failed'), 'failed'],
      [new AggregateError([new Error('nope'), pgError('ECONNRESET')], 'all failed'), 'connection'],
      [{ code: 42, message: 'not a string code' }, 'failed'],
      [undefined, 'failed'],
      [null, 'failed'],
      ['a string', 'failed'],
    ];
    for (const [cause, reason] of cases) expect(reasonOf(cause), String((cause as Error)?.message ?? cause)).toBe(reason);
  });
});

describe('prepareCommit: the locking order of a batch', () => {
  it('locks in one order: by kind (instance, lease, plan), then id by UTF-16 code units, a check before a write', () => {
    const instance = instanceRecord({ id: 'b' });
    const plans = ['\uffff', '😀', 'a'].map((id) => planRecord({ id }));
    const call = prepareCommit({
      writes: [
        ...plans.map((record) => ({ kind: 'plan' as const, record, expected_version: null })),
        { kind: 'lease', record: leaseRecord({ id: 'b' }), expected_version: 1 },
        { kind: 'instance', record: instance, expected_version: null },
      ],
      events: [],
      checks: [
        { kind: 'lease', id: 'b', expected_version: 1 },
        { kind: 'plan', id: '😀', expected_version: null },
        { kind: 'instance', id: 'c', expected_version: 2 },
        { kind: 'instance', id: 'a', expected_version: null },
      ],
    });
    const items = JSON.parse(call.items) as { op: string; kind: string; id: string }[];
    expect(items.map(({ op, kind, id }) => `${kind} ${id} ${op}`)).toEqual([
      'instance a check',
      'instance b write',
      'instance c check',
      'lease b check',
      'lease b write',
      'plan a write',
      'plan 😀 check',
      'plan 😀 write',
      'plan \uffff write',
    ]);
    // Each write carries its own record.
    for (const item of items as unknown as { op: string; id: string; slot: number }[]) {
      if (item.op === 'write') expect((JSON.parse(call.records[item.slot - 1]!) as { id: string }).id).toBe(item.id);
    }
  });
});

describe('codeUnitKey: the order key of an id', () => {
  it('order keys are the UTF-16 code units, big-endian hex (the documented example)', () => {
    expect(codeUnitKey('a😀')).toBe('0061d83dde00');
    expect(codeUnitKey('')).toBe('');
    expect(codeUnitKey('\u0001\uffff')).toBe('0001ffff');
  });
});
