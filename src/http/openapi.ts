import * as z from 'zod/mini';
import { ERROR_CODES, type Limits } from '../index';
import { HISTORY_EVENT_TYPES } from '../adapters/contract';
import { InstanceStatus } from '../schemas/enums';
import { createInputSchemas } from '../schemas/inputs';
import { Instance, JsonValue, Lease, Plan, Step } from '../schemas/records';
import { historyPage } from '../manager/history-page';
import { leaseInputSchemas } from '../manager/leases';
import { RecoveryPolicySchema } from '../manager/recovery';
import { API_PREFIX } from './api';
import { TRANSITION_INSTANCE_FIELDS } from './instance-view';
import { HTTP_ONLY_ERROR_CODES } from './refusal';
import { GET_PATHS } from './routes';

type JsonSchema = Record<string, unknown>;

/** One POST route: what it does, its body and its answer (names of components.schemas). */
interface Operation {
  operationId: string;
  summary: string;
  request: string;
  answer: string;
}

/**
 * The OpenAPI 3.1 document of the handler's routes at a manager's limits, generated from the zod
 * schemas the manager validates with and the record schemas: every request body is an input
 * schema, every answer is made of the records. The handler serves it at `GET /openapi.json` when
 * given it (`createFetchHandler(manager, { authenticate, openapi: openApiDocument })`): it is its
 * own entry point so that a handler without it stays small.
 *
 * @example
 * import { openApiDocument } from 'instance-plan/http/openapi';
 * const document = openApiDocument(manager.limits);
 */
export function openApiDocument(limits: Readonly<Limits>): Record<string, unknown> {
  const inputs = createInputSchemas(limits);
  const leases = leaseInputSchemas(inputs.id);
  const id = inputs.id;
  const schemas = z.registry<{ id: string }>();
  const add = (name: string, schema: z.core.$ZodType) => void schemas.add(schema, { id: name });
  const answer = (shape: z.core.$ZodShape) => z.strictObject({ success: z.literal(true), ...shape });

  add('JsonValue', JsonValue);
  add('Instance', Instance);
  add('Step', Step);
  add('Plan', Plan);
  add('Lease', Lease);
  const Recovery = z.strictObject({
    instance_id: z.string(),
    previous_owner: z.nullable(z.string()),
    previous_token: z.nullable(z.int()),
    expired_at: z.nullable(z.string()),
    policy: RecoveryPolicySchema,
    steps: z.array(z.strictObject({ plan_id: z.string(), step_id: z.string(), title: z.string(), status: z.enum(['failed', 'in_progress']) })),
  });
  const AcquiredLease = z.extend(Lease, { recovered: z.nullable(Recovery) });
  add('AcquiredLease', AcquiredLease);
  const HistoryEvent = z.strictObject({
    seq: z.int(),
    record_id: z.string(),
    record_kind: z.enum(['instance', 'plan']),
    at: z.string(),
    type: z.enum(HISTORY_EVENT_TYPES),
    from: z.nullable(z.string()),
    to: z.string(),
    step: z.optional(z.strictObject({ id: z.string(), from: z.string(), to: z.string() })),
    recovery: z.optional(z.strictObject({ previous_owner: z.nullable(z.string()), previous_token: z.nullable(z.int()), owner: z.nullable(z.string()), token: z.nullable(z.int()) })),
    changes: z.array(z.strictObject({ op: z.enum(['replace', 'add', 'remove']), path: z.array(z.union([z.string(), z.number()])), value: z.optional(z.unknown()) })),
    snapshot: z.optional(z.union([Instance, Plan])),
  });
  add('HistoryEvent', HistoryEvent);
  add(
    'Refusal',
    z.strictObject({
      success: z.literal(false),
      // Besides code and message, an error carries what its code documents (issues, allowed, ...).
      error: z.looseObject({ code: z.enum([...ERROR_CODES, ...HTTP_ONLY_ERROR_CODES]), message: z.string() }),
    }),
  );

  // The Instance Plan tool's routes: the action's parameters (the route names the action).
  const action = (name: string) => ({ action: z.optional(z.literal(name)) });
  add('CreateCall', z.extend(inputs.createPlan, { ...action('create'), instance_id: z.optional(id) }));
  add('ListCall', z.extend(inputs.listPlans, action('list')));
  add('UpdateCall', z.extend(inputs.updatePlan, action('update')));
  add('ExecuteStepCall', z.extend(inputs.executeStep, action('execute_step')));
  add('PlanAnswer', answer({ message: z.string(), next_step: z.nullable(Step), plan: Plan }));
  add('PlansAnswer', answer({ plans: z.array(Plan), total: z.int() }));
  add('TransitionInstanceRequest', z.strictObject({ status: InstanceStatus }));
  add('TransitionInstanceView', z.pick(Instance, Object.fromEntries(TRANSITION_INSTANCE_FIELDS.map((field) => [field, true])) as Record<(typeof TRANSITION_INSTANCE_FIELDS)[number], true>));

  // The library's own API.
  add('CreateInstanceRequest', inputs.createInstance);
  add('InstanceIdRequest', z.strictObject({ instance_id: id }));
  add('ListInstancesRequest', inputs.listInstances);
  add('RecordTurnRequest', z.extend(inputs.recordTurn, { instance_id: id }));
  add('SetBudgetRequest', z.extend(inputs.setBudget, { instance_id: id }));
  add('AnswerRequest', z.strictObject({ instance_id: id, text: inputs.answer }));
  add('PlanIdRequest', z.strictObject({ plan_id: id }));
  add('HistoryRequest', z.extend(historyPage, { id }));
  add('AcquireLeaseRequest', z.extend(leases.acquire, { instance_id: id }));
  add('RenewLeaseRequest', z.extend(leases.renew, { lease: leases.lease }));
  add('ReleaseLeaseRequest', z.strictObject({ lease: leases.lease }));
  add('InstanceAnswer', answer({ instance: Instance }));
  add('InstancesAnswer', answer({ instances: z.array(Instance), total: z.int() }));
  add('AnsweredAnswer', answer({ plan: Plan, instance: Instance }));
  add('PlanRecordAnswer', answer({ plan: Plan }));
  add('HistoryAnswer', answer({ events: z.array(HistoryEvent) }));
  add('LeaseAnswer', answer({ lease: z.union([AcquiredLease, Lease]) }));

  const tool: Record<string, Operation> = {
    '/api/agents/tools/instance_plan/create': { operationId: 'createPlan', summary: 'The Instance Plan tool: create a plan', request: 'CreateCall', answer: 'PlanAnswer' },
    '/api/agents/tools/instance_plan/get': { operationId: 'listPlans', summary: 'The Instance Plan tool: list plans', request: 'ListCall', answer: 'PlansAnswer' },
    '/api/agents/tools/instance_plan/update': { operationId: 'updatePlan', summary: 'The Instance Plan tool: update a plan', request: 'UpdateCall', answer: 'PlanAnswer' },
    '/api/agents/tools/instance_plan/execute_step': { operationId: 'executeStep', summary: 'The Instance Plan tool: record one step', request: 'ExecuteStepCall', answer: 'PlanAnswer' },
  };
  const api: Record<string, Operation> = {
    '/instances/create': { operationId: 'createInstance', summary: 'Create an instance', request: 'CreateInstanceRequest', answer: 'InstanceAnswer' },
    '/instances/get': { operationId: 'getInstance', summary: 'Read an instance', request: 'InstanceIdRequest', answer: 'InstanceAnswer' },
    '/instances/list': { operationId: 'listInstances', summary: 'List instances (needs_input: the inbox of questions)', request: 'ListInstancesRequest', answer: 'InstancesAnswer' },
    '/instances/record_turn': { operationId: 'recordTurn', summary: "Record one of the agent's turns and its tokens", request: 'RecordTurnRequest', answer: 'InstanceAnswer' },
    '/instances/set_budget': { operationId: 'setBudget', summary: 'Set the budgets of turns and tokens', request: 'SetBudgetRequest', answer: 'InstanceAnswer' },
    '/instances/answer': { operationId: 'answer', summary: "Answer a waiting instance's question", request: 'AnswerRequest', answer: 'AnsweredAnswer' },
    '/plans/get': { operationId: 'getPlan', summary: 'Read a plan', request: 'PlanIdRequest', answer: 'PlanRecordAnswer' },
    '/leases/acquire': { operationId: 'acquireLease', summary: 'Take an instance for one worker (with recovery of a dead holding)', request: 'AcquireLeaseRequest', answer: 'LeaseAnswer' },
    '/leases/renew': { operationId: 'renewLease', summary: 'Extend a held lease', request: 'RenewLeaseRequest', answer: 'LeaseAnswer' },
    '/leases/release': { operationId: 'releaseLease', summary: 'Give an instance up', request: 'ReleaseLeaseRequest', answer: 'LeaseAnswer' },
    '/history': { operationId: 'history', summary: "A page of a record's history", request: 'HistoryRequest', answer: 'HistoryAnswer' },
  };

  const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
  const json = (name: string) => ({ content: { 'application/json': { schema: ref(name) } } });
  const post = ({ operationId, summary, request, answer }: Operation, extra: Record<string, unknown> = {}) => ({
    post: {
      operationId,
      summary,
      ...extra,
      requestBody: { required: true, ...json(request) },
      responses: { 200: { description: 'Done', ...json(answer) }, default: { description: 'A refusal: the error names what was wrong and what would be accepted', ...json('Refusal') } },
    },
  });

  const paths: Record<string, unknown> = {};
  for (const [path, operation] of Object.entries(tool)) paths[path] = post(operation);
  paths['/agents/instances/{instance_id}/transition'] = post(
    { operationId: 'transitionInstance', summary: 'The Transition Instance endpoint: move an instance along its lifecycle', request: 'TransitionInstanceRequest', answer: 'TransitionInstanceView' },
    { parameters: [{ name: 'instance_id', in: 'path', required: true, schema: { type: 'string' } }] },
  );
  for (const [path, operation] of Object.entries(api)) paths[`${API_PREFIX}${path}`] = post(operation);
  paths[GET_PATHS.events] = {
    get: {
      operationId: 'events',
      summary: 'The change stream (Server-Sent Events): `ready`, then one `change` per commit in the caller\'s scope ({ records, events }: the records changed and their history events); `reset` when the client must read again',
      parameters: [{ name: 'Last-Event-ID', in: 'header', required: false, description: 'The id of the last event received: the stream resumes after it', schema: { type: 'string' } }],
      responses: {
        200: { description: 'The stream', content: { 'text/event-stream': { schema: { type: 'string' } } } },
        default: { description: 'A refusal', ...json('Refusal') },
      },
    },
  };
  paths[GET_PATHS.inspector] = {
    get: { operationId: 'inspector', summary: 'The inspector page (with the handler\'s inspector option): it holds no data and asks for a key', security: [], responses: { 200: { description: 'The page', content: { 'text/html': { schema: { type: 'string' } } } } } },
  };
  paths[GET_PATHS.openapi] = {
    get: { operationId: 'openApiDocument', summary: 'This document', responses: { 200: { description: 'The OpenAPI document', content: { 'application/json': { schema: { type: 'object' } } } } } },
  };

  const { schemas: components } = z.toJSONSchema(schemas, { target: 'draft-2020-12', io: 'output', uri: (name) => `#/components/schemas/${name}` }) as { schemas: Record<string, JsonSchema> };
  // Components live in the document: the $schema and $id of standalone JSON Schema documents go.
  for (const schema of Object.values(components)) {
    delete schema.$schema;
    delete schema.$id;
  }
  // Any JSON value, said without recursion (over JSON it is any value): type generators such as
  // openapi-typescript cannot write a type that refers to itself.
  components.JsonValue = { description: 'Any JSON value' };
  return {
    openapi: '3.1.0',
    info: { title: 'instance-plan', version: '1', description: 'The Instance Plan tool, the Transition Instance endpoint, and the library\'s own API over HTTP.' },
    components: { schemas: components, securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key, which the server maps to the caller\'s scope' } } },
    security: [{ bearer: [] }],
    paths,
  };
}
