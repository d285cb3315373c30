import { getShortestPaths, getSimplePaths } from '@xstate/graph';
import type { AnyStateMachine, EventObject } from 'xstate';
import { describe, expect, it } from 'vitest';
import { instanceMachine, memoryAdapter, planMachine, PlanManager, stepMachine, type InstanceStatus, type PlanStatus, type StepStatus } from '../src';
import { compileMachine } from '../src/machines';

/**
 * Tests derived from the machines themselves (@xstate/graph): every simple path through each
 * machine, plus a shortest path into each transition that stays in its state, is driven
 * through a real PlanManager, which must follow the path status by status. A test fails when
 * some transition of a machine is not exercised by any generated path.
 */

interface Walk {
  /** [from, event, to] for every step of the path. */
  edges: [string, EventObject, string][];
}

function walksOf(machine: AnyStateMachine, events: EventObject[]): Walk[] {
  const toWalk = (path: { steps: { state: { value: unknown }; event: EventObject }[] }): Walk => {
    const edges: Walk['edges'] = [];
    for (let i = 1; i < path.steps.length; i++) {
      edges.push([String(path.steps[i - 1]!.state.value), path.steps[i]!.event, String(path.steps[i]!.state.value)]);
    }
    return { edges };
  };
  // A state is its status: the machines' context is the record, whose counters would make every
  // recorded turn a new state of an endless graph.
  const options = { events, serializeState: (state: { value: unknown }) => JSON.stringify(state.value) };
  const walks = getSimplePaths(machine, options).map(toWalk);
  // Simple paths never revisit a state, so they miss the edges back into one (waiting -> running)
  // and transitions without a target: reach each state by its shortest path, then take each edge.
  const logic = compileMachine<string>(machine);
  for (const shortest of getShortestPaths(machine, options)) {
    const state = String(shortest.state.value);
    for (const event of events) {
      const edge = logic.resolve(state, event, shortest.state.context);
      if (!edge) continue;
      const walk = toWalk(shortest);
      walk.edges.push([state, event, edge.target ?? state]);
      walks.push(walk);
    }
  }
  return walks;
}

/** Fails listing every (state, event) edge of the machine that no walk takes. */
function expectEveryTransitionCovered(machine: AnyStateMachine, walks: Walk[]): void {
  const logic = compileMachine<string>(machine);
  const taken = new Set(walks.flatMap((walk) => walk.edges.map(([from, event, to]) => `${from} --${event.type}--> ${to}`)));
  const all: string[] = [];
  for (const state of logic.states) {
    for (const eventType of machine.root.states[state]!.transitions.keys()) {
      for (const edge of logic.edges(state, eventType)) all.push(`${state} --${eventType}--> ${edge.target ?? state}`);
    }
  }
  expect(all.length).toBeGreaterThan(0);
  expect(all.filter((edge) => !taken.has(edge))).toEqual([]);
}

function newManager() {
  let tick = 0;
  let id = 0;
  return new PlanManager({
    adapter: memoryAdapter(),
    clock: () => new Date(Date.UTC(2026, 0, 1) + tick++ * 1000),
    ids: () => `id-${++id}`,
  });
}

const statusEvents = (machine: AnyStateMachine) => compileMachine<string>(machine).states.map((type) => ({ type }));

describe('every transition of every machine, exercised through the manager', () => {
  it('instance lifecycle', async () => {
    const events = [...statusEvents(instanceMachine), { type: 'recordTurn' }, { type: 'setCurrentStep' }, { type: 'setBudget' }];
    const walks = walksOf(instanceMachine, events);
    expectEveryTransitionCovered(instanceMachine, walks);
    for (const walk of walks) {
      const manager = newManager();
      let instance = await manager.createInstance({ organization_id: 'org', agent_type_id: 'agent' });
      for (const [from, event, to] of walk.edges) {
        expect(instance.status).toBe(from);
        const before = instance;
        if (event.type === 'recordTurn') instance = await manager.recordTurn(instance.id, { tokens: 7 });
        else if (event.type === 'setCurrentStep') instance = await manager.setCurrentStep(instance.id, `doing ${instance.version}`);
        else if (event.type === 'setBudget') instance = await manager.setBudget(instance.id, { max_tokens: 1_000_000 + instance.version });
        else instance = await manager.transitionInstance(instance.id, { status: event.type as InstanceStatus });
        expect(instance.status, `${from} --${event.type}--> ${to}`).toBe(to);
        expect(instance.version).toBe(before.version + 1);
      }
    }
  });

  it('plan status', async () => {
    const events = [
      ...statusEvents(planMachine).filter((event) => event.type !== 'completed' && event.type !== 'failed'),
      { type: 'completed', summary: 'done' },
      { type: 'failed', summary: 'gave up' },
      { type: 'executeStep' },
      { type: 'appendSteps' },
    ];
    const walks = walksOf(planMachine, events);
    expectEveryTransitionCovered(planMachine, walks);
    for (const walk of walks) {
      const manager = newManager();
      const instance = await manager.createInstance({ organization_id: 'org', agent_type_id: 'agent' });
      let plan = await manager.createPlan({ instance_id: instance.id, title: 'walk', steps: [] });
      const completeOpenSteps = async () => {
        for (const step of plan.steps.filter((candidate) => candidate.status !== 'completed')) {
          plan = await manager.executeStep({ plan_id: plan.id, step_id: step.id, step_status: 'completed', step_output: 'ok' });
        }
      };
      for (const [from, event, to] of walk.edges) {
        expect(plan.status).toBe(from);
        if (event.type === 'appendSteps') {
          plan = await manager.updatePlan({ plan_id: plan.id, steps: [{ title: `step ${plan.steps.length + 1}`, type: 'process' }] });
        } else if (event.type === 'executeStep') {
          // Executing needs a step that is not done yet; adding one here is the plan's own targetless appendSteps.
          if (plan.steps.every((step) => step.status === 'completed')) {
            plan = await manager.updatePlan({ plan_id: plan.id, steps: [{ title: `step ${plan.steps.length + 1}`, type: 'tool_call' }] });
          }
          const open = plan.steps.find((step) => step.status !== 'completed')!;
          plan = await manager.executeStep({ plan_id: plan.id, step_id: open.id, step_status: 'completed', step_output: 'ok' });
        } else {
          if (event.type === 'completed') await completeOpenSteps();
          const summary = 'summary' in event ? { summary: event.summary as string } : {};
          plan = await manager.updatePlan({ plan_id: plan.id, status: event.type as PlanStatus, ...summary });
        }
        expect(plan.status, `${from} --${event.type}--> ${to}`).toBe(to);
      }
    }
  });

  it('step status', async () => {
    const walks = walksOf(stepMachine, statusEvents(stepMachine));
    expectEveryTransitionCovered(stepMachine, walks);
    for (const walk of walks) {
      const manager = newManager();
      const instance = await manager.createInstance({ organization_id: 'org', agent_type_id: 'agent' });
      let plan = await manager.createPlan({ instance_id: instance.id, title: 'walk', steps: [{ title: 'only', type: 'review' }] });
      for (const [from, event, to] of walk.edges) {
        const step = plan.steps[0]!;
        expect(step.status).toBe(from);
        plan = await manager.executeStep({ plan_id: plan.id, step_id: step.id, step_status: event.type as StepStatus, step_output: `${event.type} output` });
        expect(plan.steps[0]!.status, `${from} --${event.type}--> ${to}`).toBe(to);
      }
    }
  });
});
