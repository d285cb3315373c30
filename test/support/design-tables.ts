import { readFileSync } from 'node:fs';

/**
 * The transition tables of DESIGN.md, read from the document itself: tests compare the
 * machines and the model against the contract, not against a copy typed into a test.
 * CI clones the repo with the steering repo's shared/ beside it, as on a developer's machine.
 */
export interface DesignTables {
  instance: Map<string, string[]>;
  plan: Map<string, string[]>;
  step: Map<string, string[]>;
}

const DESIGN_URL = new URL('../../../shared/DESIGN.md', import.meta.url);

export function readDesignTables(text = readFileSync(DESIGN_URL, 'utf8')): DesignTables {
  const tables: Record<string, Map<string, string[]>> = {};
  let current: Map<string, string[]> | undefined;
  for (const line of text.split('\n')) {
    const header = /^\|\s*(from|plan from|step from)\s*\|\s*allowed targets\s*\|/.exec(line);
    if (header) {
      current = new Map();
      tables[header[1] === 'from' ? 'instance' : header[1] === 'plan from' ? 'plan' : 'step'] = current;
      continue;
    }
    if (!current) continue;
    if (!line.startsWith('|')) {
      current = undefined;
      continue;
    }
    const [fromCell, targetCell] = line.split('|').slice(1, 3).map((cell) => cell.trim());
    if (!fromCell || /^-+$/.test(fromCell)) continue;
    const targets = /^none/.test(targetCell!)
      ? []
      : targetCell!
          .replace(/\([^)]*\)/g, '')
          .split(',')
          .map((target) => target.trim())
          .filter(Boolean);
    for (const from of fromCell.split(',').map((state) => state.trim())) current.set(from, targets);
  }
  const { instance, plan, step } = tables;
  if (!instance || !plan || !step) throw new Error('DESIGN.md: could not find the three transition tables');
  return { instance, plan, step };
}
