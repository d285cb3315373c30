import { readFileSync } from 'node:fs';

/**
 * The transition tables of the repository's own specification, test/spec/transitions.md, parsed
 * from the markdown itself: tests compare the machines against the contract, never against a
 * copy of the tables written into a test. The same parser reads the tables of the generated
 * docs/transitions.md, so a test can check that the documentation says what the spec says.
 */

/** One row group of a table: the allowed targets of one status, and whether it is terminal. */
export interface SpecRow {
  readonly targets: readonly string[];
  /** The remark written after a target, e.g. "reopen" for `in_progress (reopen)`. */
  readonly remarks: ReadonlyMap<string, string>;
  /** The row says "none" (or "none: terminal"): nothing may follow this status. */
  readonly terminal: boolean;
}

export interface SpecTable {
  /** Every status the table names, in the order the rows name them. */
  readonly states: readonly string[];
  readonly rows: ReadonlyMap<string, SpecRow>;
  /** The row of `state`; throws for a status the table does not name. */
  row(state: string): SpecRow;
  /** True when `from -> to` is a row entry (guards aside). */
  allows(from: string, to: string): boolean;
}

export interface SpecTables {
  readonly instance: SpecTable;
  readonly plan: SpecTable;
  readonly step: SpecTable;
  /** The status a new instance starts in (the Transition Instance endpoint's default). */
  readonly instanceDefault: string;
}

/** The tables of a generated docs/transitions.md, with the initial status each section names. */
export interface GeneratedTables {
  readonly instance: SpecTable;
  readonly plan: SpecTable;
  readonly step: SpecTable;
  readonly initial: { readonly instance: string; readonly plan: string; readonly step: string };
}

/** test/spec/transitions.md, the specification inside this repository. */
export const SPEC_URL = new URL('../spec/transitions.md', import.meta.url);

/** Reads the spec (test/spec/transitions.md unless `url` names another copy). */
export function readSpecTables(url: URL = SPEC_URL): SpecTables {
  return parseSpecTables(readFileSync(url, 'utf8'), url.pathname);
}

const SECTIONS = { instance: 'Instance lifecycle', plan: 'Plan status', step: 'Step status' } as const;

export function parseSpecTables(markdown: string, source = 'test/spec/transitions.md'): SpecTables {
  const section = (title: string) => sectionOf(markdown, title, source);
  const instance = section(SECTIONS.instance);
  const instanceDefault = /^Default status:\s*`([a-z_]+)`/m.exec(instance.text)?.[1];
  if (instanceDefault === undefined) throw new Error(`${source}: section "${SECTIONS.instance}" names no "Default status: \`...\`"`);
  return {
    instance: toTable(pick(instance, 'from', source), source),
    plan: toTable(pick(section(SECTIONS.plan), 'plan from', source), source),
    step: toTable(pick(section(SECTIONS.step), 'step from', source), source),
    instanceDefault,
  };
}

/** Parses the transition tables of a generated docs/transitions.md (`npm run diagrams`). */
export function parseGeneratedTables(markdown: string, source = 'docs/transitions.md'): GeneratedTables {
  const read = (title: string) => {
    const section = sectionOf(markdown, title, source);
    const initial = /initial status `([a-z_]+)`/.exec(section.text)?.[1];
    if (initial === undefined) throw new Error(`${source}: section "${title}" names no initial status`);
    return { table: toTable(pick(section, 'from', source), source), initial };
  };
  const instance = read(SECTIONS.instance);
  const plan = read(SECTIONS.plan);
  const step = read(SECTIONS.step);
  return {
    instance: instance.table,
    plan: plan.table,
    step: step.table,
    initial: { instance: instance.initial, plan: plan.initial, step: step.initial },
  };
}

/** The one table of `section` headed `| <first> | allowed targets |`. */
function pick(section: Section, first: string, source: string): RawTable {
  const found = section.tables.filter((table) => table.header.length === 2 && table.header[0]?.toLowerCase() === first && table.header[1]?.toLowerCase() === 'allowed targets');
  if (found.length !== 1) throw new Error(`${source}: expected one table headed "| ${first} | allowed targets |" in "${section.title}", found ${found.length}`);
  return found[0]!;
}

interface RawTable {
  header: string[];
  body: string[][];
}

interface Section {
  title: string;
  /** The section's text, headings of deeper levels included. */
  text: string;
  tables: RawTable[];
}

function sectionOf(markdown: string, title: string, source: string): Section {
  const lines = markdown.split(/\r?\n/);
  const start = lines.findIndex((line) => /^##\s/.test(line) && line.replace(/^##\s+/, '').trim().startsWith(title));
  if (start < 0) throw new Error(`${source}: no section "## ${title}"`);
  let end = lines.findIndex((line, index) => index > start && /^##\s/.test(line));
  if (end < 0) end = lines.length;
  const tables: RawTable[] = [];
  let current: string[][] | undefined;
  for (const line of lines.slice(start + 1, end)) {
    const trimmed = line.trim();
    if (!trimmed.startsWith('|')) {
      current = undefined;
      continue;
    }
    const cells = trimmed
      .replace(/^\|/, '')
      .replace(/\|$/, '')
      .split('|')
      .map((cell) => cell.trim());
    if (cells.every((cell) => /^:?-{3,}:?$/.test(cell))) continue; // the separator row
    if (!current) {
      current = [];
      tables.push({ header: cells, body: current });
    } else {
      current.push(cells);
    }
  }
  if (tables.length === 0) throw new Error(`${source}: section "${title}" has no table`);
  return { title, text: lines.slice(start + 1, end).join('\n'), tables };
}

const STATUS = /^[a-z][a-z_]*$/;

function statusList(text: string, where: string, source: string): string[] {
  const names = text
    .replace(/`/g, '')
    .replace(/\([^)]*\)/g, '') // "(reopen)", "(a retry; `attempts` grows)"
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  for (const name of names) {
    if (!STATUS.test(name)) throw new Error(`${source}: cannot read status "${name}" in ${where}`);
  }
  return names;
}

function toTable(raw: RawTable, source: string): SpecTable {
  const rows = new Map<string, SpecRow>();
  for (const cells of raw.body) {
    if (cells.length < 2) throw new Error(`${source}: short row | ${cells.join(' | ')} |`);
    const [fromCell, targetCell] = cells as [string, string];
    const froms = statusList(fromCell, `row "${fromCell}"`, source);
    const terminal = /^none\b/i.test(targetCell.replace(/`/g, '').trim());
    const targets = terminal ? [] : statusList(targetCell, `row "${fromCell}"`, source);
    if (!terminal && targets.length === 0) throw new Error(`${source}: row "${fromCell}" names no target`);
    const remarks = new Map<string, string>();
    for (const match of targetCell.replace(/`/g, '').matchAll(/([a-z_]+)\s*\(([^)]*)\)/g)) {
      remarks.set(match[1]!, match[2]!.trim());
    }
    for (const from of froms) {
      if (rows.has(from)) throw new Error(`${source}: status "${from}" has two rows`);
      rows.set(from, Object.freeze({ targets: Object.freeze([...targets]), remarks, terminal }));
    }
  }
  const states = Object.freeze([...rows.keys()]);
  for (const row of rows.values()) {
    for (const target of row.targets) {
      if (!rows.has(target)) throw new Error(`${source}: target "${target}" has no row of its own`);
    }
  }
  return {
    states,
    rows,
    row(state) {
      const row = rows.get(state);
      if (!row) throw new Error(`${source}: no row for status "${state}"`);
      return row;
    },
    allows(from, to) {
      return rows.get(from)?.targets.includes(to) ?? false;
    },
  };
}
