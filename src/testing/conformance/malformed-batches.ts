import type { CommitBatch } from '../../adapters/contract';
import { check, checkRejects } from './assert';
import { createBatch, planRecord } from './fixtures';
import { checkUnchanged, snapshot, type Harness } from './harness';

/**
 * Malformed batches: a programming error, refused with a `TypeError` that names the field, before
 * anything is written (`checkBatch` does these checks for an adapter). Each case follows a valid
 * write, so "nothing written" also means "not even the part before the fault".
 */
export function malformedBatches(h: Harness): void {
  h.describe('malformed batches', () => {
    h.it('are refused with a TypeError naming the field, and nothing of them is written', async ({ adapter }) => {
      const stored = planRecord({ id: 'plan-1' });
      await adapter.commit(createBatch(['plan', stored]));
      const valid = createBatch(['plan', planRecord({ id: 'plan-2' })]);
      const write = valid.writes[0]!;
      const withWrite = (bad: unknown): CommitBatch => ({ ...valid, writes: [write, bad as never] });
      const withRecord = (changes: Record<string, unknown>) => withWrite({ ...write, record: { ...write.record, id: 'plan-3', ...changes } });
      const withCheck = (bad: unknown): CommitBatch => ({ ...valid, checks: [{ kind: 'plan', id: 'plan-1', expected_version: 1 }, bad as never] });
      const cases: [field: string, batch: unknown][] = [
        ['batch', null],
        ['batch', { writes: 'plan-2', events: [] }],
        ['batch', { writes: [write] }],
        ['writes[1]', withWrite(null)],
        ['writes[1].kind', withWrite({ ...write, kind: 'step' })],
        ['writes[1].record', withWrite({ ...write, record: null })],
        ['writes[1].record.id', withRecord({ id: 3 })],
        ['writes[1].record.created_at', withRecord({ created_at: undefined })],
        ['writes[1].record.version', withRecord({ version: 1.5 })],
        ['writes[1].expected_version', withWrite({ ...write, record: { ...write.record, id: 'plan-3' }, expected_version: 'none' })],
        ['twice', withWrite(write)],
        ['events[0]', { ...valid, events: [{ ...valid.events[0], record_id: undefined }] }],
        ['events[0]', { ...valid, events: [{ ...valid.events[0], seq: 'first' }] }],
        ['checks', { ...valid, checks: { kind: 'plan', id: 'plan-1', expected_version: 1 } }],
        ['checks[1]', withCheck(null)],
        ['checks[1].kind', withCheck({ kind: 'step', id: 'plan-1', expected_version: 1 })],
        ['checks[1].id', withCheck({ kind: 'plan', id: 1, expected_version: 1 })],
        ['checks[1].expected_version', withCheck({ kind: 'plan', id: 'plan-1', expected_version: 0.5 })],
      ];
      const ids = { plan: ['plan-1', 'plan-2', 'plan-3'] };
      const before = await snapshot(adapter, ids);
      for (const [field, batch] of cases) {
        const what = `a batch malformed at ${field}`;
        const error = await checkRejects(adapter.commit(batch as CommitBatch), what);
        check(error instanceof TypeError, `${what}: expected a TypeError, got ${String(error)}`);
        check((error as TypeError).message.includes(field), `${what}: the message must name ${field}, got "${(error as TypeError).message}"`);
        await checkUnchanged(adapter, before, ids, what);
      }
    });
  });
}
