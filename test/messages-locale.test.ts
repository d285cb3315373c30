import * as z from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlanManager } from '../src';

/** Our refusals are written from zod's issue data; a locale loaded by someone else must not change them. */
describe('validation messages with a zod locale configured globally by the app', () => {
  // What an app (or a library it loads) may do; zod/mini would then carry English locale text.
  beforeAll(() => z.config(z.locales.en()));
  afterAll(() => z.config({ localeError: undefined }));

  it('still lists the accepted actions, types and keys in our words', async () => {
    const manager = new PlanManager();
    const unknownAction = await manager.handle({ action: 'delete' });
    expect(unknownAction).toMatchObject({
      success: false,
      error: { code: 'VALIDATION_ERROR', message: 'Invalid instance_plan call: action must be one of: "create", "list", "update", "execute_step"' },
    });
    const wrongType = await manager.handle({ action: 'update', plan_id: 'p', title: 7 });
    expect(wrongType).toMatchObject({ error: { issues: [{ path: 'title', message: 'must be a string, got a number' }] } });
    const unknownKey = await manager.handle({ action: 'list', instance_id: 'i', colour: 'red' });
    expect(unknownKey).toMatchObject({ error: { issues: [{ path: '(input)', message: expect.stringMatching(/^unknown key: "colour" \(accepted: action, /) }] } });
  });
});
