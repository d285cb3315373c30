/** `crypto.randomUUID()`, the web-standard global every supported runtime has (typed here: the core has no DOM or Node types). */
export function randomId(): string {
  return (globalThis as unknown as { crypto: { randomUUID(): string } }).crypto.randomUUID();
}
