/**
 * Wraps `run` so that calls while it runs share that run and cause exactly one more run after it
 * (while `keepGoing()`): a burst of change notifications costs at most two fetches. No I/O of its
 * own, so the Node and the browser SDK both use it.
 */
export function coalesced(run: () => Promise<void>, keepGoing: () => boolean): () => Promise<void> {
  let inflight: Promise<void> | undefined;
  let again = false;
  return () => {
    if (inflight) {
      again = true;
      return inflight;
    }
    inflight = (async () => {
      do {
        again = false;
        await run();
      } while (again && keepGoing());
    })().finally(() => {
      inflight = undefined;
    });
    return inflight;
  };
}
