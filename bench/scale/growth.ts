/**
 * How a cost grows with size: the exponent k of cost ≈ c·size^k fitted by least squares on
 * log-log points. k ≈ 0 is flat, k ≈ 1 linear, k > 1 super-linear. Pure, so it has unit tests.
 */
export type Growth = 'flat' | 'sub-linear' | 'linear' | 'super-linear' | 'n/a';

export function growthExponent(points: Array<{ size: number; cost: number }>): number | undefined {
  const usable = points.filter((p) => p.size > 0 && p.cost > 0 && Number.isFinite(p.cost));
  if (usable.length < 2) return undefined;
  const xs = usable.map((p) => Math.log(p.size));
  const ys = usable.map((p) => Math.log(p.cost));
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  xs.forEach((x, i) => {
    num += (x - mx) * (ys[i]! - my);
    den += (x - mx) ** 2;
  });
  return den === 0 ? undefined : num / den;
}

/** Bands around the exponent: measurement noise on a shared machine is easily ±0.15. */
export function classifyGrowth(k: number | undefined): Growth {
  if (k === undefined || Number.isNaN(k)) return 'n/a';
  if (k < 0.2) return 'flat';
  if (k < 0.85) return 'sub-linear';
  if (k <= 1.15) return 'linear';
  return 'super-linear';
}
