// A scripted agent (no LLM) lives one whole life on the memory adapter: the runtime starts the
// instance, the agent plans through the Instance Plan tool, executes its steps in order (one
// fails and is retried), asks a person a question (the instance waits until the answer comes,
// with no transition by hand), finishes the plan with a summary, and the runtime completes the
// instance. Then a second agent loops on a step that keeps failing, and its budget of turns
// stops it. Run it with `npm run demo`.
import { pathToFileURL } from 'node:url';
import { memoryAdapter, PlanManager } from 'instance-plan';

/**
 * Runs the demo, printing one line per event through `log`. Returns the manager and the final
 * records, so a test can check that the life really happened.
 */
export async function runDemo({ log = console.log } = {}) {
  // A clock and ids of our own keep the output the same on every run (defaults: now, UUIDs).
  let seconds = 0;
  let lastId = 0;
  const manager = new PlanManager({
    adapter: memoryAdapter(),
    clock: () => new Date(Date.UTC(2025, 5, 2, 9, 0, (seconds += 7))),
    ids: () => `id-${++lastId}`,
  });
  const say = (actor, text) => log(`${actor.padEnd(8)} ${text}`);

  // The runtime: creates the instance and moves it along its lifecycle.
  let instance = await manager.createInstance({ organization_id: 'acme', agent_type_id: 'lead-qualifier', task_id: 'lead-L-1001' });
  say('runtime', `created instance ${instance.id} (${instance.status})`);
  const transition = async (status) => {
    instance = await manager.transitionInstance(instance.id, { status });
    say('runtime', `instance → ${instance.status} (needs_input: ${instance.needs_input})`);
  };
  const turn = async (tokens) => {
    instance = await manager.recordTurn(instance.id, { tokens });
    say('agent', `turn ${instance.turn_count}: ${tokens} tokens (${instance.tokens_total} in all)`);
  };

  // The agent: talks to its plan only through the tool, bound to its instance.
  const tool = manager.forInstance(instance.id);
  const call = async (input) => {
    const result = await tool.handle(input);
    if (!result.success) throw new Error(`the tool refused ${input.action}: ${result.error.message}`);
    return result;
  };

  await transition('running');
  await turn(812);
  let { plan, message } = await call({
    action: 'create',
    title: 'Qualify lead L-1001',
    steps: [
      { title: 'Fetch lead data', type: 'tool_call', details: { tool: 'crm.get_lead', arguments: { lead_id: 'L-1001' } } },
      { title: 'Score the lead', type: 'process' },
      { title: 'Ask the sales rep for the budget', type: 'user_input' },
      { title: 'Review the score', type: 'review' },
      { title: 'Agree next steps with the rep', type: 'discussion' },
    ],
  });
  say('agent', `created plan "${plan.title}" (${plan.status}): ${plan.steps.map((step) => step.type).join(', ')}`);
  say('tool', message);

  const execute = async (index, status, output) => {
    const step = plan.steps[index];
    const planStatus = plan.status;
    const result = await call({ action: 'execute_step', plan_id: plan.id, step_id: step.id, step_status: status, step_output: output });
    plan = result.plan;
    const after = plan.steps[index];
    const moved = plan.status === planStatus ? '' : `; plan ${planStatus} → ${plan.status}`;
    const note = status === 'in_progress' ? `attempt ${after.attempts}${moved}` : output;
    say('agent', `step ${index + 1} "${after.title}" → ${after.status} (${note})`);
    return result;
  };

  await execute(0, 'in_progress');
  ({ message } = await execute(0, 'failed', 'CRM API timed out after 30 s'));
  say('tool', message);
  await turn(430);
  await execute(0, 'in_progress');
  await execute(0, 'completed', '{"company":"Globex","employees":120,"country":"DE"}');

  // The agent gets ahead of itself: strict ordering refuses, and the answer says why.
  const skipped = await tool.handle({ action: 'execute_step', plan_id: plan.id, step_id: plan.steps[3].id, step_status: 'in_progress' });
  if (skipped.success) throw new Error('strict ordering let step 4 start before step 2');
  say('tool', `refused: ${skipped.error.code}: ${skipped.error.message}`);

  await execute(1, 'in_progress');
  await execute(1, 'completed', 'score 72/100: right size, right market');

  // A question for a person: starting the step moves the instance to waiting in the same commit.
  ({ message } = await execute(2, 'in_progress'));
  say('tool', message);
  instance = await manager.getInstance(instance.id);
  say('runtime', `instance → ${instance.status} (needs_input: ${instance.needs_input}, status_reason: ${instance.status_reason})`);
  // The app's inbox lists the instances waiting for a person, and answers for them.
  const inbox = await manager.listInstances({ needs_input: true });
  say('user', `inbox: ${inbox.total} question(s): "${inbox.instances[0].current_step}"`);
  const answer = 'Budget is 40k EUR, decision in Q3.';
  say('user', `answers: "${answer}"`);
  plan = await manager.answer(instance.id, answer);
  instance = await manager.getInstance(instance.id);
  say('agent', `step 3 "${plan.steps[2].title}" → ${plan.steps[2].status} (${plan.steps[2].output})`);
  say('runtime', `instance → ${instance.status} (needs_input: ${instance.needs_input})`);
  await turn(655);

  await execute(3, 'in_progress');
  await execute(3, 'completed', 'score confirmed: budget fits the mid-market tier');
  await execute(4, 'in_progress');
  ({ message } = await execute(4, 'completed', 'rep books a demo for next Tuesday'));
  say('tool', message);

  await turn(390);
  ({ plan } = await call({
    action: 'update',
    plan_id: plan.id,
    status: 'completed',
    summary: 'Globex qualified (72/100, 40k EUR budget, Q3 decision); demo booked for Tuesday.',
  }));
  say('agent', `plan → ${plan.status}: ${plan.summary}`);
  await transition('completed');

  const [instanceHistory, planHistory] = await Promise.all([manager.history(instance.id), manager.history(plan.id)]);
  log('');
  log(
    `instance ${instance.id}: ${instance.status}, ${instance.turn_count} turns, ${instance.tokens_total} tokens, ` +
      `needs_input ${instance.needs_input}, current_step "${instance.current_step}", ` +
      `started ${instance.started_at}, ended ${instance.ended_at}, version ${instance.version} (${instanceHistory.length} history events)`,
  );
  log(`plan "${plan.title}": ${plan.status}, version ${plan.version} (${planHistory.length} history events)`);
  log(`  summary: ${plan.summary}`);
  for (const [index, step] of plan.steps.entries()) {
    log(`  ${index + 1}. ${step.status.padEnd(9)} ${step.type.padEnd(10)} ${step.title} (attempts ${step.attempts}): ${step.output}`);
  }

  log('');
  const runaway = await runawayLoop(manager, say);
  return { manager, instance, plan, refusal: skipped.error, runaway };
}

/**
 * A second agent retries a step that keeps failing, one LLM turn per try. Its budget of three
 * turns stops it: the third turn pauses the instance, and the next try is refused with
 * BUDGET_EXCEEDED, which tells the agent to stop. The runtime then stops the instance.
 */
async function runawayLoop(manager, say) {
  let instance = await manager.createInstance({ organization_id: 'acme', agent_type_id: 'scraper', max_turns: 3 });
  say('runtime', `created instance ${instance.id} with a budget of ${instance.max_turns} turns`);
  instance = await manager.transitionInstance(instance.id, { status: 'running' });
  const tool = manager.forInstance(instance.id);
  const created = await tool.handle({ action: 'create', title: 'Scrape the price list', steps: [{ title: 'Fetch the page', type: 'tool_call' }] });
  const { plan } = created;
  const step = plan.steps[0];
  for (let attempt = 1; ; attempt++) {
    const started = await tool.handle({ action: 'execute_step', plan_id: plan.id, step_id: step.id, step_status: 'in_progress' });
    if (!started.success) {
      say('tool', `refused: ${started.error.code}: ${started.error.message}`);
      instance = await manager.transitionInstance(instance.id, { status: 'stopped' });
      say('runtime', `instance → ${instance.status} after ${instance.turn_count} turns`);
      return { instance, refusal: started.error };
    }
    await tool.handle({ action: 'execute_step', plan_id: plan.id, step_id: step.id, step_status: 'failed', step_output: 'HTTP 503' });
    instance = await manager.recordTurn(instance.id, { tokens: 500 });
    say('agent', `try ${attempt}: HTTP 503; turn ${instance.turn_count} of ${instance.max_turns} → instance ${instance.status}${instance.status_reason ? ` (${instance.status_reason})` : ''}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runDemo();
}
