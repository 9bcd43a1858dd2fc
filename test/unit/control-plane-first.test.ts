import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ControlPlaneFirst } from '../../api/control-plane-first.js';

/** A response that is only ever closed: all ControlPlaneFirst looks at. */
const response = () => new EventEmitter() as unknown as ServerResponse & { emit(event: 'close'): boolean };
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('ControlPlaneFirst: evaluations yield to control-plane requests', () => {
  it('runs an evaluation at once when no control-plane request is in flight', () => {
    const priority = new ControlPlaneFirst(2);
    const ran: number[] = [];
    priority.evaluation(() => ran.push(1));
    expect(ran).toEqual([1]);
    expect(priority.queued).toBe(0);
  });

  it('answers queued evaluations a few per turn, in order, while a control-plane request is in flight', async () => {
    const priority = new ControlPlaneFirst(2);
    const control = response();
    priority.control(control);
    const ran: number[] = [];
    for (let i = 0; i < 5; i++) priority.evaluation(() => ran.push(i));
    expect(ran).toEqual([]);
    await turn();
    expect(ran).toEqual([0, 1]);
    await turn();
    expect(ran).toEqual([0, 1, 2, 3]);
    // The control request ends: what still waits goes in the next turn, and new ones run at once after.
    control.emit('close');
    await turn();
    expect(ran).toEqual([0, 1, 2, 3, 4]);
    priority.evaluation(() => ran.push(5));
    expect(ran).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('keeps evaluations behind those already waiting even once priority ends', async () => {
    const priority = new ControlPlaneFirst(1);
    const control = response();
    priority.control(control);
    const ran: string[] = [];
    priority.evaluation(() => ran.push('first'));
    priority.evaluation(() => ran.push('second'));
    control.emit('close');
    // Nothing has priority now, but two wait: a new one queues behind them rather than overtaking.
    priority.evaluation(() => ran.push('third'));
    expect(ran).toEqual([]);
    await turn();
    expect(ran).toEqual(['first', 'second', 'third']);
    expect(priority.queued).toBe(0);
  });

  it('gives a control-plane request priority for its window only (an event stream stays open)', async () => {
    const priority = new ControlPlaneFirst(1, 20);
    const stream = response();
    priority.control(stream);
    const ran: number[] = [];
    priority.evaluation(() => ran.push(1));
    await new Promise((resolve) => setTimeout(resolve, 40));
    await turn();
    expect(ran).toEqual([1]);
    priority.evaluation(() => ran.push(2));
    expect(ran).toEqual([1, 2]);
    // Closing after the window changes nothing: priority is not counted twice.
    stream.emit('close');
    priority.evaluation(() => ran.push(3));
    expect(ran).toEqual([1, 2, 3]);
  });

  it('answers every evaluation exactly once, in arrival order, whatever control requests come and go', async () => {
    // Steps: an evaluation arrives, a control request starts, the oldest open one closes, a loop turn passes.
    const step = fc.oneof(fc.constant('evaluation' as const), fc.constant('control' as const), fc.constant('close' as const), fc.constant('turn' as const));
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 40 }), fc.integer({ min: 1, max: 4 }), async (steps, perTurn) => {
        const priority = new ControlPlaneFirst(perTurn, 60_000);
        const open: Array<ReturnType<typeof response>> = [];
        const ran: number[] = [];
        let arrived = 0;
        for (const s of steps) {
          if (s === 'evaluation') {
            const n = arrived++;
            priority.evaluation(() => ran.push(n));
          } else if (s === 'control') {
            const res = response();
            open.push(res);
            priority.control(res);
          } else if (s === 'close') {
            open.shift()?.emit('close');
          } else {
            await turn();
          }
        }
        for (const res of open) res.emit('close');
        await turn();
        expect(ran).toEqual(Array.from({ length: arrived }, (_, i) => i));
        expect(priority.queued).toBe(0);
      }),
      { numRuns: 200 },
    );
  });
});
