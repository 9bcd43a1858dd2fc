import { useId, useState, type ButtonHTMLAttributes, type ReactNode } from 'react';
import { ApiError, type FieldIssue } from './api.ts';
import type { Decision } from '../../src/auth/rbac.ts';
import { diffValues, pathText, valueText } from './field-diff.ts';

/** A button for a change: disabled, with the reason read out and shown, when the role may not make it. */
export function WriteButton({ allowed, children, className, ...props }: { allowed: Decision } & ButtonHTMLAttributes<HTMLButtonElement>) {
  const id = useId();
  if (allowed.allowed) {
    return <button data-write="" className={className} {...props}>{children}</button>;
  }
  return (
    <span className="denied">
      <button data-write="" className={className} {...props} disabled aria-describedby={id} title={allowed.reason}>{children}</button>
      <span id={id} className="reason">{allowed.reason}</span>
    </span>
  );
}

/** An error from the API in a live region; field issues are listed unless a form shows them at the fields. */
export function ErrorBox({ error, showIssues = true }: { error: unknown; showIssues?: boolean }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : String(error);
  const issues = error instanceof ApiError && showIssues ? error.issues : [];
  return (
    <div className="error" role="alert">
      <strong>{error instanceof ApiError && error.status ? `${error.status} ${error.code}: ` : ''}</strong>
      {message}
      {issues.length > 0 && (
        <ul>{issues.map((i) => <li key={i.path + i.message}><code>{i.path}</code> {i.message}</li>)}</ul>
      )}
    </div>
  );
}

/** The issues of one field (exact path, or with `nested` also the paths below it, e.g. `tags.2`) from a validation error. */
export function issuesAt(error: unknown, path: string, nested = false): FieldIssue[] {
  return error instanceof ApiError ? error.issues.filter((i) => i.path === path || (nested && i.path.startsWith(`${path}.`))) : [];
}

/** A labelled form control with its API validation message next to it. */
export function Field({ label, error, path, nested, hint, children, className }: {
  label: string; error?: unknown; path?: string; nested?: boolean; hint?: string; children: (props: { id: string; 'aria-invalid'?: boolean; 'aria-describedby'?: string }) => ReactNode; className?: string;
}) {
  const id = useId();
  const issues = path ? issuesAt(error, path, nested) : [];
  const describedBy = [issues.length ? `${id}-err` : '', hint ? `${id}-hint` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div className={`field ${className ?? ''}`}>
      <label htmlFor={id}>{label}</label>
      {children({ id, 'aria-invalid': issues.length ? true : undefined, 'aria-describedby': describedBy })}
      {hint && <small id={`${id}-hint`} className="hint">{hint}</small>}
      {issues.length > 0 && <small id={`${id}-err`} className="field-error" data-field-error={path}>{issues.map((i) => i.message).join('; ')}</small>}
    </div>
  );
}

export type FlagState = 'on' | 'off' | 'killed' | 'percentage';

/** The state of a flag in one environment as a coloured badge with its words (never colour alone). */
export function StateBadge({ state, percentage }: { state: FlagState; percentage?: number }) {
  const text = state === 'percentage' ? `${percentage}%` : state === 'killed' ? 'KILLED' : state;
  return <span className={`badge state-${state}`}>{text}</span>;
}

/** A small line of recent values (e.g. evaluations per second). */
export function Sparkline({ values, label, width = 100, height = 24 }: { values: number[]; label: string; width?: number; height?: number }) {
  if (values.length < 2) return <span className="muted" aria-label={label}>–</span>;
  const max = Math.max(...values, 1);
  const step = width / (values.length - 1);
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(height - 2 - (v / max) * (height - 4)).toFixed(1)}`).join(' ');
  return (
    <svg className="sparkline" width={width} height={height} role="img" aria-label={label}>
      <polyline points={points} fill="none" stroke="currentColor" strokeWidth="1.5" />
    </svg>
  );
}

export function ProgressBar({ value, max, label }: { value: number; max: number; label: string }) {
  const pct = max > 0 ? Math.min(100, (value / max) * 100) : 0;
  return (
    <div className="progress" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={max} aria-valuenow={value}>
      <div style={{ width: `${pct}%` }} />
    </div>
  );
}

/** A field-level diff for people reviewing a change (ui/src/field-diff.ts): renames as renames, nothing for a null that was absent. */
export function Diff({ before, after, label, at }: { before: unknown; after: unknown; label: string; at?: string }) {
  const changes = diffValues(before, after, at ? [at] : []);
  if (changes.length === 0) return <p className="muted">No changes.</p>;
  return (
    <ul className="diff field-diff" aria-label={label} tabIndex={0}>
      {changes.map((c, i) => (
        <li key={i} className={`fd-${c.kind}`} data-kind={c.kind} data-path={pathText(c.path)}>
          {c.kind === 'renamed' ? <><code>{pathText(c.path)}</code> renamed to <ins>{c.to}</ins></>
            : c.kind === 'changed' ? <><code>{pathText(c.path)}</code>: <del>{valueText(c.before)}</del> → <ins>{valueText(c.after)}</ins></>
              : c.kind === 'added' ? <><span aria-hidden="true">+ </span><span className="sr-only">added </span><code>{pathText(c.path)}</code>: <ins>{valueText(c.after)}</ins></>
                : <><span aria-hidden="true">− </span><span className="sr-only">removed </span><code>{pathText(c.path)}</code>: <del>{valueText(c.before)}</del></>}
        </li>
      ))}
    </ul>
  );
}

/** A link into the Temporal UI for a workflow the API started. */
export function WorkflowLink({ workflow }: { workflow: { id: string; url?: string; status?: string } }) {
  return (
    <p className="workflow" role="status">
      Workflow <code data-testid="workflow-id">{workflow.id}</code>
      {workflow.status ? ` (${workflow.status})` : ''}
      {workflow.url && <> — <a href={workflow.url} target="_blank" rel="noreferrer">open in Temporal UI</a></>}
    </p>
  );
}

export function time(iso: string | null | undefined): string {
  if (!iso) return '–';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

/** Time left until `iso`, in words: "3 h 5 min", "45 s". */
export function timeLeft(iso: string, now = Date.now()): string {
  const ms = Date.parse(iso) - now;
  if (ms <= 0) return 'due now';
  const min = Math.floor(ms / 60_000);
  if (min < 1) return `${Math.ceil(ms / 1000)} s`;
  const d = Math.floor(min / 1440), h = Math.floor((min % 1440) / 60), m = min % 60;
  return [d ? `${d} d` : '', h ? `${h} h` : '', m && d === 0 ? `${m} min` : ''].filter(Boolean).join(' ') || '1 min';
}

/** Runs an async action with a busy flag and the last error kept for display. */
export function useAction<A extends unknown[], T>(fn: (...args: A) => Promise<T>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async (...args: A): Promise<T | undefined> => {
    setBusy(true);
    setError(null);
    try {
      return await fn(...args);
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { run, busy, error, setError };
}
