/** Timers are in every runtime the core runs in, but not in the ES library it is checked against. */
export const timers = globalThis as unknown as {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
};
