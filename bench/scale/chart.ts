/**
 * Small multiples for bench:scale: one panel per measure, cost against size on log-log axes, drawn
 * as SVG and turned into a PNG by the headless Chromium the browser tests use (no chart library).
 */
import { writeFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

export interface Series {
  measure: string;
  unit: string;
  points: Array<{ size: number; value: number }>;
  /** A horizontal line drawn at the budget, when there is one. */
  budget?: number;
}

const W = 300;
const H = 200;
const PAD = { left: 56, right: 34, top: 28, bottom: 34 };

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const fmt = (v: number) => (v >= 1000 ? `${+(v / 1000).toPrecision(3)}k` : `${+v.toPrecision(3)}`);

function panel(series: Series, dimension: string): string {
  const pts = series.points.filter((p) => p.value > 0 && Number.isFinite(p.value));
  const values = [...pts.map((p) => p.value), ...(series.budget ? [series.budget] : [])];
  if (pts.length === 0) return `<svg width="${W}" height="${H}"><text x="10" y="20" font-size="12">${esc(series.measure)}: no data</text></svg>`;
  const [xmin, xmax] = [Math.min(...pts.map((p) => p.size)), Math.max(...pts.map((p) => p.size))];
  let [ymin, ymax] = [Math.min(...values), Math.max(...values)];
  if (ymin === ymax) [ymin, ymax] = [ymin / 2, ymax * 2];
  const lx = (v: number) => Math.log10(v);
  const x = (v: number) => PAD.left + (xmax === xmin ? 0.5 : (lx(v) - lx(xmin)) / (lx(xmax) - lx(xmin))) * (W - PAD.left - PAD.right);
  const y = (v: number) => H - PAD.bottom - ((lx(v) - lx(ymin)) / (lx(ymax) - lx(ymin))) * (H - PAD.top - PAD.bottom);
  const line = pts.map((p) => `${x(p.size).toFixed(1)},${y(p.value).toFixed(1)}`).join(' ');
  const dots = pts.map((p) => `<circle cx="${x(p.size)}" cy="${y(p.value)}" r="3"/><text x="${x(p.size) + 4}" y="${y(p.value) - 5}" font-size="10">${fmt(p.value)}</text>`).join('');
  const xticks = pts.map((p) => `<text x="${x(p.size)}" y="${H - PAD.bottom + 14}" font-size="10" text-anchor="middle">${fmt(p.size)}</text>`).join('');
  const budget = series.budget ? `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(series.budget)}" y2="${y(series.budget)}" stroke="#c33" stroke-dasharray="4 3"/><text x="${W - PAD.right}" y="${y(series.budget) - 3}" font-size="9" fill="#c33" text-anchor="end">budget ${fmt(series.budget)}</text>` : '';
  return `<svg width="${W}" height="${H}" font-family="sans-serif">
    <text x="${PAD.left}" y="16" font-size="12" font-weight="bold">${esc(series.measure)} (${esc(series.unit)})</text>
    <line x1="${PAD.left}" x2="${PAD.left}" y1="${PAD.top}" y2="${H - PAD.bottom}" stroke="#999"/>
    <line x1="${PAD.left}" x2="${W - PAD.right}" y1="${H - PAD.bottom}" y2="${H - PAD.bottom}" stroke="#999"/>
    <text x="4" y="${PAD.top + 8}" font-size="10">${fmt(ymax)}</text><text x="4" y="${H - PAD.bottom}" font-size="10">${fmt(ymin)}</text>
    ${xticks}<text x="${(W + PAD.left) / 2}" y="${H - 4}" font-size="10" text-anchor="middle">${esc(dimension)} (log)</text>
    ${budget}<polyline points="${line}" fill="none" stroke="#2563eb" stroke-width="2"/><g fill="#2563eb">${dots}</g>
  </svg>`;
}

/** Writes `path` (PNG) with one panel per series. Returns false (and says why) when Chromium can't run. */
export async function writeChart(path: string, title: string, dimension: string, series: Series[]): Promise<boolean> {
  const html = `<html><body style="margin:0;background:#fff"><div id="c" style="display:inline-block;padding:8px">
    <div style="font:bold 14px sans-serif;margin:4px">${esc(title)}</div>
    <div style="display:flex;flex-wrap:wrap;width:${3 * (W + 8)}px;gap:8px">${series.map((s) => panel(s, dimension)).join('')}</div></div></body></html>`;
  writeFileSync(path.replace(/\.png$/, '.html'), html);
  let browser;
  try {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
    const page = await browser.newPage();
    await page.setContent(html);
    await page.locator('#c').screenshot({ path });
    return true;
  } catch (error) {
    console.log(`  (chart not drawn: ${(error as Error).message.split('\n')[0]}; the HTML beside it has the same panels)`);
    return false;
  } finally {
    await browser?.close();
  }
}
