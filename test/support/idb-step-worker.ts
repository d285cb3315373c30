// A dedicated worker standing in for an extension's service worker in the crash test of
// test/indexeddb.browser.test.ts: it opens the database by name and runs `stepWorker`, posting
// everything it says; at its hang it waits for a "continue" message, or for `terminate()`.
import { PlanManager } from 'instance-plan';
import { indexedDBAdapter } from 'instance-plan/indexeddb';
import { stepWorker, type StepWorkerConfig } from './step-worker';

let resume: (() => void) | undefined;

addEventListener('message', (event: MessageEvent<{ name: string; config: StepWorkerConfig } | 'continue'>) => {
  if (event.data === 'continue') return resume?.();
  const manager = new PlanManager({ adapter: indexedDBAdapter({ name: event.data.name }) });
  stepWorker(manager, event.data.config, (line) => postMessage({ line }), () => new Promise<void>((resolve) => (resume = resolve))).then(
    () => postMessage({ finished: true }),
    (error: unknown) => postMessage({ finished: false, error: String(error) }),
  );
});
