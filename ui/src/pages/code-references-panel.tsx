import { useId } from 'react';
import type { FlagCodeReferences } from '../../../src/protocol/admin-api.ts';
import { enc } from '../api.ts';
import { ErrorBox, time } from '../components.tsx';
import { useLoad } from '../hooks.ts';
import { useSession } from '../session.tsx';

/** Where the flag is used in code, per repository: files with lines, and when each repository was last scanned. */
export function CodeReferencesPanel({ flagKey }: { flagKey: string }) {
  const { api } = useSession();
  const id = useId();
  const refs = useLoad((signal) => api.get<FlagCodeReferences>(`/api/v1/flags/${enc(flagKey)}/code-references`, signal), [flagKey]);
  const data = refs.data;
  // One group per repository, each with the time of its last upload.
  const repositories = new Map<string, { uploadedAt: string; files: FlagCodeReferences['references'] }>();
  for (const ref of data?.references ?? []) {
    const group = repositories.get(ref.repository) ?? { uploadedAt: ref.uploaded_at, files: [] };
    group.files.push(ref);
    if (ref.uploaded_at > group.uploadedAt) group.uploadedAt = ref.uploaded_at;
    repositories.set(ref.repository, group);
  }
  return (
    <section className="card code-refs" aria-labelledby={`${id}-h`} data-testid="code-references" data-files={data?.files ?? ''}>
      <h3 id={`${id}-h`}>Code references</h3>
      <ErrorBox error={refs.error} />
      {!data && !refs.error && <p role="status" className="muted">Loading…</p>}
      {data && data.files === 0 && (
        <p data-testid="no-references">No references found. Upload them from a checkout with <code>npx ripcord refs . --upload</code> (as an editor or admin).</p>
      )}
      {data && data.files > 0 && (
        <>
          <p data-testid="reference-count">Referenced in <strong>{data.files}</strong> {data.files === 1 ? 'file' : 'files'}{repositories.size > 1 ? ` across ${repositories.size} repositories` : ''}.</p>
          {[...repositories].map(([repository, group]) => (
            <div key={repository} data-repository={repository}>
              <h4><code className="wrap-anywhere">{repository}</code> <span className="muted small">uploaded {time(group.uploadedAt)}</span></h4>
              <ul className="ref-files">
                {group.files.map((f) => (
                  <li key={f.path} data-path={f.path}>
                    <code className="wrap-anywhere">{f.path}</code>
                    {f.lines.length > 0 && <span className="muted small"> line{f.lines.length === 1 ? '' : 's'} {f.lines.join(', ')}</span>}
                  </li>
                ))}
              </ul>
            </div>
          ))}
        </>
      )}
    </section>
  );
}
