import type { ServerResponse } from 'node:http';

/** Evaluations answered per event-loop turn while a control-plane request is in flight. */
export const EVALUATIONS_PER_TURN = 4;
/** How long one control-plane request keeps its priority (an SSE stream or a slow export must not hold it). */
export const PRIORITY_WINDOW_MS = 1_000;

/**
 * Control-plane requests (a kill, any management call) first, evaluation after. One process serves
 * both on one event loop; saturated by evaluations, every turn of the loop answers an evaluation on
 * each connection that has one ready before it gets to the next Postgres, Redis or Temporal answer a
 * kill is waiting for, and a kill waits through many such turns. While a control-plane request is in
 * flight, evaluations therefore wait in a queue answered a few per turn (setImmediate), so each turn
 * is short and the kill's I/O is picked up at once. With no control-plane request in flight an
 * evaluation runs at once, as before: the hot path pays one comparison.
 */
export class ControlPlaneFirst {
  private inFlight = 0;
  private readonly waiting: Array<() => void> = [];
  private next = 0;
  private scheduled = false;

  constructor(private readonly perTurn = EVALUATIONS_PER_TURN, private readonly windowMs = PRIORITY_WINDOW_MS) {}

  /** Runs an evaluation now, or queued behind what waits while control-plane requests are in flight. */
  evaluation(run: () => void): void {
    if (this.inFlight === 0 && this.next === this.waiting.length) return run();
    this.waiting.push(run);
    this.schedule();
  }

  /** A control-plane request has started: it has priority until its response closes or the window ends. */
  control(res: ServerResponse): void {
    this.inFlight++;
    let over = false;
    const end = () => {
      if (over) return;
      over = true;
      this.inFlight--;
      clearTimeout(timer);
    };
    const timer = setTimeout(end, this.windowMs);
    timer.unref();
    res.once('close', end);
  }

  /** Evaluations waiting for their turn (for tests and metrics). */
  get queued(): number {
    return this.waiting.length - this.next;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.drain);
  }

  private readonly drain = () => {
    this.scheduled = false;
    // Once nothing has priority any more, everything that waited goes in this turn.
    const end = this.inFlight > 0 ? Math.min(this.waiting.length, this.next + this.perTurn) : this.waiting.length;
    while (this.next < end) {
      const run = this.waiting[this.next]!;
      this.waiting[this.next++] = NOTHING;
      run();
    }
    if (this.next === this.waiting.length) {
      this.waiting.length = 0;
      this.next = 0;
    } else {
      this.schedule();
    }
  };
}

const NOTHING = () => undefined;
