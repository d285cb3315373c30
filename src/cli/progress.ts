import type { CopyProgress } from '../stores/copy';

/** What the command line writes progress to: a terminal, or a file or pipe. */
export interface ProgressOutput {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

/**
 * A copy's progress: on a terminal one bar, redrawn in place; elsewhere (a log, a pipe) a plain
 * line at each kind's start and at every tenth of it, so a log stays short and readable.
 */
export function copyProgress(output: ProgressOutput): { onProgress(progress: CopyProgress): void; done(): void } {
  let lastLine = '';
  let drawn = false;
  return {
    onProgress({ kind, done, total }) {
      const plural = `${kind}s`;
      if (output.isTTY) {
        const width = Math.max(10, Math.min(40, (output.columns ?? 80) - 40));
        const filled = total === 0 ? width : Math.round((done / total) * width);
        output.write(`\r${plural.padEnd(9)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
        drawn = true;
        if (done === total) {
          output.write('\n');
          drawn = false;
        }
        return;
      }
      const step = Math.max(1, Math.ceil(total / 10));
      if (done === 1 || done === total || done % step === 0) {
        const line = `${plural}: ${done} of ${total}\n`;
        if (line !== lastLine) output.write(line);
        lastLine = line;
      }
    },
    done() {
      if (drawn) output.write('\n');
    },
  };
}
