import type { RolloutProgressView } from '../../../src/protocol/admin-api.ts';
import { ActorName } from '../names.tsx';

type GuardReading = NonNullable<NonNullable<RolloutProgressView['guard']>['readings'][number]>;

/** The actor id the names endpoint knows for a reporter of outcomes (`user:<id>` → the user, `token:<id>` as is). */
const reporterActor = (reporter: string) => (reporter.startsWith('user:') ? reporter.slice('user:'.length) : reporter);

/**
 * A guard reading's detail in words, whoever reported the errors by name: "treated error rate 40.00% is
 * above 20.00%; errors from Priya Shah (8 errors)" where the server's detail names `user:<id>`.
 */
export function GuardDetail({ reading }: { reading: Pick<GuardReading, 'detail' | 'reporters'> }) {
  const cut = reading.detail.indexOf('; errors from ');
  if (cut < 0 || !reading.reporters?.length) return <>{reading.detail}</>;
  return (
    <>
      {reading.detail.slice(0, cut)}; errors from {reading.reporters.map((r, i) => (
        <span key={r.reporter}>{i > 0 && ', '}<ActorName id={reporterActor(r.reporter)} /> ({r.errors} errors{r.counted_samples < r.samples ? `, ${Math.round(r.counted_errors)} counted` : ''})</span>
      ))}
    </>
  );
}
