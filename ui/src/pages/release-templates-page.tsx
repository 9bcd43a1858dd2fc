import { useState } from 'react';
import type { Decision } from '../../../src/auth/rbac.ts';
import { newTemplateSchema, type Phase } from '../../../src/domain/release-pipeline.ts';
import { describePlan } from '../../../src/domain/rollout-plan.ts';
import type { ReleaseTemplate, SegmentPage } from '../../../src/protocol/admin-api.ts';
import { enc } from '../api.ts';
import { ErrorBox, Field, time, useAction, WriteButton } from '../components.tsx';
import { useConfirm } from '../confirm.tsx';
import { useLoad } from '../hooks.ts';
import { Link, navigate } from '../router.tsx';
import { useSession } from '../session.tsx';
import { move, newPhase, newTemplate, templateBodyOf, templateDraftOf, type PhaseDraft, type TemplateDraft } from '../template-form.ts';
import { refusal } from '../validation.ts';
import { PhaseEditor } from './template-phase-editor.tsx';
import { ActorName } from '../names.tsx';
import { guardWords } from '../guard-draft.ts';

const BASE = '/api/v1/release-templates';

/** Who may change templates: the API's rule (editors and admins), with its reason for everyone else. */
function useTemplateRights(): Decision {
  const { me } = useSession();
  return me.role === 'editor' || me.role === 'admin'
    ? { allowed: true }
    : { allowed: false, reason: `only editors and admins change release templates; you are ${me.role === 'emergency_responder' ? 'an emergency responder' : `a ${me.role}`}` };
}

const article = (role: string) => (role === 'admin' ? 'an admin' : `an ${role.replace('_', ' ')}`);

/** A phase in plain words: "production: an editor approves, then 10% → 50% → 100%, then soak 1 hour". */
export function phaseLine(stored: ReleaseTemplate['phases'][number]): string {
  const phase = stored as Phase;
  const plan = phase.plan;
  const parts = [
    phase.approval ? `${article(phase.approval.role)} approves` : null,
    phase.audience ? `${phase.audience.segments.join(', ')} get${phase.audience.segments.length === 1 ? 's' : ''} ${phase.audience.variant ? `variant ${phase.audience.variant}` : 'the on variant'}` : null,
    !plan ? null
      : plan.strategy === 'immediate' ? `${plan.percentage}% at once`
      : plan.strategy === 'gradual' && plan.steps ? plan.steps.map((s) => `${s.percentage}%`).join(' → ')
      : describePlan(plan),
    phase.guard || plan?.guard ? guardWords(phase.guard ?? plan?.guard) : null,
    phase.soak !== undefined ? `soak ${phase.soak}` : null,
  ].filter((part) => part !== null);
  const where = phase.name && phase.name !== phase.environment ? `${phase.name} (${phase.environment})` : phase.environment;
  return `${where}: ${parts.join(', then ')}`;
}

/** Release templates: the list (`/release-templates`), a new one (`/release-templates/new`), one to edit (`/release-templates/:name`). */
export function ReleaseTemplatesPage({ name }: { name?: string }) {
  if (name === 'new') return <TemplateEditor />;
  if (name) return <LoadedTemplate name={name} />;
  return <TemplateList />;
}

function TemplateList() {
  const { api } = useSession();
  const allowed = useTemplateRights();
  const list = useLoad((signal) => api.get<{ templates: ReleaseTemplate[] }>(BASE, signal), []);
  return (
    <section aria-labelledby="tpl-title">
      <div className="page-head">
        <h1 id="tpl-title">Release templates</h1>
        <WriteButton allowed={allowed} className="primary" onClick={() => navigate('/release-templates/new')}>New template</WriteButton>
      </div>
      <p className="muted">A template is the path a release takes: its phases run in order, each in an environment, with an approval, an audience, a rollout and a soak. Apply one from a flag’s Rollouts tab.</p>
      <ErrorBox error={list.error} />
      {list.data?.templates.length === 0 && <p data-testid="no-templates">No release templates yet. {allowed.allowed && <Link to="/release-templates/new">Create the first one</Link>}</p>}
      <ul className="plain" aria-busy={list.loading}>
        {list.data?.templates.map((t) => (
          <li key={t.name} className="card" data-template={t.name}>
            <h2><Link to={`/release-templates/${enc(t.name)}`}>{t.name}</Link></h2>
            {t.description && <p>{t.description}</p>}
            <ol className="timeline">{t.phases.map((p, i) => <li key={i}>{phaseLine(p)}</li>)}</ol>
            <p className="small muted">version {t.version} · updated {time(t.updated_at)} by <ActorName id={t.updated_by} /></p>
          </li>
        ))}
      </ul>
    </section>
  );
}

function LoadedTemplate({ name }: { name: string }) {
  const { api } = useSession();
  const template = useLoad((signal) => api.get<ReleaseTemplate>(`${BASE}/${enc(name)}`, signal), [name]);
  if (template.error) return <section><p><Link to="/release-templates">← Release templates</Link></p><ErrorBox error={template.error} /></section>;
  if (!template.data) return <p role="status">Loading {name}…</p>;
  return <TemplateEditor template={template.data} />;
}

function useSegmentKeys(): string[] {
  const { api } = useSession();
  const page = useLoad((signal) => api.get<SegmentPage>('/api/v1/segments?limit=500', signal), []);
  return page.data?.segments.map((s) => s.key) ?? [];
}

/** The form of a new template, or of a stored one (its name fixed: PUT replaces its description and phases). */
function TemplateEditor({ template }: { template?: ReleaseTemplate }) {
  const { api, environments } = useSession();
  const confirm = useConfirm();
  const allowed = useTemplateRights();
  const segments = useSegmentKeys();
  const [draft, setDraft] = useState<TemplateDraft>(() => (template ? templateDraftOf(template as Parameters<typeof templateDraftOf>[0]) : newTemplate(environments)));
  const setPhase = (i: number, patch: Partial<PhaseDraft>) => setDraft({ ...draft, phases: draft.phases.map((p, j) => (j === i ? { ...p, ...patch } : p)) });

  const save = useAction(async () => {
    const body = templateBodyOf(draft);
    // The API's own schema: a step of 150% or a phase with nothing to do is refused at its field before anything is sent.
    const refused = refusal(newTemplateSchema, body);
    if (refused) throw refused;
    if (template) {
      await api.request<ReleaseTemplate>('PUT', `${BASE}/${enc(template.name)}`, { body: { description: body.description, phases: body.phases } });
    } else {
      await api.request<ReleaseTemplate>('POST', BASE, { body });
    }
    navigate('/release-templates');
  });
  const remove = useAction(async () => {
    if (!template) return;
    const ok = await confirm({
      title: `Delete the release template ${template.name}?`,
      effect: <p>Flags can no longer apply <strong>{template.name}</strong>. Pipelines running it now keep their phases and finish.</p>,
      confirmLabel: `Delete ${template.name}`,
    });
    if (!ok) return;
    await api.request('DELETE', `${BASE}/${enc(template.name)}`);
    navigate('/release-templates');
  });

  const title = template ? `Release template ${template.name}` : 'New release template';
  return (
    <section aria-labelledby="tpl-edit-title">
      <p><Link to="/release-templates">← Release templates</Link></p>
      <h1 id="tpl-edit-title">{title}</h1>
      {template && <p className="small muted">version {template.version} · created {time(template.created_at)} by <ActorName id={template.created_by} /> · updated {time(template.updated_at)} by <ActorName id={template.updated_by} />. Pipelines already running keep the phases they started with.</p>}
      <form className="card" aria-label={title} noValidate onSubmit={(e) => { e.preventDefault(); void save.run(); }}>
        <fieldset disabled={!allowed.allowed} className="plainset">
          <div className="grid3">
            <Field label="Template name" hint="lower-case letters, digits, . _ -" error={save.error} path="name">{(p) => (
              <input {...p} value={draft.name} readOnly={Boolean(template)} onChange={(e) => setDraft({ ...draft, name: e.target.value })} />)}</Field>
            <Field label="Description" error={save.error} path="description" className="wide">{(p) => (
              <textarea {...p} rows={2} value={draft.description} onChange={(e) => setDraft({ ...draft, description: e.target.value })} />)}</Field>
          </div>
          <datalist id="segment-keys">{segments.map((s) => <option key={s} value={s} />)}</datalist>
          {draft.phases.map((phase, i) => (
            <PhaseEditor key={i} phase={phase} index={i} count={draft.phases.length} environments={environments} segments={segments} error={save.error}
              onChange={(patch) => setPhase(i, patch)} onMove={(to) => setDraft({ ...draft, phases: move(draft.phases, i, to) })}
              onRemove={() => setDraft({ ...draft, phases: draft.phases.filter((_, j) => j !== i) })} />
          ))}
          <button type="button" onClick={() => setDraft({ ...draft, phases: [...draft.phases, newPhase(environments.at(-1) ?? 'production')] })}>Add phase</button>
        </fieldset>
        <ErrorBox error={save.error ?? remove.error} />
        <div className="actions">
          <WriteButton allowed={allowed} className="primary" type="submit" disabled={save.busy}>{template ? 'Save template' : 'Create template'}</WriteButton>
          {template && <WriteButton allowed={allowed} type="button" className="danger-outline" onClick={() => void remove.run()}>Delete template</WriteButton>}
          <Link to="/release-templates">Cancel</Link>
        </div>
      </form>
    </section>
  );
}
