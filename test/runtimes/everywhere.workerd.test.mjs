// Run by .ci/runtimes with Node 22 (miniflare needs it): the Worker of everywhere.worker.mjs,
// bundled with esbuild as Wrangler would (ES modules, the workerd and worker conditions), runs in
// workerd through miniflare: its own checks, then requests from outside to the handler it serves.
// MINIFLARE names the miniflare package folder (in the runtimes cache, outside the repository).
import { join } from 'node:path';
import { describe, it, after } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const { Miniflare } = await import(pathToFileURL(join(process.env.MINIFLARE, 'dist/src/index.js')).href);
const bundled = await build({
  entryPoints: [fileURLToPath(new URL('./everywhere.worker.mjs', import.meta.url))],
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  conditions: ['workerd', 'worker', 'browser'],
  mainFields: ['module', 'main'],
  // As Wrangler defines it (immer reads it).
  define: { 'process.env.NODE_ENV': '"production"' },
  write: false,
  logLevel: 'silent',
});
// cf: false: no fetch of Cloudflare's request metadata (offline, 127.0.0.1 only).
const mf = new Miniflare({ modules: true, script: bundled.outputFiles[0].text, compatibilityDate: '2026-04-01', cf: false });
after(() => mf.dispose());

describe('a Cloudflare Worker (workerd through miniflare)', () => {
  it('passes every check the other runtimes pass', { timeout: 120_000 }, async () => {
    const response = await mf.dispatchFetch('http://worker/__selftest');
    const result = await response.json();
    if (result.failed.length > 0) throw new Error(`${result.failed.length} of ${result.total} failed:\n${result.failed.map((each) => `${each.name}\n${each.error}`).join('\n\n')}`);
    if (result.total < 60) throw new Error(`only ${result.total} checks ran`);
    console.log(`workerd: ${result.passed} of ${result.total} checks passed`);
  });

  it('answers requests from outside: the API, one key\'s requests at once, a refusal, a missing key', async () => {
    const post = (path, body, key = 'worker-key') => mf.dispatchFetch(`http://worker${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const created = await post('/api/instance-plan/instances/create', { agent_type_id: 'worker' });
    if (created.status !== 200) throw new Error(`create: ${created.status} ${await created.text()}`);
    const { instance } = await created.json();
    const listed = await (await post('/api/instance-plan/instances/list', {})).json();
    if (listed.instances.map((each) => each.id).join() !== instance.id) throw new Error(`list: ${JSON.stringify(listed)}`);
    // Large requests of one key at once (bodies over 64 KiB, which take turns elsewhere): in a
    // Worker a request cannot hand its turn to another, so turns are off and each runs as it comes.
    const large = JSON.stringify({ instance_id: instance.id }) + ' '.repeat(70_000);
    const together = await Promise.all(Array.from({ length: 6 }, () => mf.dispatchFetch('http://worker/api/instance-plan/instances/get', { method: 'POST', headers: { authorization: 'Bearer worker-key', 'content-type': 'application/json' }, body: large })));
    const bodies = await Promise.all(together.map((response) => response.json()));
    if (!bodies.every((body) => body.instance?.id === instance.id)) throw new Error(`six at once: ${JSON.stringify(bodies)}`);
    const refused = await post('/api/instance-plan/instances/create', { agent_type_id: 'worker', max_steps: 3 });
    if (refused.status !== 400) throw new Error(`unknown key: ${refused.status}`);
    const anonymous = await post('/api/instance-plan/instances/list', {}, 'wrong');
    if (anonymous.status !== 401) throw new Error(`wrong key: ${anonymous.status}`);
    await refused.text();
    await anonymous.text();
  });
});
