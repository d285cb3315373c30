// The floor: the same job as PlanManager.executeStep on the memory adapter, for one plan,
// without our layers. It validates the step move, produces the next record immutably
// (structural sharing: only the plan object, its steps array and the one step are new), and
// compares-and-sets it in a Map. No input parsing, no copies out, no history, no events.
//
// The allowed moves are read from the step machine (stepLogic), never written out here.
import { stepLogic } from '../dist/machines/index.js';

const allowed = new Map(stepLogic.states.map((state) => [state, new Set(stepLogic.targets(state))]));

export function referenceStore() {
  const plans = new Map();
  return {
    put(plan) {
      plans.set(plan.id, plan);
    },
    get(id) {
      return plans.get(id);
    },
    /** Returns the new plan, or throws on an illegal move or a lost compare-and-set. */
    executeStep(planId, stepId, to, output, now) {
      const plan = plans.get(planId);
      if (!plan) throw new Error('no plan');
      const index = plan.steps.findIndex((step) => step.id === stepId);
      if (index < 0) throw new Error('no step');
      const step = plan.steps[index];
      if (!allowed.get(step.status).has(to)) throw new Error(`illegal ${step.status} -> ${to}`);
      const steps = plan.steps.slice();
      steps[index] = { ...step, status: to, output: output ?? step.output, attempts: step.status === 'in_progress' ? step.attempts : step.attempts + 1 };
      const next = { ...plan, steps, status: plan.status === 'pending' ? 'in_progress' : plan.status, updated_at: now, version: plan.version + 1 };
      if (plans.get(planId).version !== plan.version) throw new Error('conflict');
      plans.set(planId, next);
      return next;
    },
  };
}
