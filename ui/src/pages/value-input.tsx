import { useEffect, useState } from 'react';

type InputProps = { id: string; 'aria-invalid'?: boolean; 'aria-describedby'?: string };

/** An input for a flag value of the flag's type; JSON values keep their text until it parses. */
export function ValueInput({ type, value, onChange, disabled, ...p }: InputProps & { type: string; value: unknown; onChange: (v: unknown) => void; disabled?: boolean }) {
  const [text, setText] = useState(() => JSON.stringify(value ?? null, null, 2));
  const [bad, setBad] = useState(false);
  useEffect(() => {
    if (type === 'json') {
      setText((t) => (safeParse(t) === JSON.stringify(value) ? t : JSON.stringify(value ?? null, null, 2)));
    }
  }, [type, value]);
  if (type === 'boolean') {
    return (
      <select {...p} disabled={disabled} value={String(value)} onChange={(e) => onChange(e.target.value === 'true')}>
        <option value="true">true</option><option value="false">false</option>
      </select>
    );
  }
  if (type === 'number') {
    return <input {...p} disabled={disabled} type="number" step="any" value={typeof value === 'number' ? value : ''} onChange={(e) => onChange(e.target.value === '' ? undefined : Number(e.target.value))} />;
  }
  if (type === 'string') {
    return <input {...p} disabled={disabled} value={typeof value === 'string' ? value : ''} onChange={(e) => onChange(e.target.value)} />;
  }
  return (
    <>
      <textarea {...p} disabled={disabled} rows={3} className="mono" value={text} aria-invalid={bad || p['aria-invalid']}
        onChange={(e) => {
          setText(e.target.value);
          try {
            onChange(JSON.parse(e.target.value));
            setBad(false);
          } catch {
            setBad(true);
          }
        }} />
      {bad && <small className="field-error">Not valid JSON yet; the last valid value is kept.</small>}
    </>
  );
}

function safeParse(text: string): string | undefined {
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/** Text of a condition value as typed: JSON when it parses, else a plain string (lists: comma-separated). */
export function conditionText(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string' && !v.includes(','))) return value.join(', ');
  return JSON.stringify(value);
}

export function parseConditionValue(operator: string, text: string): unknown {
  const trimmed = text.trim();
  if (operator === 'exists') return trimmed === '' ? undefined : trimmed === 'true';
  if (['in', 'not_in'].includes(operator)) {
    if (trimmed.startsWith('[')) {
      try {
        return JSON.parse(trimmed);
      } catch {
        /* fall through to a comma list */
      }
    }
    return trimmed === '' ? [] : trimmed.split(',').map((s) => s.trim());
  }
  if (['greater_than', 'less_than', 'greater_or_equal', 'less_or_equal'].includes(operator)) {
    return trimmed === '' || Number.isNaN(Number(trimmed)) ? trimmed : Number(trimmed);
  }
  if (['equals', 'not_equals', 'contains'].includes(operator)) {
    if (/^(true|false|-?\d+(\.\d+)?)$/.test(trimmed) || trimmed.startsWith('"')) {
      try {
        return JSON.parse(trimmed);
      } catch {
        return text;
      }
    }
  }
  return text;
}
