import { enablePatches, Immer } from 'immer';
import type { CommittedChange, HistoryEvent, HistoryPage, StorageAdapter } from '../adapters/contract';
import type { InstancePlanError } from '../errors';
import { memoryAdapter } from '../adapters/memory';
import { createInputSchemas } from '../schemas/inputs';
import type {
  CreateInstanceInput,
  CreatePlanInput,
  ExecuteStepInput,
  ListInstancesInput,
  ListPlansInput,
  RecordTurnInput,
  SetBudgetInput,
  TransitionInstanceInput,
  UpdatePlanInput,
} from '../schemas/inputs';
import { resolveLimits, type Limits } from '../schemas/limits';
import type { Instance, Lease, Plan } from '../schemas/records';
import { read, storeReader } from './reader';
import { deepFreeze } from '../adapters/freeze';
import type { ManagerContext } from './context';
import type { Scope } from './scope';
import { findStale, recover, type AcquiredLease, type Recovery, type RecoveryPolicy, type StaleInstance } from './recovery';
import { acquireLease, parseHeldLease, releaseLease, renewLease, type AcquireLeaseOptions, type Fence, type RenewLeaseOptions } from './leases';
import { executeStep } from './execute-step';
import { createInstance, getInstance, listInstances, recordTurn, setBudget, setCurrentStep, transitionInstance } from './instances';
import { questionOf } from './human-input';
import { createPlan, getPlan, listPlans, updatePlan } from './plans';
import { historyPage } from './history-page';
import { resolveRetention, type Retention } from './retention';
import { randomId } from '../random-id';
import { notFound } from '../refusals';
import { instanceInScope } from '../adapters/in-scope';
import { narrowScope, planInScope } from './scope';
import { boundedStore } from './bounded-store';
import { resolveBackoff } from './backoff';
import { handleTool, type ToolAction, type ToolContext, type ToolResult, type ToolResultOf } from './tool';
import { parseInput } from './validate';

export interface PlanManagerOptions {
  /** Where records live. Default: a fresh `memoryAdapter()`. */
  adapter?: StorageAdapter;
  /** The current time. Default: `() => new Date()`. */
  clock?: () => Date;
  /** New record ids. Default: `crypto.randomUUID()`. */
  ids?: () => string;
  /** Which records this manager may see and change. Default: all. */
  scope?: Scope;
  /** Size limits of input; each defaults to `DEFAULT_LIMITS`. */
  limits?: Partial<Limits>;
  /** Re-reads and retries after a version conflict before reporting `CONFLICT`. Default 10. */
  retries?: number;
  /**
   * The pause before each retry after a conflict: a random time up to `initialMs`, doubling with
   * each retry up to `maxMs` (full jitter), so writers racing on one record spread out instead of
   * colliding again. Default `{ initialMs: 2, maxMs: 64 }`; `{ initialMs: 0 }` retries at once.
   */
  backoff?: { initialMs?: number; maxMs?: number };
  /**
   * How long one operation on the store (a read, a list, a commit, a transaction) may take before
   * it is answered `STORAGE_ERROR` with reason `timeout` (a commit's may still land: the answer
   * says so). Default 30,000 ms; null: no bound.
   */
  storeTimeoutMs?: number | null;
  /**
   * How much history each record keeps: `'all'` (the default), or `{ events: n }`: at least its
   * last n events and at most 2n, the oldest kept one carrying a snapshot of the record, so
   * `replay` still yields it. Older events are dropped in the same commit as the change that
   * writes the next snapshot.
   */
  retention?: Retention;
  /**
   * The operator's hook for faults of the store: every `STORAGE_ERROR` the tool (`handle`,
   * `forInstance`) answers reaches it with the store's own words and its cause, while the answer
   * (read by a model or an HTTP caller) carries only the reason and whether the change may have
   * landed. A hook that throws is ignored.
   */
  onError?: (error: InstancePlanError, context: { operation: string; action?: string }) => void;
}

export type ChangeListener = (change: CommittedChange) => void;

/** The Instance Plan tool bound to one instance (`PlanManager#forInstance`). */
export interface InstanceTool {
  readonly instance_id: string;
  /** As `PlanManager#handle`, with `instance_id` filled in for `create` and `list`. */
  handle<A extends ToolAction>(input: { action: A } & Record<string, unknown>): Promise<ToolResultOf<A>>;
  handle(input: unknown): Promise<ToolResult>;
}

/** A view of a manager: the same store and settings, writing under a fence, or seeing a narrower scope. */
interface ViewSource {
  context: ManagerContext;
  fence?: Fence;
  scope?: Readonly<Scope>;
}

/**
 * The view the constructor is building, if any: set by `createView` (module-private) for the
 * length of one `new PlanManager()`, so no public option can make a view.
 */
let pendingView: ViewSource | undefined;

/** A hook whose own fault must not change the answer it was told about. */
function quietly<A extends unknown[]>(hook: (...args: A) => void): (...args: A) => void {
  return (...args) => {
    try {
      // An async hook's rejection is caught too: unhandled, it would end a Node process.
      const returned: unknown = hook(...args);
      if (returned instanceof Promise) returned.catch(() => undefined);
    } catch {
      // the operator's hook failed: the caller's answer stands
    }
  };
}

function createView(source: ViewSource): PlanManager {
  pendingView = source;
  try {
    return new PlanManager();
  } finally {
    pendingView = undefined;
  }
}

/**
 * Applies the instance, plan and step machines to stored records: validates input, computes
 * the next record, commits it with its history event through the adapter (compare-and-set),
 * and tells subscribers. Methods throw `InstancePlanError`; `handle` never throws.
 *
 * @example
 * const manager = new PlanManager({ adapter: memoryAdapter() });
 * const instance = await manager.createInstance({ organization_id: 'org-1', agent_type_id: 'researcher' });
 * await manager.transitionInstance(instance.id, { status: 'running' });
 */
export class PlanManager {
  readonly #context: ManagerContext;
  readonly #listeners = new Set<ChangeListener>();
  #unsubscribeAdapter: (() => void) | undefined;
  #delivery: Promise<void> = Promise.resolve();

  constructor(options: PlanManagerOptions = {}) {
    const view = pendingView;
    pendingView = undefined;
    if (view) {
      // A lease view (withLease: plus the fence) or a scoped one (withScope: a narrower scope):
      // the same store, clock and limits. Its commits reach the parent's subscribers too when
      // the adapter has no feed of its own.
      const parent = view.context;
      this.#context = {
        ...parent,
        ...(view.fence && { fence: view.fence }),
        ...(view.scope && { scope: view.scope }),
        announce: (change) => {
          parent.announce(change);
          if (!parent.adapter.subscribe) this.#deliver(change);
        },
      };
      return;
    }
    enablePatches();
    const clock = options.clock ?? (() => new Date());
    const retries = options.retries ?? 10;
    if (!Number.isSafeInteger(retries) || retries < 0) throw new TypeError(`retries must be a non-negative integer, got ${String(retries)}`);
    const limits = resolveLimits(options.limits);
    const storeTimeoutMs = options.storeTimeoutMs === undefined ? 30_000 : options.storeTimeoutMs;
    if (storeTimeoutMs !== null && !(Number.isSafeInteger(storeTimeoutMs) && storeTimeoutMs >= 1)) {
      throw new TypeError(`storeTimeoutMs must be a whole number of milliseconds of at least 1, or null, got ${String(storeTimeoutMs)}`);
    }
    const backoff = resolveBackoff(options.backoff);
    const adapter = boundedStore(options.adapter ?? memoryAdapter(), storeTimeoutMs);
    this.#context = {
      adapter,
      reader: storeReader(adapter),
      now: () => clock().toISOString(),
      newId: options.ids ?? randomId,
      scope: Object.freeze({ ...options.scope }),
      limits: Object.freeze(limits),
      schemas: createInputSchemas(limits),
      retries,
      backoff,
      retention: resolveRetention(options.retention),
      ...(options.onError && { onError: quietly(options.onError) }),
      immer: new Immer({ autoFreeze: false }),
      announce: (change) => {
        if (!adapter.subscribe) this.#deliver(change);
      },
    };
  }

  /** The scope this manager was built with (frozen). */
  get scope(): Readonly<Scope> {
    return this.#context.scope;
  }

  /** The limits this manager enforces (frozen). */
  get limits(): Readonly<Limits> {
    return this.#context.limits;
  }

  // Instances (the Transition Instance endpoint and the rest of the lifecycle)

  /** Creates an instance in status `starting`. */
  createInstance(input: CreateInstanceInput): Promise<Instance> {
    return createInstance(this.#context, input);
  }

  getInstance(id: string): Promise<Instance> {
    return getInstance(this.#context, id);
  }

  /** Instances newest first; `limit` defaults to 20 (at most 100). */
  listInstances(input?: ListInstancesInput): Promise<{ instances: Instance[]; total: number }> {
    return listInstances(this.#context, input);
  }

  /** The Transition Instance endpoint: moves the instance to `status` and returns the whole record. */
  transitionInstance(id: string, input: TransitionInstanceInput): Promise<Instance> {
    return transitionInstance(this.#context, id, input);
  }

  /** Counts one LLM turn and the tokens it used (allowed while `running` or `waiting`). */
  recordTurn(id: string, input: RecordTurnInput): Promise<Instance> {
    return recordTurn(this.#context, id, input);
  }

  /** Sets the description of what the instance is doing now (or null). */
  setCurrentStep(id: string, text: string | null): Promise<Instance> {
    return setCurrentStep(this.#context, id, text);
  }

  /**
   * Sets the instance's budgets: `max_turns`, `max_tokens` (null: no limit; a field left out is
   * kept). A turn that reaches a budget pauses the instance (`status_reason` `budget_exhausted`)
   * and its steps are refused with `BUDGET_EXCEEDED` until the budget is raised and the instance
   * resumed; a budget set at or below what was used pauses it now.
   */
  setBudget(id: string, budget: SetBudgetInput): Promise<Instance> {
    return setBudget(this.#context, id, budget);
  }

  /**
   * Answers the instance's open question: completes its `user_input` step in progress with `text`
   * as the step's output, which moves a waiting instance back to `running` in the same commit.
   * Returns the plan of the question; `NOT_FOUND` when no question is open.
   *
   * @example
   * const { instances } = await manager.listInstances({ needs_input: true }); // the inbox
   * await manager.answer(instances[0].id, 'Yes, book the 9:40 train');
   */
  async answer(instanceId: string, text: string): Promise<Plan> {
    const context = this.#context;
    const answer = parseInput(context.schemas.answer, text, 'answer');
    const question = await questionOf(context, parseInput(context.schemas.id, instanceId, 'instance id'));
    return executeStep(context, { plan_id: question.plan_id, step_id: question.step_id, step_status: 'completed', step_output: answer });
  }

  // Plans (the Instance Plan tool's actions, as methods that throw)

  createPlan(input: CreatePlanInput): Promise<Plan> {
    return createPlan(this.#context, input);
  }

  getPlan(planId: string): Promise<Plan> {
    return getPlan(this.#context, planId);
  }

  /** Plans newest first; `limit` defaults to 20 (at most 100). */
  listPlans(input?: ListPlansInput): Promise<{ plans: Plan[]; total: number }> {
    return listPlans(this.#context, input);
  }

  updatePlan(input: UpdatePlanInput): Promise<Plan> {
    return updatePlan(this.#context, input);
  }

  executeStep(input: ExecuteStepInput): Promise<Plan> {
    return executeStep(this.#context, input);
  }

  // Leases (docs/scaling.md): one worker drives an instance at a time

  /**
   * Takes the instance for `owner` for `ttl_ms` milliseconds and returns the lease, whose `token`
   * grows with every new holding. The holder acquiring again extends it and keeps the token.
   * `LEASE_HELD` while another owner's lease is active. Write under it with `withLease`.
   *
   * Taking over a lease that ran out without being released (its holder presumed dead) recovers
   * what was left half-done in the same commit: `recovered` lists the steps found `in_progress`,
   * failed as interrupted by default (`recovery: 'keep'` leaves them). Null otherwise.
   *
   * @example
   * const lease = await manager.acquireLease(instance.id, { owner: 'worker-7f3a', ttl_ms: 30_000 });
   * const worker = manager.withLease(lease);
   * for (const step of lease.recovered?.steps ?? []) console.log(`retrying ${step.title}`);
   * await worker.executeStep({ plan_id, step_id, step_status: 'in_progress' });
   */
  acquireLease(instanceId: string, options: AcquireLeaseOptions): Promise<AcquiredLease> {
    return acquireLease(this.#context, instanceId, options);
  }

  /**
   * For a runtime without leases (one process), at start: recovers every non-terminal instance in
   * scope that no live lease holder has. Steps left `in_progress` are failed as interrupted
   * (`policy: 'keep'` leaves them) and abandoned leases released, one commit per instance; each
   * plan changed gets a `plan.recovered` event. Answers what was found, instance by instance.
   *
   * @example
   * const manager = new PlanManager({ adapter: sqliteAdapter({ database }) });
   * for (const { instance_id, steps } of await manager.recover()) console.log(instance_id, steps.length);
   */
  recover(options?: { policy?: RecoveryPolicy }): Promise<Recovery[]> {
    return recover(this.#context, options);
  }

  /**
   * For a sweeper: non-terminal instances whose lease was abandoned, and with `idle_ms` those no
   * live holder has that saw no action for that long. At most `limit` (default and most 100).
   */
  findStale(options?: { idle_ms?: number; limit?: number }): Promise<StaleInstance[]> {
    return findStale(this.#context, options);
  }

  /** Extends a lease its holder still has (same owner and token in the store), by `ttl_ms` or its own `ttl_ms`. `LEASE_LOST` otherwise. */
  renewLease(lease: Lease, options?: RenewLeaseOptions): Promise<Lease> {
    return renewLease(this.#context, lease, options);
  }

  /** Gives the instance up (the lease stays stored, without owner). A lease taken over meanwhile is `LEASE_LOST`. */
  releaseLease(lease: Lease): Promise<Lease> {
    return releaseLease(this.#context, lease);
  }

  /**
   * A manager that writes under `lease`: each of its writes to the leased instance or its plans
   * carries the lease's check, so once the lease expired (by this manager's clock), was released,
   * or was taken over, the write is refused with `LEASE_LOST` and changes nothing. Writes to other
   * instances are checked as any manager's are (refused with `LEASE_HELD` while someone else
   * holds them). Renewals made through any manager are picked up.
   *
   * @example
   * const worker = manager.withLease(await manager.acquireLease(id, { owner, ttl_ms: 30_000 }));
   * const tool = worker.forInstance(id); // the agent's tool calls are fenced too
   */
  withLease(lease: Lease): PlanManager {
    const held = parseHeldLease(this.#context, lease, 'lease');
    return createView({ context: this.#context, fence: { lease: held, remembered: new Map() } });
  }

  /**
   * A view of this manager narrowed to `scope`: the same store, settings and lease, seeing and
   * changing only the records of `scope` within this manager's own (a field this manager's
   * scope names must be the same, or left out; anything else is a TypeError). Cheap: nothing
   * is read or built but the view, so a server makes one per request.
   *
   * @example
   * const caller = manager.withScope({ organization_id: 'acme', user_id: 'u-7' });
   * await caller.listPlans({ instance_id }); // only u-7's plans of acme's instance
   */
  withScope(scope: Scope): PlanManager {
    return createView({ context: this.#context, scope: narrowScope(this.#context.scope, scope) });
  }

  /** The lease this manager writes under, as last seen (a copy); undefined for a manager without one. */
  get lease(): Lease | undefined {
    const fence = this.#context.fence;
    return fence ? { ...fence.lease } : undefined;
  }

  // History and changes

  /**
   * The retained events of one instance or plan, oldest first: all of them, or one page (those
   * after `after_seq`, at most `limit`, 1 to 1,000). The next page starts after the last `seq`.
   *
   * @example
   * for (let page = await manager.history(id, { limit: 100 }); page.length > 0; page = await manager.history(id, { after_seq: page.at(-1)!.seq, limit: 100 })) show(page);
   */
  async history(id: string, page?: HistoryPage): Promise<HistoryEvent[]> {
    const recordId = parseInput(this.#context.schemas.id, id, 'record id');
    const { after_seq, limit } = parseInput(historyPage, page ?? {}, 'history page');
    if (!(await this.#visible(recordId))) throw notFound('record', recordId);
    const asked: HistoryPage = {};
    if (after_seq !== undefined) asked.after_seq = after_seq;
    if (limit !== undefined) asked.limit = limit;
    const events = await read('history', () => this.#context.adapter.history(recordId, page === undefined ? undefined : asked));
    // An adapter that pages loosely (or not at all) still answers exactly the page asked for.
    const inPage = events.filter((event) => after_seq === undefined || event.seq > after_seq);
    return deepFreeze(limit === undefined ? inPage : inPage.slice(0, limit));
  }

  /**
   * Calls `listener` after every committed change this manager can see: its own, and, when the
   * adapter has a change feed, those of other managers on the same store. Returns unsubscribe.
   */
  subscribe(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    const adapter = this.#context.adapter;
    if (adapter.subscribe && !this.#unsubscribeAdapter) {
      this.#unsubscribeAdapter = adapter.subscribe((change) => this.#deliver(change));
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0 && this.#unsubscribeAdapter) {
        this.#unsubscribeAdapter();
        this.#unsubscribeAdapter = undefined;
      }
    };
  }

  // The tool

  /**
   * The Instance Plan tool: one JSON value in, one JSON value out; never throws. The answer's
   * type follows the call's `action`: a plan result for `create`, `update` and `execute_step`,
   * a list result for `list`, or a refusal (`success: false`).
   *
   * @example
   * const created = await manager.handle({ action: 'create', instance_id, title: 'Answer', steps: [] });
   * if (created.success) console.log(created.plan.id, created.message);
   */
  handle<A extends ToolAction>(input: { action: A } & Record<string, unknown>, tool?: ToolContext): Promise<ToolResultOf<A>>;
  handle(input: unknown, tool?: ToolContext): Promise<ToolResult>;
  handle(input: unknown, tool?: ToolContext): Promise<ToolResult> {
    return handleTool(this.#context, input, tool);
  }

  /** The tool bound to one instance: `create` and `list` fill `instance_id` themselves. */
  forInstance(instanceId: string): InstanceTool {
    const context = this.#context;
    return { instance_id: instanceId, handle: (input: unknown) => handleTool(context, input, { instance_id: instanceId }) } as InstanceTool;
  }

  async #visible(id: string): Promise<boolean> {
    const { reader, scope } = this.#context;
    const instance = await reader.instance(id);
    if (instance) return instanceInScope(scope, instance);
    const plan = await reader.plan(id);
    return plan !== undefined && (await planInScope(this.#context, plan));
  }

  /** Delivers changes in commit order, keeping only records in scope; a listener's fault stays its own. */
  #deliver(change: CommittedChange): void {
    if (this.#listeners.size === 0) return;
    if (Object.keys(this.#context.scope).length === 0) {
      this.#notify(change);
      return;
    }
    // Scoped: deciding visibility reads the store, so deliveries are chained to keep commit order.
    this.#delivery = this.#delivery.then(async () => {
      const ids = new Set<string>();
      for (const record of change.records) {
        if (await this.#visible(record.id).catch(() => false)) ids.add(record.id);
      }
      if (ids.size === 0) return;
      this.#notify({
        records: change.records.filter((record) => ids.has(record.id)),
        events: change.events.filter((event) => ids.has(event.record_id)),
      });
    });
  }

  #notify(change: CommittedChange): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(change);
      } catch {
        // A subscriber's fault must not break delivery to the others, nor the commit that caused it.
      }
    }
  }
}
