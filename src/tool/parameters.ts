/**
 * What each parameter of the Instance Plan tool means, in the words of the
 * tool's own "Input Schema" table where it has them. Keys are property paths of the portable schema;
 * `steps.title` is the `title` of one step. Which actions take a parameter, and where it is
 * required, is not written here: it is read off the zod schema and appended.
 */
export const PARAMETER_DESCRIPTIONS: Readonly<Record<string, string>> = Object.freeze({
  action: 'Action to perform on instance plans: "create" a new execution path, "list" current plans, "update" a plan (new steps, status, summary), "execute_step" to record one step.',
  instance_id: 'Instance UUID (required for create if not running in instance context).',
  plan_id: 'Plan UUID.',
  step_id: 'Step UUID (one of the plan\'s step ids).',
  step_output: 'Output of the executed step; required when step_status is "completed" or "failed" (what it produced, or why it failed).',
  step_status: 'Status of the executed step: "in_progress" when starting it, then "completed" or "failed".',
  title: 'Plan title.',
  description: 'Plan description.',
  plan_type: 'Type of plan. Default: objective.',
  status: 'Plan status. For create, use "pending" or leave empty for default. For update, "completed" needs every step completed and a summary.',
  ordering: 'Step order: "strict" (default), a step starts only when every earlier step is completed; or "free".',
  steps: 'Array of plan steps with detailed properties. On update, the steps are appended.',
  'steps.title': 'Step title: what to do.',
  'steps.type': 'Kind of step: a tool call, a process, a review, a discussion, or a user input.',
  'steps.description': 'Step description.',
  'steps.details': 'Detailed properties of the step as a JSON object, e.g. a tool\'s name and arguments.',
  summary: 'Summary of the execution: what was achieved, or why the plan failed. Required to complete a plan.',
  site_id: 'Site UUID.',
  user_id: 'User UUID.',
  agent_id: 'Agent UUID.',
  limit: 'Limit results (default 20, at most 100).',
  offset: 'Offset results.',
});
