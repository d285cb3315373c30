// The mind of a fake model, shared by the agent-framework tests: it reads only the text each tool
// answer puts in front of a model, and decides its next call from it, as a model would. First it
// makes a malformed call (a step type that does not exist), then plans two steps, executes each
// (start, then complete), and finishes the plan with a summary; then it answers in words.

export interface PlannerMove {
  /** The tool call to make, in the tool's portable form. */
  call?: Record<string, unknown>;
  /** The model's last words, once the plan is completed. */
  final?: string;
}

export const FINAL_WORDS = 'The plan is completed: ';
export const SUMMARY = 'Searched two sources and wrote up what they agree on.';

/** The malformed first call, and what the manager's refusal of it names (the field, what is allowed). */
export const MALFORMED_CALL = { action: 'create', title: 'Research', steps: [{ title: 'Search the web', type: 'web_search' }] };
export const REFUSAL_WORDS = ['steps[0].type', 'tool_call', 'process', 'review', 'discussion', 'user_input'];

export interface ScriptedPlanner {
  /** Every answer the model read, as text. */
  readonly read: string[];
  /** The next move, given the text of the tool's last answer (undefined before the first call). */
  next(answer: string | undefined): PlannerMove;
}

export function scriptedPlanner(): ScriptedPlanner {
  const read: string[] = [];
  let created = false;
  return {
    read,
    next(answer) {
      if (answer === undefined) return { call: MALFORMED_CALL };
      read.push(answer);
      const result = JSON.parse(answer) as {
        success: boolean;
        error?: { message: string };
        plan?: { id: string; status: string; summary: string | null; steps: { id: string }[] };
        next_step?: { id: string; title: string; status: string } | null;
      };
      if (!result.success) {
        // The first refusal is the malformed call's: plan properly. Any other is a failure of the test.
        if (created) return { final: `The tool refused: ${result.error?.message}` };
        created = true;
        return {
          call: {
            action: 'create',
            title: 'Research',
            steps: [
              { title: 'Search the web', type: 'tool_call', details: { tool: 'search', arguments: { query: 'instance plans' } } },
              { title: 'Write the summary', type: 'process' },
            ],
          },
        };
      }
      const plan = result.plan!;
      if (plan.status === 'completed') return { final: `${FINAL_WORDS}${plan.summary}` };
      const step = result.next_step;
      if (!step) return { call: { action: 'update', plan_id: plan.id, status: 'completed', summary: SUMMARY } };
      if (step.status === 'in_progress') {
        return { call: { action: 'execute_step', plan_id: plan.id, step_id: step.id, step_status: 'completed', step_output: `done: ${step.title}` } };
      }
      return { call: { action: 'execute_step', plan_id: plan.id, step_id: step.id, step_status: 'in_progress' } };
    },
  };
}

/**
 * A call as a model in OpenAI's strict mode sends it: every property of `schema` present (null
 * for the ones left out), and a free-form object (`details`) encoded as a JSON string.
 */
export function asStrictArguments(schema: Record<string, any>, value: unknown): unknown {
  if (value === undefined || value === null) return null;
  const branch = Array.isArray(schema.anyOf) ? schema.anyOf.find((each: Record<string, any>) => each.type !== 'null') : schema;
  const types = ([] as unknown[]).concat(branch.type);
  if (types.includes('string') && typeof value === 'object') return JSON.stringify(value);
  if (types.includes('array') && Array.isArray(value)) return value.map((item) => asStrictArguments(branch.items, item));
  if (branch.properties && typeof value === 'object') {
    const given = value as Record<string, unknown>;
    return Object.fromEntries(Object.entries(branch.properties as Record<string, Record<string, any>>).map(([key, property]) => [key, asStrictArguments(property, given[key])]));
  }
  return value;
}
