// `instance-plan inspect <store>`: the inspector and the HTTP API over a store, on 127.0.0.1 only,
// behind a key made for this run (printed once), until the process is stopped.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { PlanManager } from '../manager/plan-manager';
import { createFetchHandler } from '../http/handler';
import { inspectorPage } from '../http/inspector';
import { nodeServerOptions, toNodeListener } from '../http/node';
import type { OpenStore } from './stores';

export async function serveInspector(store: OpenStore, port: number): Promise<{ url: string; key: string; closed: Promise<void> }> {
  const key = randomBytes(18).toString('base64url');
  const handler = createFetchHandler(new PlanManager({ adapter: store.adapter }), { authenticate: (_request, token) => (token === key ? {} : null), inspector: inspectorPage });
  const server = createServer(nodeServerOptions, toNodeListener(handler));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const closed = new Promise<void>((resolve) => {
    const stop = () => {
      server.closeAllConnections();
      server.close(() => resolve());
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, key, closed };
}
