// Run by .ci/runtimes with Deno: deno test --allow-all test/runtimes/everywhere.deno.test.mjs
// (Deno's own runner has no describe/it: the tests are collected, then each is one Deno.test.)
import { collector, everywhere } from './everywhere.shared.mjs';

const tests = collector();
everywhere({
  runtime: `Deno ${Deno.version.deno}`,
  describe: tests.describe,
  it: tests.it,
  async serve(handler) {
    const server = Deno.serve({ hostname: '127.0.0.1', port: 0, onListen() {} }, handler);
    return { url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
  },
});
// The change stream's heartbeat timer lives as long as a stream: not a leak of the test.
for (const { name, body } of tests.tests) Deno.test({ name, fn: body, sanitizeOps: false, sanitizeResources: false });
