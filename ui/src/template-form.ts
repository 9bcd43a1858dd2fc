import type { Role } from '../../src/auth/rbac.ts';
import type { NewTemplate, Phase } from '../../src/domain/release-pipeline.ts';
import { guardDraftOf, guardOf, NO_GUARD, type GuardDraft } from './guard-draft.ts';
import { jsonFrom } from './validation.ts';

/**
 * A release template as its form holds it, and back. Pure: the page renders these drafts, and what it
 * sends is `templateBodyOf(draft)`, checked with the API's own schema (newTemplateSchema) first.
 * Whatever the form has no field for (a plan's approval timeout, a plan of another strategy as JSON) is
 * carried through untouched, so editing one field never drops another. A guard, the phase's or its
 * plan's, is edited as the phase's guard.
 */

export interface StepDraft { percentage: number; hold: string; approval: boolean }

/** How a phase rolls out: not at all (audience only), at once to a percentage, in steps, or a plan typed as JSON. */
export type RolloutKind = 'none' | 'immediate' | 'gradual' | 'json';

export interface PhaseDraft {
  name: string;
  environment: string;
  /** Segment keys, comma-separated. */
  segments: string;
  /** The audience's variant (empty: the on variant). */
  variant: string;
  rollout: RolloutKind;
  percentage: number;
  steps: StepDraft[];
  /** The plan as JSON text (rollout `json`). */
  planJson: string;
  /** Plan fields the form does not edit (approval_timeout), kept for immediate and gradual plans. */
  planRest: Record<string, unknown>;
  /** The guard of the phase's rollout. */
  guard: GuardDraft;
  /** The role whose approval the phase waits for before it starts ('' for none). */
  approvalRole: Role | '';
  soak: string;
}

export interface TemplateDraft { name: string; description: string; phases: PhaseDraft[] }

export const DEFAULT_STEPS: StepDraft[] = [
  { percentage: 10, hold: '1 hour', approval: false },
  { percentage: 50, hold: '1 hour', approval: false },
  { percentage: 100, hold: '', approval: false },
];

export function newPhase(environment: string): PhaseDraft {
  return {
    name: '', environment, segments: '', variant: '', rollout: 'immediate', percentage: 100, steps: DEFAULT_STEPS.map((s) => ({ ...s })),
    planJson: '', planRest: {}, guard: { ...NO_GUARD }, approvalRole: '', soak: '',
  };
}

/** A first template: each environment in turn, production behind an editor's approval. */
export function newTemplate(environments: readonly string[]): TemplateDraft {
  const phases = environments.map((e) => ({ ...newPhase(e), approvalRole: e === 'production' ? 'editor' as const : '' as const }));
  return { name: '', description: '', phases };
}

const splitList = (text: string) => text.split(',').map((s) => s.trim()).filter(Boolean);

type StoredPhase = Partial<Phase> & { environment: string };

function phaseDraftOf(phase: StoredPhase): PhaseDraft {
  const draft = newPhase(phase.environment);
  draft.name = phase.name ?? '';
  draft.segments = phase.audience?.segments.join(', ') ?? '';
  draft.variant = phase.audience?.variant ?? '';
  draft.guard = guardDraftOf(phase.guard);
  draft.approvalRole = phase.approval?.role ?? '';
  draft.soak = phase.soak === undefined ? '' : String(phase.soak);
  const plan = phase.plan as Record<string, unknown> | undefined;
  if (!plan) {
    draft.rollout = 'none';
  } else if (plan.strategy === 'immediate' && typeof plan.percentage === 'number') {
    const { strategy: _s, percentage, guard, ...rest } = plan;
    Object.assign(draft, { rollout: 'immediate', percentage, planRest: rest, guard: guard ? guardDraftOf(guard) : draft.guard });
  } else if (plan.strategy === 'gradual' && Array.isArray(plan.steps) && plan.linear === undefined) {
    const { strategy: _s, steps, guard, ...rest } = plan;
    const drafts = (steps as Array<{ percentage: number; hold?: string | number; approval?: boolean }>)
      .map((s) => ({ percentage: s.percentage, hold: s.hold === undefined ? '' : String(s.hold), approval: s.approval === true }));
    Object.assign(draft, { rollout: 'gradual', steps: drafts, planRest: rest, guard: guard ? guardDraftOf(guard) : draft.guard });
  } else {
    Object.assign(draft, { rollout: 'json', planJson: JSON.stringify(plan, null, 2) });
  }
  return draft;
}

/** The form's draft of a stored template (or of a template's body). */
export function templateDraftOf(template: { name: string; description?: string; phases: StoredPhase[] }): TemplateDraft {
  return { name: template.name, description: template.description ?? '', phases: template.phases.map(phaseDraftOf) };
}

/** A duration as typed: a number of milliseconds stays a number, as the API reads it. */
const durationOf = (text: string): string | number => (/^\d+$/.test(text.trim()) ? Number(text.trim()) : text.trim());

function planOf(draft: PhaseDraft, index: number): unknown {
  switch (draft.rollout) {
    case 'none': return undefined;
    case 'immediate': return { strategy: 'immediate', percentage: draft.percentage, ...draft.planRest };
    case 'gradual': return {
      strategy: 'gradual',
      steps: draft.steps.map((s) => ({ percentage: s.percentage, ...(s.hold.trim() ? { hold: durationOf(s.hold) } : {}), ...(s.approval ? { approval: true } : {}) })),
      ...draft.planRest,
    };
    case 'json': return jsonFrom(draft.planJson, `phases.${index}.plan`);
  }
}

/** What POST /api/v1/release-templates takes (PUT takes it without the name). Throws an ApiError at the field for plan JSON that does not parse. */
export function templateBodyOf(draft: TemplateDraft): NewTemplate {
  const phases = draft.phases.map((p, i) => {
    const segments = splitList(p.segments);
    const plan = planOf(p, i);
    const guard = plan === undefined ? undefined : guardOf(p.guard);
    return {
      ...(p.name.trim() ? { name: p.name.trim() } : {}),
      environment: p.environment,
      ...(segments.length ? { audience: { segments, ...(p.variant.trim() ? { variant: p.variant.trim() } : {}) } } : {}),
      ...(plan === undefined ? {} : { plan }),
      ...(guard === undefined ? {} : { guard }),
      ...(p.approvalRole ? { approval: { role: p.approvalRole } } : {}),
      ...(p.soak.trim() ? { soak: durationOf(p.soak) } : {}),
    };
  });
  return { name: draft.name.trim(), ...(draft.description.trim() ? { description: draft.description.trim() } : {}), phases } as NewTemplate;
}

/** Moves the item at `from` to `to` (both in range), a new array. */
export function move<T>(items: readonly T[], from: number, to: number): T[] {
  const out = [...items];
  const [item] = out.splice(from, 1);
  out.splice(to, 0, item!);
  return out;
}
