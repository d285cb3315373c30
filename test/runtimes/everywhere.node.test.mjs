// Run by .ci/runtimes with Node 20 and Node 22: node --test test/runtimes/everywhere.node.test.mjs
import { createServer } from 'node:http';
import { describe, it } from 'node:test';
import { toNodeListener } from '../../dist/http/node.js';
import { everywhere } from './everywhere.shared.mjs';

everywhere({
  runtime: `Node ${process.version}`,
  describe,
  it: (name, body) => it(name, { timeout: 60_000 }, body),
  async serve(handler) {
    const server = createServer(toNodeListener(handler));
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${server.address().port}`,
      close: () => new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
    };
  },
});
