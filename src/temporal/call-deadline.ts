import type { AsyncLocalStorage } from 'node:async_hooks';
import type { ConnectionLike } from '@temporalio/client';

const callsUnderway = new WeakMap<ConnectionLike, number>();

/**
 * Runs `fn` with a deadline on the Temporal client's calls (its `withDeadline`), and turns the
 * client's AsyncLocalStorage off again once no such call is under way. While any AsyncLocalStorage
 * is on, Node 20 runs async hooks for every promise and async resource of the process, the
 * evaluation hot path included; one readiness probe used to leave them on for good.
 */
export async function withCallDeadline<T>(connection: ConnectionLike, deadline: number, fn: () => Promise<T>): Promise<T> {
  callsUnderway.set(connection, (callsUnderway.get(connection) ?? 0) + 1);
  try {
    return await connection.withDeadline(deadline, fn);
  } finally {
    const left = (callsUnderway.get(connection) ?? 1) - 1;
    callsUnderway.set(connection, left);
    // A Connection keeps its call context there; other ConnectionLike clients may not have one.
    if (left === 0) (connection as { callContextStorage?: AsyncLocalStorage<unknown> }).callContextStorage?.disable();
  }
}
