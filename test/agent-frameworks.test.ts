// Each agent framework the docs name runs its own agent loop, on a fake model of its own kind,
// through a whole plan with the Instance Plan tool: a malformed call first (the refusal must
// reach the model in the manager's words: the field and what it accepts), then create, every
// step, and a summary. The fake models read only what the framework puts in front of a model.
import type AnthropicSdk from '@anthropic-ai/sdk';
import type { BaseMessage } from '@langchain/core/messages';
import { describe, expect, test } from 'vitest';
import { PlanManager } from '../src';
import { aiSdkTool, anthropicTool, instancePlanTool, langchainTool, openAIAgentsTool, strictSchema } from '../src/tool';
import { asStrictArguments, FINAL_WORDS, REFUSAL_WORDS, scriptedPlanner, SUMMARY } from './support/scripted-planner';

async function runningInstance() {
  const manager = new PlanManager();
  const instance = await manager.createInstance({ organization_id: 'org', agent_type_id: 'researcher' });
  await manager.transitionInstance(instance.id, { status: 'running' });
  return { manager, instance };
}

/** The plan the run left: completed, every step completed, the summary the model wrote. */
async function expectFinishedPlan(manager: PlanManager, instanceId: string) {
  const { plans } = await manager.listPlans({ instance_id: instanceId });
  expect(plans).toHaveLength(1);
  expect(plans[0]!.status).toBe('completed');
  expect(plans[0]!.summary).toBe(SUMMARY);
  expect(plans[0]!.steps.map((step) => step.status)).toEqual(['completed', 'completed']);
}

function expectRefusalInOurWords(text: string) {
  const refusal = JSON.parse(text);
  expect(refusal.success).toBe(false);
  for (const words of REFUSAL_WORDS) expect(refusal.error.message).toContain(words);
}

describe('OpenAI Agents SDK (@openai/agents): tool(openAIAgentsTool(...)) in Agent and run()', async () => {
  const { Agent, run, tool, Usage, setTracingDisabled } = await import('@openai/agents');
  setTracingDisabled(true);

  test('its Runner drives a whole plan, and the malformed call is answered in our words', async () => {
    const { manager, instance } = await runningInstance();
    const planTool = tool(openAIAgentsTool(instancePlanTool(manager, { instance_id: instance.id })));
    const planner = scriptedPlanner();
    const seenTools: unknown[] = [];
    let calls = 0;
    const model = {
      async getResponse(request: { input: unknown; tools: unknown[] }) {
        seenTools.push(...request.tools);
        const items = Array.isArray(request.input) ? request.input : [];
        const last = items.at(-1) as { type?: string; output?: { text?: string } | string } | undefined;
        const answer = last?.type === 'function_call_result' ? (typeof last.output === 'string' ? last.output : last.output?.text) : undefined;
        const move = planner.next(answer);
        const usage = new Usage();
        if (move.final !== undefined) {
          return { usage, output: [{ type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: move.final }] }] };
        }
        const parameters = (planTool as unknown as { parameters: Record<string, unknown> }).parameters;
        const args = asStrictArguments(parameters, move.call);
        return { usage, output: [{ type: 'function_call', callId: `call-${++calls}`, name: 'instance_plan', status: 'completed', arguments: JSON.stringify(args) }] };
      },
      getStreamedResponse() {
        throw new Error('not streamed');
      },
    };
    const agent = new Agent({ name: 'researcher', instructions: 'Plan, then execute the plan.', model: model as never, tools: [planTool] });
    const result = await run(agent, 'Research instance plans.', { maxTurns: 20 });

    expect(result.finalOutput).toBe(`${FINAL_WORDS}${SUMMARY}`);
    expectRefusalInOurWords(planner.read[0]!);
    await expectFinishedPlan(manager, instance.id);
    // What the model was shown: our strict schema, as a strict function tool.
    expect(seenTools[0]).toMatchObject({ type: 'function', name: 'instance_plan', strict: true, parameters: strictSchema(instancePlanTool(manager).inputSchema) });
  });
});

describe('LangChain (langchain createAgent) and LangGraph (createReactAgent): tool(...langchainTool(...))', async () => {
  const { tool } = await import('@langchain/core/tools');
  const { BaseChatModel } = await import('@langchain/core/language_models/chat_models');
  const { AIMessage, ToolMessage } = await import('@langchain/core/messages');
  const { convertToOpenAITool } = await import('@langchain/core/utils/function_calling');
  const { createAgent } = await import('langchain');
  const { createReactAgent } = await import('@langchain/langgraph/prebuilt');

  /** A chat model whose mind is the scripted planner: it reads the last ToolMessage's content. */
  class ScriptedChatModel extends BaseChatModel {
    constructor(
      readonly planner: ReturnType<typeof scriptedPlanner>,
      readonly shown: unknown[] = [],
    ) {
      super({});
    }
    _llmType() {
      return 'scripted';
    }
    override bindTools(tools: Parameters<typeof convertToOpenAITool>[0][]) {
      this.shown.push(...tools.map((each) => convertToOpenAITool(each)));
      return this as never;
    }
    async _generate(messages: BaseMessage[]) {
      const last = messages.at(-1);
      const answer = last && ToolMessage.isInstance(last) ? String(last.content) : undefined;
      const move = this.planner.next(answer);
      const message = move.call
        ? new AIMessage({ content: '', tool_calls: [{ id: `call-${this.planner.read.length}`, name: 'instance_plan', args: move.call, type: 'tool_call' }] })
        : new AIMessage({ content: move.final! });
      return { generations: [{ text: typeof message.content === 'string' ? message.content : '', message }] };
    }
  }

  const planToolOf = (manager: PlanManager, instanceId: string) => tool(...langchainTool(instancePlanTool(manager, { instance_id: instanceId })));
  const agents = {
    'langchain createAgent': (model: ScriptedChatModel, planTool: ReturnType<typeof planToolOf>) => createAgent({ model, tools: [planTool] }),
    'LangGraph createReactAgent': (model: ScriptedChatModel, planTool: ReturnType<typeof planToolOf>) => createReactAgent({ llm: model, tools: [planTool] }),
  };

  for (const [name, makeAgent] of Object.entries(agents)) {
    test(`${name} drives a whole plan, and the malformed call is answered in our words`, async () => {
      const { manager, instance } = await runningInstance();
      const planner = scriptedPlanner();
      const model = new ScriptedChatModel(planner);
      const agent = makeAgent(model, planToolOf(manager, instance.id));
      const { messages } = await agent.invoke({ messages: [{ role: 'user', content: 'Research instance plans.' }] }, { recursionLimit: 30 });

      expect(messages.at(-1)!.content).toBe(`${FINAL_WORDS}${SUMMARY}`);
      expectRefusalInOurWords(planner.read[0]!);
      await expectFinishedPlan(manager, instance.id);
      // What the model was shown: exactly the tool's schema.
      const { $schema: _, ...shown } = (model.shown[0] as { function: { parameters: Record<string, unknown> } }).function.parameters;
      expect(shown).toEqual(instancePlanTool(manager).inputSchema);
    });
  }
});

describe('Anthropic (@anthropic-ai/sdk): definition for messages.create, toolRunner for betaTool()', async () => {
  const { default: Anthropic } = await import('@anthropic-ai/sdk');
  const { betaTool } = await import('@anthropic-ai/sdk/helpers/beta/json-schema');

  test('the definition is an Anthropic.Tool as it is (strict TypeScript, no cast)', async () => {
    const { manager } = await runningInstance();
    const definition: AnthropicSdk.Tool = anthropicTool(instancePlanTool(manager)).definition;
    expect(definition.input_schema.type).toBe('object');
  });

  test("the SDK's tool runner drives a whole plan against a fake Messages API, and the malformed call is answered in our words", async () => {
    const { manager, instance } = await runningInstance();
    const plan = anthropicTool(instancePlanTool(manager, { instance_id: instance.id }));
    const planner = scriptedPlanner();
    const shown: unknown[] = [];
    let calls = 0;
    // The Messages API, faked at the SDK's fetch: it reads the tool_result the runner sent back.
    const fetch = async (_url: string | URL | Request, init?: RequestInit) => {
      // This SDK keeps the conversation on the server (`thread`): later requests carry only the new turn.
      const body = JSON.parse(String(init?.body)) as { tools?: unknown[]; messages: { role: string; content: unknown }[] };
      shown.push(...(body.tools ?? []));
      const last = body.messages.at(-1)!;
      const block = Array.isArray(last.content) ? (last.content as { type: string; content?: unknown }[]).find((each) => each.type === 'tool_result') : undefined;
      const text = typeof block?.content === 'string' ? block.content : (block?.content as { text: string }[] | undefined)?.[0]?.text;
      const move = planner.next(text);
      const content = move.call ? [{ type: 'tool_use', id: `toolu_${++calls}`, name: 'instance_plan', input: move.call }] : [{ type: 'text', text: move.final }];
      const message = { id: `msg_${calls}`, type: 'message', role: 'assistant', model: 'claude-test', content, stop_reason: move.call ? 'tool_use' : 'end_turn', stop_sequence: null, usage: { input_tokens: 1, output_tokens: 1 } };
      return new Response(JSON.stringify(message), { status: 200, headers: { 'content-type': 'application/json' } });
    };
    const client = new Anthropic({ apiKey: 'test-key', fetch, maxRetries: 0 });
    const final = await client.beta.messages.toolRunner({
      model: 'claude-test',
      max_tokens: 1024,
      max_iterations: 20,
      messages: [{ role: 'user', content: 'Research instance plans.' }],
      tools: [betaTool(plan.toolRunner)],
    });

    expect(final.content).toEqual([{ type: 'text', text: `${FINAL_WORDS}${SUMMARY}` }]);
    expectRefusalInOurWords(planner.read[0]!);
    await expectFinishedPlan(manager, instance.id);
    expect(shown[0]).toMatchObject({ name: 'instance_plan', input_schema: instancePlanTool(manager).inputSchema });
  });
});

describe('Vercel AI SDK (ai): tool(aiSdkTool(..., { jsonSchema })) in generateText', async () => {
  const { generateText, jsonSchema, stepCountIs, tool } = await import('ai');
  const { MockLanguageModelV3 } = await import('ai/test');

  test('its generateText loop drives a whole plan, and the malformed call is answered in our words', async () => {
    const { manager, instance } = await runningInstance();
    const planner = scriptedPlanner();
    const shown: unknown[] = [];
    let calls = 0;
    const usage = { inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 1, text: 1, reasoning: 0 } };
    const model = new MockLanguageModelV3({
      doGenerate: async ({ prompt, tools }) => {
        shown.push(...(tools ?? []));
        const last = prompt.at(-1)!;
        const part = last.role === 'tool' ? last.content.find((each) => each.type === 'tool-result') : undefined;
        const output = part?.type === 'tool-result' ? part.output : undefined;
        const answer = output?.type === 'json' ? JSON.stringify(output.value) : output?.type === 'text' ? output.value : undefined;
        const move = planner.next(answer);
        return move.call
          ? { content: [{ type: 'tool-call', toolCallId: `call-${++calls}`, toolName: 'instance_plan', input: JSON.stringify(move.call) }], finishReason: { unified: 'tool-calls', raw: undefined }, usage, warnings: [] }
          : { content: [{ type: 'text', text: move.final! }], finishReason: { unified: 'stop', raw: undefined }, usage, warnings: [] };
      },
    });
    const result = await generateText({
      model,
      prompt: 'Research instance plans.',
      tools: { instance_plan: tool(aiSdkTool(instancePlanTool(manager, { instance_id: instance.id }), { jsonSchema })) },
      stopWhen: stepCountIs(20),
    });

    expect(result.text).toBe(`${FINAL_WORDS}${SUMMARY}`);
    expectRefusalInOurWords(planner.read[0]!);
    await expectFinishedPlan(manager, instance.id);
    expect(shown[0]).toMatchObject({ type: 'function', name: 'instance_plan', inputSchema: instancePlanTool(manager).inputSchema });
  });
});
