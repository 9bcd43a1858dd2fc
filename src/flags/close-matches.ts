// "Did you mean…" for mistyped keys: the API's 404s and the Slack commands use it.

/** Edit distance, for "did you mean"; inputs are short keys. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/**
 * `outer` contains `inner`, and `inner` is long enough to mean something: three characters ("prod" in
 * "production") or half of `outer`. A key "0" is not close to every key with a 0 in it.
 */
function contains(outer: string, inner: string): boolean {
  return (inner.length >= 3 || inner.length * 2 >= outer.length) && outer.includes(inner);
}

/** Up to `limit` candidates close to `input` (substring or a few edits away), closest first. */
export function closeMatches(input: string, candidates: readonly string[], limit = 3): string[] {
  const needle = input.toLowerCase().slice(0, 128);
  return candidates
    .map((candidate) => {
      const c = candidate.toLowerCase();
      const d = contains(c, needle) || contains(needle, c) ? 0.5 : distance(needle, c.slice(0, 128));
      return { candidate, d };
    })
    .filter(({ d }) => d <= Math.max(2, Math.floor(needle.length / 3)))
    .sort((x, y) => x.d - y.d || x.candidate.localeCompare(y.candidate))
    .slice(0, limit)
    .map(({ candidate }) => candidate);
}
