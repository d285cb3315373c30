import type { Instance, Plan, PlanManager } from '../src/index';

/** Runs the scripted agent's whole life, printing one line per event; returns the final records. */
export function runDemo(options?: { log?: (line: string) => void }): Promise<{
  manager: PlanManager;
  instance: Instance;
  plan: Plan;
  /** The tool's answer when the agent tried to start step 4 before step 2. */
  refusal: { code: string; message: string } & Record<string, unknown>;
  /** The runaway loop's instance (stopped) and the BUDGET_EXCEEDED answer that stopped it. */
  runaway: { instance: Instance; refusal: { code: string; message: string } & Record<string, unknown> };
}>;
