import type { EnvironmentConfig } from '../../../src/protocol/admin-api.ts';
import { servingSentence } from '../serving.ts';
import { variantDraftOf } from './variants-panel.tsx';

/** What an environment serves once its kill switch is released: its configured answer, as the summary reads it. */
export function afterRestore(config: EnvironmentConfig): string {
  const { variants, on_variant, off_variant, split } = variantDraftOf(config);
  return servingSentence({ enabled: config.enabled, killed: false, variants, on_variant, off_variant, split, rolloutPercentage: config.rollout?.percentage ?? null });
}

/** Rules and targeting entries that are matched first again once the flag is restored, in words ("" when none). */
function matchedFirst(config: EnvironmentConfig): string {
  if (!config.enabled) return '';
  const rules = config.rules?.length ?? 0;
  const targeting = config.targeting?.length ?? 0;
  const parts = [rules ? `${rules} rule${rules === 1 ? '' : 's'}` : '', targeting ? `${targeting} targeting entr${targeting === 1 ? 'y' : 'ies'}` : ''].filter(Boolean);
  return parts.length ? `${parts.join(' and ')} ${rules + targeting === 1 ? 'is' : 'are'} matched first again.` : '';
}

/** One line beside the Restore button: what restoring serves, before anyone presses it. */
export function RestorePreview({ env, config }: { env: string; config: EnvironmentConfig }) {
  return <p className="small" data-testid="restore-preview">Restoring serves {env} its configured answer — <strong>{afterRestore(config)}</strong> {matchedFirst(config)}</p>;
}

/** The restore dialog's body: what will be served after the restore, and why the flag was killed. */
export function RestoreEffect({ flagKey, env, config }: { flagKey: string; env: string; config: EnvironmentConfig }) {
  const reason = config.kill_switch?.reason;
  return (
    <>
      <p>The kill switch is released: <strong>{flagKey}</strong> serves every {env} user its configured answer again, at once.</p>
      <p data-testid="restore-serves">After the restore: <strong>{afterRestore(config)}</strong> {matchedFirst(config)}</p>
      {reason && <p className="small">It was killed because “{reason}”.</p>}
    </>
  );
}
