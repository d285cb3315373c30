import type { AcquireLeaseOptions, CreateInstanceInput, Lease, ListInstancesInput, PlanManager, RecordTurnInput, RenewLeaseOptions, SetBudgetInput } from '../index';
import { unknownKeys } from '../schemas/issues';
import { invalidBody } from './refusal';

/**
 * The library's own API over HTTP, beside the Instance Plan tool's routes and the Transition
 * Instance endpoint: one `POST` per operation of the manager, the body its input, the answer
 * `{ success: true, ... }` with the whole records (every field, `version` included). Each
 * operation takes the caller's narrowed manager and the parsed body (an object); the manager
 * validates the rest, so a refusal reads as it does in process.
 */
export const API_PREFIX = '/api/instance-plan';

type Body = Record<string, unknown>;
type Operation = (manager: PlanManager, body: Body) => Promise<Record<string, unknown>>;

/** The body without `field`, and `field`'s value: an id that names the record in the path of a call. */
function take(body: Body, field: string): [unknown, Body] {
  const { [field]: value, ...rest } = body;
  return [value, rest];
}

/** The operations, by path below API_PREFIX. */
export const API_OPERATIONS: Readonly<Record<string, Operation>> = Object.freeze({
  '/instances/create': async (manager, body) => ({ instance: await manager.createInstance(body as CreateInstanceInput) }),
  '/instances/get': async (manager, body) => {
    const [id, rest] = take(body, 'instance_id');
    noOtherKeys(rest, ['instance_id']);
    return { instance: await manager.getInstance(id as string) };
  },
  '/instances/list': async (manager, body) => manager.listInstances(body as ListInstancesInput),
  '/instances/record_turn': async (manager, body) => {
    const [id, rest] = take(body, 'instance_id');
    return { instance: await manager.recordTurn(id as string, rest as unknown as RecordTurnInput) };
  },
  '/instances/set_budget': async (manager, body) => {
    const [id, rest] = take(body, 'instance_id');
    return { instance: await manager.setBudget(id as string, rest as SetBudgetInput) };
  },
  '/instances/answer': async (manager, body) => {
    const [id, rest] = take(body, 'instance_id');
    const [text, others] = take(rest, 'text');
    noOtherKeys(others, ['instance_id', 'text']);
    const plan = await manager.answer(id as string, text as string);
    return { plan, instance: await manager.getInstance(id as string) };
  },
  '/plans/get': async (manager, body) => {
    const [id, rest] = take(body, 'plan_id');
    noOtherKeys(rest, ['plan_id']);
    return { plan: await manager.getPlan(id as string) };
  },
  '/leases/acquire': async (manager, body) => {
    const [id, options] = take(body, 'instance_id');
    return { lease: await manager.acquireLease(id as string, options as unknown as AcquireLeaseOptions) };
  },
  '/leases/renew': async (manager, body) => {
    const [lease, options] = take(body, 'lease');
    return { lease: await manager.renewLease(lease as Lease, options as RenewLeaseOptions) };
  },
  '/leases/release': async (manager, body) => {
    const [lease, rest] = take(body, 'lease');
    noOtherKeys(rest, ['lease']);
    return { lease: await manager.releaseLease(lease as Lease) };
  },
  '/history': async (manager, body) => {
    const [id, page] = take(body, 'id');
    const given = Object.keys(page).length > 0;
    return { events: await manager.history(id as string, given ? (page as { after_seq?: number; limit?: number }) : undefined) };
  },
});

export const API_ROUTES: readonly string[] = Object.freeze(Object.keys(API_OPERATIONS).map((path) => `${API_PREFIX}${path}`));

/** Refuses keys of a body beyond `accepted`, as the manager's strict schemas do. */
function noOtherKeys(rest: Body, accepted: readonly string[]): void {
  const unknown = Object.keys(rest);
  if (unknown.length === 0) return;
  throw invalidBody(`${unknownKeys(unknown)} (accepted: ${accepted.join(', ')})`);
}
