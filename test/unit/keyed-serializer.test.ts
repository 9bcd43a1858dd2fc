import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyedSerializer } from '../../src/alert-triggers/keyed-serializer.js';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('KeyedSerializer', () => {
  it('runs the tasks of one key one at a time, in arrival order; other keys overlap; failures pass on; nothing is kept after', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ key: fc.constantFrom('a', 'b', 'c'), ticks: fc.nat({ max: 3 }), fails: fc.boolean() }), { minLength: 1, maxLength: 30 }),
        async (tasks) => {
          const serializer = new KeyedSerializer();
          const running = new Map<string, number>();
          const started: Record<string, number[]> = {};
          let mostAtOnce = 0;
          const results = tasks.map((task, index) =>
            serializer.run(task.key, async () => {
              (started[task.key] ??= []).push(index);
              running.set(task.key, (running.get(task.key) ?? 0) + 1);
              mostAtOnce = Math.max(mostAtOnce, ...running.values());
              for (let i = 0; i < task.ticks; i += 1) await tick();
              running.set(task.key, running.get(task.key)! - 1);
              if (task.fails) throw new Error(`task ${index}`);
              return index;
            }).then((value) => ({ value }), (error: Error) => ({ error: error.message })),
          );
          const settled = await Promise.all(results);
          expect(mostAtOnce).toBe(1);
          for (const [key, order] of Object.entries(started)) {
            expect(order).toEqual(tasks.flatMap((t, i) => (t.key === key ? [i] : [])));
          }
          settled.forEach((outcome, index) => expect(outcome).toEqual(tasks[index]!.fails ? { error: `task ${index}` } : { value: index }));
          await tick();
          expect(serializer.pendingKeys).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('lets different keys run at the same time', async () => {
    const serializer = new KeyedSerializer();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    const first = serializer.run('a', () => gate);
    let secondRan = false;
    const second = serializer.run('b', async () => { secondRan = true; });
    await second;
    await tick();
    expect(secondRan).toBe(true);
    expect(serializer.pendingKeys).toBe(1); // a's, still waiting for its gate

    release();
    await first;
  });
});
