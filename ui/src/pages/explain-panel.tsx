import { useId, useState } from 'react';
import { enc } from '../api.ts';
import type { ExplainAnswer } from '../../../src/protocol/admin-api.ts';
import { ErrorBox, Field, useAction } from '../components.tsx';
import { useSession } from '../session.tsx';

/** "Evaluate as…": the result for a typed context and the trace of every check on the way. */
export function ExplainPanel({ flagKey, env }: { flagKey: string; env: string }) {
  const { api } = useSession();
  const [context, setContext] = useState('{\n  "targeting_key": "user-1"\n}');
  const [at, setAt] = useState('');
  const [answer, setAnswer] = useState<ExplainAnswer | null>(null);
  const [parseError, setParseError] = useState<string | null>(null);
  const id = useId();
  const run = useAction(async () => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(context);
      setParseError(null);
    } catch (e) {
      setParseError(`The context is not valid JSON: ${(e as Error).message}`);
      return;
    }
    setAnswer(await api.request<ExplainAnswer>('POST', `/api/v1/flags/${enc(flagKey)}/environments/${enc(env)}/explain`, { body: { context: parsed, ...(at ? { at } : {}) } }));
  });
  return (
    <section className="card" aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`}>Evaluate as… in {env}</h3>
      <form onSubmit={(e) => { e.preventDefault(); void run.run(); }}>
        <Field label="Context (JSON)" error={run.error} path="context" hint='e.g. {"targeting_key": "user-42", "country": "NL"}'>{(p) => (
          <textarea {...p} className="mono" rows={4} value={context} onChange={(e) => setContext(e.target.value)} aria-invalid={Boolean(parseError) || p['aria-invalid']} />)}</Field>
        {parseError && <p className="field-error" role="alert">{parseError}</p>}
        <Field label="As of (optional, ISO 8601)" error={run.error} path="at">{(p) => <input {...p} placeholder="now" value={at} onChange={(e) => setAt(e.target.value)} />}</Field>
        <button type="submit" disabled={run.busy}>Evaluate</button>
      </form>
      <ErrorBox error={run.error} />
      {answer && (
        <div className="explain" data-testid="explain-result" aria-live="polite">
          <p>
            Value <code data-testid="explain-value">{JSON.stringify(answer.result.value)}</code>, variant <code>{answer.result.variant}</code>,
            reason <strong>{answer.result.reason}</strong>{answer.result.error_code ? ` (${answer.result.error_code})` : ''} — version {answer.version}
          </p>
          <ol className="trace" data-testid="explain-trace">
            {answer.trace.map((t, i) => (
              <li key={i} className={t.matched ? 'hit' : 'miss'}>
                <span aria-label={t.matched ? 'matched' : 'did not match'}>{t.matched ? '✓' : '✗'}</span> <code>{t.step}{t.id ? `:${t.id}` : ''}</code> {t.message}
              </li>
            ))}
          </ol>
        </div>
      )}
    </section>
  );
}
