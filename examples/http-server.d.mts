import type { Instance } from '../src/index';

/** Starts the example server on `host` (127.0.0.1) and `port` (0: any free one). */
export function start(options?: { port?: number; host?: string; log?: (line: string) => void }): Promise<{
  url: string;
  /** The instance made at start, for the printed curl commands. */
  instance: Instance;
  close(): Promise<void>;
}>;
