import type { FlagLifecycleView } from '../../../src/protocol/admin-api.ts';

/** A flag's lifecycle stage as a badge; the reason is its tooltip and is read out by screen readers. */
export function LifecycleBadge({ lifecycle }: { lifecycle: Pick<FlagLifecycleView, 'stage' | 'reason'> }) {
  return (
    <span className={`badge lifecycle-${lifecycle.stage}`} title={lifecycle.reason} data-testid="lifecycle" data-stage={lifecycle.stage}>
      {lifecycle.stage}<span className="sr-only">: {lifecycle.reason}</span>
    </span>
  );
}
