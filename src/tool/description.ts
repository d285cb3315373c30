/**
 * The tool's description: the tool's own words (strict execution paths for the agent, the four
 * actions, finish with a summary), then how to read the answers.
 */
export function toolDescription(instanceId?: string): string {
  const lines = [
    'Manage instance plans. IMPORTANT: Instance plans are strict execution paths for YOU (the agent), composed of tool calls, processes, reviews, discussions, or user inputs to ensure task success. They are NOT general plans for the user.',
    'Use action="create" to define a new execution path (use when the plan is different from the previous one). Use action="list" to get current plans; use action="update" to add new steps or reopen an existing plan (same objective, just new steps). Use action="execute_step" to execute and record the result of each step individually (step_status "in_progress" when you start it, then "completed" or "failed" with step_output). Steps run in order: a step starts only when every earlier step is completed.',
    'Always finish execution with a summary: when every step is completed, call action="update" with status="completed" and a summary.',
    'Every answer has "success". On success it carries the plan, next_step and a message saying what to do next; on failure, error.message says what was wrong and what would be accepted.',
  ];
  if (instanceId !== undefined) lines.push(`You run in the context of instance ${JSON.stringify(instanceId)}: leave instance_id out.`);
  return lines.join('\n');
}
