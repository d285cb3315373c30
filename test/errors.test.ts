// The errors the library raises: InstancePlanError.is recognises them by shape (across copies of the
// library), toJSON keeps the error's own code and message, and a CONFLICT that outlived the
// retries says how many attempts were made and keeps the last conflict as its cause.
import { describe, expect, it } from 'vitest';
import { InstancePlanError, memoryAdapter, type StorageAdapter } from '../src';
import { conflictError } from '../src/adapter';
import { expectRejection } from './support/core-fixtures';
import { managerOn } from './support/manager-doubles';


describe('InstancePlanError.is recognises errors of any copy of the library by their shape', () => {
  it('accepts an InstancePlanError, and the error class of another copy of the library', () => {
    const error = new InstancePlanError('CONFLICT', 'changed concurrently');
    expect(InstancePlanError.is(error)).toBe(true);
    expect(InstancePlanError.is(error, 'CONFLICT')).toBe(true);
    expect(InstancePlanError.is(error, 'NOT_FOUND')).toBe(false);
    // A second bundle's copy of the class: `instanceof` can lie across copies; `is` checks the shape.
    class ForeignInstancePlanError extends Error {
      override readonly name = 'InstancePlanError';
      constructor(
        readonly code: string,
        message: string,
      ) {
        super(message);
      }
    }
    const foreign = new ForeignInstancePlanError('STEP_ORDER', 'from another bundle');
    expect(foreign).not.toBeInstanceOf(InstancePlanError);
    expect(InstancePlanError.is(foreign)).toBe(true);
    expect(InstancePlanError.is(foreign, 'STEP_ORDER')).toBe(true);
    expect(InstancePlanError.is(foreign, 'CONFLICT')).toBe(false);
  });

  it.each([
    ['null', null],
    ['undefined', undefined],
    ['a string', 'InstancePlanError'],
    ['a number', 7],
    ['a plain Error', new Error('CONFLICT')],
    ['another error with a known code', Object.assign(new Error('x'), { code: 'CONFLICT' })],
    ['the right name with an unknown code', { name: 'InstancePlanError', code: 'TEAPOT' }],
    ['the right name with a non-string code', { name: 'InstancePlanError', code: 409 }],
    ['the right name without a code', { name: 'InstancePlanError' }],
    ['a function with the right name and code', Object.assign(function InstancePlanError() {}, { code: 'CONFLICT' })],
  ])('refuses %s', (_, value) => {
    expect(InstancePlanError.is(value)).toBe(false);
    expect(InstancePlanError.is(value, 'CONFLICT')).toBe(false);
  });

  it('toJSON keeps its own code and message over same-named details (docs/semantics.md)', () => {
    const error = new InstancePlanError('NOT_FOUND', 'No plan', { kind: 'plan', code: 'other', message: 'other' });
    expect(error.toJSON()).toEqual({ kind: 'plan', code: 'NOT_FOUND', message: 'No plan' });
  });
});


describe('CONFLICT after the retries', () => {
  it('reports the attempts and keeps the last conflict as its cause', async () => {
    const store = memoryAdapter();
    const setup = managerOn(store);
    const instance = await setup.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
    let commits = 0;
    const contended: StorageAdapter = {
      ...store,
      async commit() {
        commits++;
        throw conflictError('instance', instance.id, 1, 2);
      },
    };
    const manager = managerOn(contended, { retries: 2 });
    const error = await expectRejection(manager.transitionInstance(instance.id, { status: 'running' }), 'CONFLICT');
    expect(commits).toBe(3);
    expect(error.details).toMatchObject({ kind: 'instance', id: instance.id, attempts: 3 });
    expect(InstancePlanError.is(error.cause, 'CONFLICT')).toBe(true);
    expect(error.message).toContain((error.cause as Error).message);
  });
});
