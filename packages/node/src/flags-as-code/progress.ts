/**
 * Progress of a long export, plan, apply or import: a bar redrawn in place on a terminal, and on
 * anything else (a CI log) a line of counts every tenth of the way, so logs stay short.
 */
export interface Progress {
  /** One more item done; `label` says which. */
  tick(label?: string): void;
  /** Clears the bar (a terminal) or prints the final count (a log). */
  done(): void;
}

export interface ProgressSink {
  /** True when the sink is a terminal that understands carriage returns. */
  isTTY: boolean;
  write(text: string): void;
}

const WIDTH = 30;

export function createProgress(sink: ProgressSink | undefined, what: string, total: number): Progress {
  let count = 0;
  let lastLogged = 0;
  if (!sink || total === 0) return { tick: () => void count++, done: () => undefined };
  if (sink.isTTY) {
    const draw = (label: string) => {
      const filled = Math.round((count / total) * WIDTH);
      sink.write(`\r\x1b[2K${what} [${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${count}/${total} ${label.slice(0, 40)}`);
    };
    return {
      tick(label = '') {
        count++;
        draw(label);
      },
      done() {
        sink.write('\r\x1b[2K');
      },
    };
  }
  const step = Math.max(1, Math.ceil(total / 10));
  return {
    tick() {
      count++;
      if (count - lastLogged >= step && count < total) {
        lastLogged = count;
        sink.write(`${what}: ${count}/${total}\n`);
      }
    },
    done() {
      sink.write(`${what}: ${count}/${total}\n`);
    },
  };
}
