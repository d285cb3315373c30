// `npm run diagrams`: writes the generated docs from the built package (run `tsup` first).
import { writeFile } from 'node:fs/promises';
import { instanceMachine, planMachine, stepMachine } from '../dist/index.js';
import { compileMachine, toMermaid } from '../dist/machines/index.js';
import { renderDocs } from './render-docs.mjs';

const root = new URL('../', import.meta.url);
const files = renderDocs({ machines: { instance: instanceMachine, plan: planMachine, step: stepMachine }, toMermaid, compileMachine });
for (const [path, text] of Object.entries(files)) {
  await writeFile(new URL(path, root), text);
  console.log(`wrote ${path}`);
}
