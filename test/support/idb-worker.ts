// A dedicated worker standing in for an extension's service worker: it opens the database by
// name, starts every step of a plan at once and reports each step that landed. The test kills
// it midway (`worker.terminate()`), as Chrome kills an idle or misbehaving service worker.
import { PlanManager } from 'instance-plan';
import { indexedDBAdapter } from 'instance-plan/indexeddb';

interface Start {
  name: string;
  planId: string;
}

addEventListener('message', (event: MessageEvent<Start>) => {
  const { name, planId } = event.data;
  const manager = new PlanManager({ adapter: indexedDBAdapter({ name }), retries: 1000 });
  void manager.getPlan(planId).then((plan) => {
    postMessage({ ready: true });
    for (const step of plan.steps) {
      void manager.executeStep({ plan_id: planId, step_id: step.id, step_status: 'in_progress' }).then(
        () => postMessage({ landed: step.id }),
        (error: unknown) => postMessage({ failed: step.id, error: String(error) }),
      );
    }
  });
});
