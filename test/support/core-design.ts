import { readFileSync } from 'node:fs';

/**
 * The transition tables of DESIGN.md, parsed from the markdown itself: tests compare the
 * machines against the contract, never against a copy of the tables written into a test.
 */

/** One row group of a table: the allowed targets of one status, and whether it is terminal. */
export interface DesignRow {
  readonly targets: readonly string[];
  /** The remark written after a target, e.g. "reopen" for `in_progress (reopen)`. */
  readonly remarks: ReadonlyMap<string, string>;
  /** The row says "none" (or "none: terminal"): nothing may follow this status. */
  readonly terminal: boolean;
}

export interface DesignTable {
  /** Every status the table names, in the order the rows name them. */
  readonly states: readonly string[];
  readonly rows: ReadonlyMap<string, DesignRow>;
  /** The row of `state`; throws for a status the table does not name. */
  row(state: string): DesignRow;
  /** True when `from -> to` is a row entry (guards aside). */
  allows(from: string, to: string): boolean;
}

export interface DesignTables {
  readonly instance: DesignTable;
  readonly plan: DesignTable;
  readonly step: DesignTable;
}

/** Reads DESIGN.md at `url` (tests pass `new URL('../../shared/DESIGN.md', import.meta.url)`). */
export function readDesignTables(url: URL): DesignTables {
  return parseDesignTables(readFileSync(url, 'utf8'));
}

export function parseDesignTables(markdown: string): DesignTables {
  const lifecycle = tablesOfSection(markdown, 'Instance lifecycle');
  const planAndStep = tablesOfSection(markdown, 'Plan and step status');
  const pick = (tables: RawTable[], header: string): RawTable => {
    const found = tables.filter((table) => table.header[0]?.toLowerCase() === header);
    if (found.length !== 1) throw new Error(`DESIGN.md: expected one table headed "${header}", found ${found.length}`);
    return found[0]!;
  };
  return {
    instance: toTable(pick(lifecycle, 'from')),
    plan: toTable(pick(planAndStep, 'plan from')),
    step: toTable(pick(planAndStep, 'step from')),
  };
}

interface RawTable {
  header: string[];
  body: string[][];
}

function tablesOfSection(markdown: string, title: string): RawTable[] {
  const lines = markdown.split(/\r?\n/);
  const start = lines.findIndex((line) => /^##\s/.test(line) && line.replace(/^##\s+/, '').trim().startsWith(title));
  if (start < 0) throw new Error(`DESIGN.md: no section "## ${title}"`);
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
  if (tables.length === 0) throw new Error(`DESIGN.md: section "${title}" has no table`);
  return tables;
}

const STATUS = /^[a-z][a-z_]*$/;

function statusList(text: string, where: string): string[] {
  const names = text
    .replace(/`/g, '')
    .replace(/\([^)]*\)/g, '') // "(reopen)", "(a retry; `attempts` grows)"
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  for (const name of names) {
    if (!STATUS.test(name)) throw new Error(`DESIGN.md: cannot read status "${name}" in ${where}`);
  }
  return names;
}

function toTable(raw: RawTable): DesignTable {
  const rows = new Map<string, DesignRow>();
  for (const cells of raw.body) {
    if (cells.length < 2) throw new Error(`DESIGN.md: short row | ${cells.join(' | ')} |`);
    const [fromCell, targetCell] = cells as [string, string];
    const froms = statusList(fromCell, `row "${fromCell}"`);
    const terminal = /^none\b/i.test(targetCell.replace(/`/g, '').trim());
    const targets = terminal ? [] : statusList(targetCell, `row "${fromCell}"`);
    if (!terminal && targets.length === 0) throw new Error(`DESIGN.md: row "${fromCell}" names no target`);
    const remarks = new Map<string, string>();
    for (const match of targetCell.replace(/`/g, '').matchAll(/([a-z_]+)\s*\(([^)]*)\)/g)) {
      remarks.set(match[1]!, match[2]!.trim());
    }
    for (const from of froms) {
      if (rows.has(from)) throw new Error(`DESIGN.md: status "${from}" has two rows`);
      rows.set(from, Object.freeze({ targets: Object.freeze([...targets]), remarks, terminal }));
    }
  }
  const states = Object.freeze([...rows.keys()]);
  for (const row of rows.values()) {
    for (const target of row.targets) {
      if (!rows.has(target)) throw new Error(`DESIGN.md: target "${target}" has no row of its own`);
    }
  }
  return {
    states,
    rows,
    row(state) {
      const row = rows.get(state);
      if (!row) throw new Error(`DESIGN.md: no row for status "${state}"`);
      return row;
    },
    allows(from, to) {
      return rows.get(from)?.targets.includes(to) ?? false;
    },
  };
}
