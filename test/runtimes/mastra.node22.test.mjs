// Run by .ci/runtimes with Node 22 (Mastra needs Node 22.13 or later): Mastra's own agent loop,
// on a mock model of the AI SDK (Mastra's model interface), through a whole plan with the
// Instance Plan tool made by createTool(mastraTool(...)); the malformed first call must be
// answered in the manager's words, which reach the model. The model's mind is the one the other
// frameworks' tests use (test/support/scripted-planner.ts, loaded by Node's type stripping).
import { describe, it } from 'node:test';
import { Agent } from '@mastra/core/agent';
import { createTool } from '@mastra/core/tools';
import { MockLanguageModelV3 } from 'ai/test';
import { PlanManager } from '../../dist/index.js';
import { instancePlanTool, mastraTool } from '../../dist/tool/index.js';
import { FINAL_WORDS, REFUSAL_WORDS, scriptedPlanner, SUMMARY } from '../support/scripted-planner.ts';
import { expectEqual } from './everywhere.shared.mjs';

describe(`Mastra (@mastra/core) on Node ${process.version}`, () => {
  it('its Agent drives a whole plan, and the malformed call is answered in our words', { timeout: 60_000 }, async () => {
    const manager = new PlanManager();
    const instance = await manager.createInstance({ organization_id: 'org', agent_type_id: 'researcher' });
    await manager.transitionInstance(instance.id, { status: 'running' });
    const planner = scriptedPlanner();
    const shown = [];
    let calls = 0;
    const usage = { inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 1, text: 1, reasoning: 0 } };
    const model = new MockLanguageModelV3({
      doGenerate: async ({ prompt, tools }) => {
        shown.push(...(tools ?? []));
        const last = prompt.at(-1);
        const part = last.role === 'tool' ? last.content.find((each) => each.type === 'tool-result') : undefined;
        const output = part?.output;
        const answer = output?.type === 'json' ? JSON.stringify(output.value) : output?.type === 'text' ? output.value : undefined;
        const move = planner.next(answer);
        return move.call
          ? { content: [{ type: 'tool-call', toolCallId: `call-${++calls}`, toolName: 'instance_plan', input: JSON.stringify(move.call) }], finishReason: { unified: 'tool-calls', raw: undefined }, usage, warnings: [] }
          : { content: [{ type: 'text', text: move.final }], finishReason: { unified: 'stop', raw: undefined }, usage, warnings: [] };
      },
    });
    const agent = new Agent({
      id: 'researcher',
      name: 'researcher',
      instructions: 'Plan, then execute the plan.',
      model,
      tools: { instance_plan: createTool(mastraTool(instancePlanTool(manager, { instance_id: instance.id }))) },
    });
    const result = await agent.generate('Research instance plans.', { maxSteps: 20 });

    expectEqual(result.text, `${FINAL_WORDS}${SUMMARY}`, 'the last words');
    const refusal = JSON.parse(planner.read[0]);
    expectEqual(refusal.success, false, 'the first answer is a refusal');
    for (const words of REFUSAL_WORDS) if (!refusal.error.message.includes(words)) throw new Error(`the refusal the model read lacks ${words}: ${refusal.error.message}`);
    const { plans } = await manager.listPlans({ instance_id: instance.id });
    expectEqual(plans.map((plan) => [plan.status, plan.summary, plan.steps.map((step) => step.status)]), [['completed', SUMMARY, ['completed', 'completed']]], 'the plan the run left');
    const listed = shown.find((each) => each.name === 'instance_plan');
    if (!listed) throw new Error(`the model was not shown the tool: ${JSON.stringify(shown.map((each) => each.name))}`);
    for (const field of ['action', 'plan_id', 'step_id', 'steps']) if (!(field in (listed.inputSchema.properties ?? {}))) throw new Error(`the schema shown lacks ${field}`);
  });
});
