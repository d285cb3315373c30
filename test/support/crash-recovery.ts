// The crash-and-recover scenario run on each durable store: one worker killed in the middle of a
// step (SIGKILL of a process; `terminate()` of a Web Worker in Chromium), another stopped there
// (SIGSTOP; a Web Worker waiting). A new holder recovers each time; nothing acknowledged is lost,
// the interrupted step is failed and then retried (attempts 2), and the stopped worker's late
// completion is refused by the store.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { expect } from 'vitest';
import { replay, type Instance, type Plan, type PlanManager } from 'instance-plan';
import type { StepWorkerLine } from './step-worker';

/** A worker running `stepWorker` (see step-worker.ts), as the test drives it. */
export interface StepWorkerHandle {
  /** Resolves once it is ready to start. */
  ready: Promise<void>;
  /** Everything it said so far. */
  said(): StepWorkerLine[];
  /** What it wrote to stderr, for failure messages. */
  stderr(): string;
  go(): void;
  /** Kills it at once (it gets no chance to clean up). */
  kill(): Promise<void>;
  /** Stops it where it is (a process: SIGSTOP), then lets it go on from its hang. */
  stop(): void;
  resume(): void;
  /** Resolves when it ended by itself, with whether it ended cleanly. */
  finished: Promise<boolean>;
}

/** A worker process running `stepWorker`: prints "ready", then one JSON line per thing said. */
export interface StepWorkerProcess {
  child: ChildProcessWithoutNullStreams;
  ready: Promise<void>;
  exited: Promise<number | null>;
  /** Every line it printed after "ready". */
  lines: string[];
  stderr(): string;
}

/** Drives a worker process with signals: SIGKILL, SIGSTOP and SIGCONT, and stdin to go on from its hang. */
export function processHandle(worker: StepWorkerProcess): StepWorkerHandle {
  return {
    ready: worker.ready,
    said: () => worker.lines.filter((line) => line.startsWith('{"')).map((line) => JSON.parse(line) as StepWorkerLine),
    stderr: worker.stderr,
    go: () => worker.child.stdin.write('go\n'),
    kill: async () => {
      worker.child.kill('SIGKILL');
      await worker.exited;
    },
    stop: () => worker.child.kill('SIGSTOP'),
    resume: () => {
      worker.child.kill('SIGCONT');
      worker.child.stdin.end('continue\n');
    },
    finished: worker.exited.then((code) => code === 0),
  };
}

export interface CrashRecoveryWorld {
  /** Reads the store as it is. */
  manager: PlanManager;
  /** On the same store, its clock a minute ahead: the workers' 30 s leases have run out for it. */
  later: PlanManager;
  instance: Instance;
  /** A plan of three steps, worked in order. */
  plan: Plan;
  /** Starts a worker for `owner` that hangs at step `hang_at`. */
  start(owner: string, hang_at: number): StepWorkerHandle;
}

const said = (worker: StepWorkerHandle) => worker.said();

async function saw(worker: StepWorkerHandle, wanted: (line: StepWorkerLine) => boolean): Promise<void> {
  for (let waited = 0; !said(worker).some(wanted); waited += 5) {
    if (waited > 60_000) throw new Error(`the worker never said it: ${JSON.stringify(said(worker))} ${worker.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Runs the scenario; answers the figures to report. */
export async function crashAndRecover({ manager, later, instance, plan, start }: CrashRecoveryWorld) {
  const step = (i: number) => plan.steps[i]!.id;

  // 1. Killed: step 0 completed and acknowledged, step 1 started, then killed.
  const killed = start('worker-killed', 1);
  await killed.ready;
  killed.go();
  await saw(killed, (line) => 'started' in line && line.started === 1);
  await killed.kill();
  const recovered = await later.acquireLease(instance.id, { owner: 'worker-next', ttl_ms: 1_000 });
  expect(recovered.recovered).toMatchObject({ previous_owner: 'worker-killed', previous_token: 1, steps: [{ step_id: step(1), status: 'failed' }] });
  const acknowledged = said(killed).flatMap((line) => ('version' in line ? [line.version] : []));
  let stored = await manager.getPlan(plan.id);
  // Every acknowledged change is stored; the recovery is the one change after them.
  expect(stored.version).toBe(Math.max(...acknowledged) + 1);
  expect(stored.steps.map((s) => [s.status, s.attempts])).toEqual([['completed', 1], ['failed', 1], ['pending', 0]]);
  expect(stored.steps[1]!.output).toMatch(/^Interrupted: its worker "worker-killed" \(lease token 1\)/);
  const next = later.withLease(recovered);
  stored = await next.executeStep({ plan_id: plan.id, step_id: step(1), step_status: 'in_progress' });
  expect(stored.steps[1]).toMatchObject({ status: 'in_progress', attempts: 2 });
  await next.releaseLease(next.lease!);

  // 2. Stopped: a new worker takes the instance (token 3), finishes step 1, starts step 2, and is stopped there.
  const stopped = start('worker-stopped', 2);
  await stopped.ready;
  stopped.go();
  await saw(stopped, (line) => 'started' in line && line.started === 2);
  stopped.stop();
  const taken = await later.acquireLease(instance.id, { owner: 'worker-third', ttl_ms: 1_000 });
  expect(taken.recovered).toMatchObject({ previous_owner: 'worker-stopped', previous_token: 3, steps: [{ step_id: step(2), status: 'failed' }] });
  const settled = await manager.getPlan(plan.id);
  stopped.resume();
  await saw(stopped, (line) => 'refused' in line);
  expect(await stopped.finished).toBe(true);
  expect(said(stopped).find((line) => 'refused' in line)).toEqual({ refused: 'LEASE_LOST', reason: 'taken' });
  // The late completion changed nothing.
  expect(await manager.getPlan(plan.id)).toEqual(settled);
  expect(settled.steps.map((s) => [s.status, s.attempts])).toEqual([['completed', 1], ['completed', 2], ['failed', 1]]);
  const events = await manager.history(plan.id);
  expect(events.map((event) => event.seq)).toEqual(Array.from({ length: settled.version }, (_, i) => i + 1));
  expect(replay(events)).toEqual(settled);
  return { killed_acknowledged: acknowledged.length, lost: 0, recovered_steps: 2, late_writes_refused: 1 };
}
