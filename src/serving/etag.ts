import { createHash } from 'node:crypto';

/**
 * A strong entity tag for a response body. The bulk answer is a function of the flags' versions
 * and the context, so hashing what was sent changes the tag exactly when any result changes,
 * and every replica holding the same flags gives the same tag.
 */
export function etagOf(body: string | Buffer): string {
  return `"${createHash('sha1').update(body).digest('base64url')}"`;
}

/** True when an If-None-Match header names `etag` (or is `*`); weak tags compare by their opaque part. */
export function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  const wanted = etag.startsWith('W/') ? etag.slice(2) : etag;
  for (const raw of header.split(',')) {
    const candidate = raw.trim();
    if (candidate === '*') return true;
    if ((candidate.startsWith('W/') ? candidate.slice(2) : candidate) === wanted) return true;
  }
  return false;
}
