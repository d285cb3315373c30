// Run by .ci/runtimes with Bun: bun test test/runtimes/everywhere.bun.test.mjs
import { describe, it } from 'bun:test';
import { everywhere } from './everywhere.shared.mjs';

everywhere({
  runtime: `Bun ${Bun.version}`,
  describe,
  it: (name, body) => it(name, body, 60_000),
  async serve(handler) {
    const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: handler });
    return { url: `http://127.0.0.1:${server.port}`, close: () => server.stop(true) };
  },
});
