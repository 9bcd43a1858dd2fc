/**
 * Runs tasks that share a key one after another, in the order they arrived; tasks of other keys run
 * freely. The alert-trigger hook uses it so a storm of deliveries to one trigger waits here, in memory,
 * instead of each holding a pooled database connection while it waits for the trigger's row lock —
 * which would exhaust the pool for every other request (the kill switch's included).
 */
export class KeyedSerializer {
  /** The last task of each key with work pending (settled tails are removed). */
  private readonly tails = new Map<string, Promise<void>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task);
    const tail = result.then(() => undefined, () => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Keys with a task running or waiting. */
  get pendingKeys(): number {
    return this.tails.size;
  }
}
