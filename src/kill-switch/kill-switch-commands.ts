import { requireAccess, type Caller } from '../auth/caller.js';
import type { ChangeRequestCreated } from '../change-requests/change-request-schemas.js';
import type { ChangeRequestService, GateOutcome } from '../change-requests/change-request-service.js';
import type { Database } from '../connections/database.js';
import { hasVisibleCharacter } from '../domain/text.js';
import { NotFoundError, ValidationError } from '../errors.js';
import { findConfig, findFlag } from '../flags/flag-store.js';
import type { FlagConfig } from '../domain/flag.js';
import type { KillSwitchOutcome, KillSwitchService, RunOptions } from './kill-switch-service.js';

export interface PullKillSwitch {
  flagKey: string;
  environment: string;
  reason: string;
  /** Makes a redelivered request a no-op (an Idempotency-Key, a Slack trigger id, a firing episode). */
  requestId?: string;
}

export interface ReleaseKillSwitch {
  flagKey: string;
  environment: string;
  /** Defaults to a plain "kill switch released"; a bypass needs one of the caller's own (Caller.reason). */
  reason?: string | null;
  requestId?: string;
}

/** What releasing would do now: the kill as it stands, and the approvals a release would wait for (0: none, it releases at once). */
export interface ReleasePreview {
  killSwitch: FlagConfig['kill_switch'];
  approvalsNeeded: number;
}

/** A release either happened or, under a policy that says restores need approval, waits as a change request. */
export type ReleaseOutcome = { kind: 'released'; outcome: KillSwitchOutcome } | { kind: 'requested'; created: ChangeRequestCreated };

const BYPASS_MARK = '[change policy bypassed]';

/**
 * Pulling and releasing the kill switch, as every entry point asks for it: the HTTP routes (and so
 * the admin UI), Slack's /killswitch and Restore button, alert triggers. Each command checks in one
 * place the caller's right (flag:kill_switch for the flag's environment and tags; client and server
 * tokens never have it), the reason, and for a release the environment's change policy (a request
 * unless the caller bypasses it with the right and a reason), then writes, projects and audits
 * through the kill switch service. Killing is never gated: an incident must not wait for approvals.
 */
export function createKillSwitchCommands(deps: { db: Database; killSwitch: KillSwitchService; changeRequests?: ChangeRequestService }) {
  /** An unknown flag is checked without tags (so a caller without the right learns nothing), then the service answers 404. */
  async function authorize(caller: Caller, flagKey: string, environment: string): Promise<void> {
    const tags = (await findFlag(deps.db, flagKey))?.tags;
    requireAccess(caller, { resource: 'flag', action: 'kill_switch', environment, tags });
  }

  const origin = (caller: Caller) => ({ actor: caller.actor, ipAddress: caller.ipAddress ?? null, userAgent: caller.userAgent ?? null });

  return {
    /** Pulls the kill switch: the flag serves its off variant everywhere before this returns. */
    async pull(caller: Caller, command: PullKillSwitch, options?: RunOptions): Promise<KillSwitchOutcome> {
      await authorize(caller, command.flagKey, command.environment);
      const reason = command.reason.trim();
      if (!hasVisibleCharacter(reason)) throw new ValidationError('A reason is required', [{ path: 'body.reason', message: 'must contain a visible character' }]);
      return deps.killSwitch.activate({ ...origin(caller), flagKey: command.flagKey, environment: command.environment, reason, requestId: command.requestId }, options);
    },

    /**
     * What a release by this caller would do, for a prompt that offers it (Slack's `/killswitch … restore`):
     * decided by the release's own right, so the prompt is refused exactly where the release would be.
     * Changes nothing; an unknown flag or environment is a 404.
     */
    async releasePreview(caller: Caller, command: { flagKey: string; environment: string }): Promise<ReleasePreview> {
      await authorize(caller, command.flagKey, command.environment);
      const flag = await findFlag(deps.db, command.flagKey);
      const config = flag && !flag.archivedAt ? await findConfig(deps.db, flag.id, command.environment) : null;
      if (!config) throw new NotFoundError(`No flag '${command.flagKey}' in '${command.environment}'`);
      const policy = deps.changeRequests ? await deps.changeRequests.getPolicy(command.environment) : null;
      const gated = policy !== null && policy.required_approvals > 0 && policy.restore_requires_approval && !caller.bypass;
      return { killSwitch: config.config.kill_switch, approvalsNeeded: gated ? policy.required_approvals : 0 };
    },

    /** Releases the kill switch, or makes the change request the environment's policy asks for. */
    async release(caller: Caller, command: ReleaseKillSwitch, options?: RunOptions): Promise<ReleaseOutcome> {
      await authorize(caller, command.flagKey, command.environment);
      const reason = command.reason?.trim() || caller.reason?.trim() || null;
      const gate: GateOutcome = deps.changeRequests
        ? await deps.changeRequests.gateRestore({
          flagKey: command.flagKey, environment: command.environment, bypass: caller.bypass ?? false, subject: caller.subject,
          meta: { ...origin(caller), reason },
        })
        : { kind: 'none' };
      if (gate.kind === 'request') return { kind: 'requested', created: gate.created };
      const said = reason ?? 'kill switch released';
      const outcome = await deps.killSwitch.deactivate({
        ...origin(caller), flagKey: command.flagKey, environment: command.environment, requestId: command.requestId,
        // The release's audit event says it bypassed the policy, with the reason the bypass required.
        reason: gate.kind === 'bypass' ? `${BYPASS_MARK} ${said}` : said,
      }, options);
      return { kind: 'released', outcome };
    },
  };
}

export type KillSwitchCommands = ReturnType<typeof createKillSwitchCommands>;
