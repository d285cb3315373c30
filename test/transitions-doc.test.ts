// docs/transitions.md is generated from the machines (`npm run diagrams`, scripts/render-docs.mjs);
// this checks that what it says agrees with the repository's own spec, test/spec/transitions.md:
// the same statuses, the same moves, the same terminal statuses and the same initial status. It
// reads the document and never writes it.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseGeneratedTables, readSpecTables, type SpecTable } from './support/spec-tables';

const spec = readSpecTables();
const generated = parseGeneratedTables(readFileSync(new URL('../docs/transitions.md', import.meta.url), 'utf8'));

const summary = (table: SpecTable) =>
  Object.fromEntries(table.states.map((state) => [state, { targets: [...table.row(state).targets], terminal: table.row(state).terminal }]));

describe('docs/transitions.md agrees with the spec tables', () => {
  it.each(['instance', 'plan', 'step'] as const)('the %s table: the same statuses in the same order, the same targets, the same terminal statuses', (name) => {
    expect(generated[name].states).toEqual(spec[name].states);
    expect(summary(generated[name])).toEqual(summary(spec[name]));
  });

  it('the initial status of each machine is the spec\'s: the instance default, and the first row of the plan and step tables', () => {
    expect(generated.initial).toEqual({ instance: spec.instanceDefault, plan: spec.plan.states[0], step: spec.step.states[0] });
  });
});
