import { spawn } from 'node:child_process';
import { afterAll, describe, expect, test } from 'vitest';
import { start } from '../examples/http-server.mjs';
import { builtPackageProblem } from './support/built-package';

const root = new URL('../', import.meta.url);

// The example as a module (vitest maps 'instance-plan*' to the source), and, when the package is
// built and up to date, as a program run by node exactly as the README says (the package's own
// name then resolves to dist/ through package.json "exports").

describe('examples/http-server.mjs, imported', async () => {
  const lines: string[] = [];
  const server = await start({ port: 0, log: (line) => lines.push(line) });
  afterAll(() => server.close());

  test('listens on 127.0.0.1 and prints how to call it', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(lines[0]).toBe(`instance-plan HTTP server listening on ${server.url}`);
    expect(lines.join('\n')).toContain(`${server.url}/api/agents/tools/instance_plan/create`);
  });

  test('the printed requests work: transition, then the seed\'s create', async () => {
    await expectPrintedRequestsWork(server.url, server.instance.id);
  });
});

/** Runs the two curl commands the example prints, with fetch. */
async function expectPrintedRequestsWork(url: string, instanceId: string) {
  const headers = { authorization: 'Bearer YOUR_API_KEY', 'content-type': 'application/json' };
  const transition = await fetch(`${url}/agents/instances/${instanceId}/transition`, { method: 'POST', headers, body: '{"status":"running"}' });
  expect(transition.status).toBe(200);
  expect(await transition.json()).toMatchObject({ id: instanceId, organization_id: 'acme', status: 'running' });
  const create = await fetch(`${url}/api/agents/tools/instance_plan/create`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      site_id: 'YOUR_SITE_ID',
      instance_id: instanceId,
      title: 'Lead qualification flow',
      plan_type: 'objective',
      steps: [
        { title: 'Fetch lead data', type: 'tool_call' },
        { title: 'Qualify lead', type: 'process' },
      ],
    }),
  });
  expect(create.status).toBe(200);
  expect(await create.json()).toMatchObject({ success: true, plan: { title: 'Lead qualification flow', status: 'pending' } });
  const stranger = await fetch(`${url}/api/agents/tools/instance_plan/get`, { method: 'POST', headers: { ...headers, authorization: 'Bearer nope' }, body: '{}' });
  expect(stranger.status).toBe(401);
}

const problem = builtPackageProblem();

describe(`node examples/http-server.mjs, run as written${problem ? ` (not run: ${problem})` : ''}`, () => {
  test.skipIf(problem !== undefined)('starts, prints its URL, and serves the printed requests', async () => {
    const child = spawn(process.execPath, ['examples/http-server.mjs'], { cwd: root, env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      // The URL and the instance are in the first lines it prints.
      const [, url, instanceId] = await new Promise<RegExpExecArray>((resolve, reject) => {
        let out = '';
        let err = '';
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          out += chunk;
          const match = /listening on (http:\/\/127\.0\.0\.1:\d+)\ninstance (\S+) \(starting\)/.exec(out);
          if (match) resolve(match);
        });
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
        child.once('exit', (code) => reject(new Error(`the example exited (${code}) before listening: ${err}`)));
      });
      await expectPrintedRequestsWork(url!, instanceId!);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
