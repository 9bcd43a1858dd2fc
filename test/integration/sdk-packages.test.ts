import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build as esbuild } from 'esbuild';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../e2e/browser.js';
import { build as viteBuild } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPackages, root, run } from './build-helpers.js';
import { startStack, uniqueKey, type Stack } from './harness.js';
import { createFlag, createToken, onForEveryone } from './serving-helpers.js';

/**
 * The SDKs as an app gets them: `npm pack` tarballs installed (offline, from the npm cache) into a
 * throwaway project (from the npm cache where it holds them), then used from plain ESM, CommonJS, strict TypeScript and a Vite React page.
 */
let stack: Stack;
let app: string;
let serverToken: string;
let clientToken: string;
const flagKey = uniqueKey('pkg-flag');

const write = (file: string, text: string) => writeFileSync(join(app, file), text);
const node = (file: string) => run(process.execPath, [file], { cwd: app, env: { ...process.env, RIPCORD_URL: stack.api.url, RIPCORD_TOKEN: serverToken, FLAG: flagKey } });

beforeAll(async () => {
  await buildPackages();
  app = mkdtempSync(join(tmpdir(), 'ripcord-sdk-app-'));
  const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', app, '-w', '@ripcord/node', '-w', '@ripcord/react'], { cwd: root });
  const [nodeTgz, reactTgz] = stdout.trim().split('\n').map((line) => line.trim());
  const version = (name: string) => JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version as string;
  write('package.json', JSON.stringify({
    name: 'ripcord-sdk-app', private: true,
    dependencies: {
      '@ripcord/node': `file:./${nodeTgz}`, '@ripcord/react': `file:./${reactTgz}`,
      react: version('react'), 'react-dom': version('react-dom'), '@openfeature/server-sdk': version('@openfeature/server-sdk'),
      '@types/node': version('@types/node'), '@types/express': version('@types/express'), '@types/react': version('@types/react'),
      // The OpenTelemetry hook's optional peer, and the SDK pieces an app registers to see its events.
      '@opentelemetry/api': version('@opentelemetry/api'), '@opentelemetry/sdk-trace': version('@opentelemetry/sdk-trace'),
      '@opentelemetry/context-async-hooks': version('@opentelemetry/context-async-hooks'),
    },
    overrides: { '@opentelemetry/api': version('@opentelemetry/api') },
  }));
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: app });

  stack = await startStack();
  serverToken = await createToken(stack.db, 'server');
  clientToken = await createToken(stack.db, 'client');
  await createFlag(stack, flagKey, onForEveryone);
}, 300_000);

afterAll(async () => {
  await stack?.close();
  if (app) rmSync(app, { recursive: true, force: true });
});

describe('the packed SDKs in throwaway apps', () => {
  it('ships compiled files only, with no server code or dev tools as dependencies', () => {
    const installed = (name: string) => JSON.parse(readFileSync(join(app, 'node_modules', name, 'package.json'), 'utf8'));
    expect(Object.keys(installed('@ripcord/node').dependencies ?? {}).sort()).toEqual(['murmurhash3js-revisited', 'yaml', 'zod']);
    expect(installed('@ripcord/react').dependencies).toBeUndefined();
    expect(readdirSync(join(app, 'node_modules/@ripcord/node'))).not.toContain('src');
    expect(readdirSync(join(app, 'node_modules'))).not.toContain('tsx');
  });

  it('ships the flags file JSON Schema, and the packed bin prints the same', async () => {
    const { stdout } = await run('npx', ['--no-install', 'ripcord', 'flags', 'schema'], { cwd: app });
    const shipped = JSON.parse(readFileSync(join(app, 'node_modules/@ripcord/node/schema/flags-file.schema.json'), 'utf8'));
    expect(JSON.parse(stdout)).toEqual(shipped);
    expect(shipped.properties.format.const).toBe('ripcord-flags/v1');
  });

  it('works from a plain-JavaScript ES module, and through OpenFeature from its own entry point', async () => {
    write('esm.mjs', `
import { createClient } from '@ripcord/node';
import { RipcordProvider } from '@ripcord/node/openfeature';
import { OpenFeature } from '@openfeature/server-sdk';
const client = createClient({ url: process.env.RIPCORD_URL, token: process.env.RIPCORD_TOKEN });
await client.ready(10_000);
const direct = client.boolean(process.env.FLAG, false, { targetingKey: 'u1' });
await OpenFeature.setProviderAndWait(new RipcordProvider(client));
const viaOpenFeature = await OpenFeature.getClient().getBooleanValue(process.env.FLAG, false, { targetingKey: 'u1' });
console.log(JSON.stringify({ direct, viaOpenFeature }));
await OpenFeature.close();
client.close();
`);
    expect(JSON.parse((await node('esm.mjs')).stdout)).toEqual({ direct: true, viaOpenFeature: true });
  });

  it('works from CommonJS require, without loading OpenFeature or OpenTelemetry', async () => {
    write('app.cjs', `
const { createClient } = require('@ripcord/node');
const client = createClient({ url: process.env.RIPCORD_URL, token: process.env.RIPCORD_TOKEN });
client.ready(10_000).then(() => {
  const value = client.boolean(process.env.FLAG, false, { targetingKey: 'u1' });
  const openFeatureLoaded = Object.keys(require.cache).some((file) => file.includes('@openfeature'));
  const openTelemetryLoaded = Object.keys(require.cache).some((file) => file.includes('@opentelemetry'));
  console.log(JSON.stringify({ value, openFeatureLoaded, openTelemetryLoaded }));
  client.close();
});
`);
    expect(JSON.parse((await node('app.cjs')).stdout)).toEqual({ value: true, openFeatureLoaded: false, openTelemetryLoaded: false });
  });

  /** An app that records spans in memory, adds the hook, and evaluates inside a request span: the span's events. */
  const otelApp = (imports: string, main: (body: string) => string) => `${imports}
${main(`
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const spans = new InMemorySpanExporter();
  trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] }));
  OpenFeature.addHooks(new OpenTelemetryHook());
  const client = createClient({ url: process.env.RIPCORD_URL, token: process.env.RIPCORD_TOKEN });
  await OpenFeature.setProviderAndWait(new RipcordProvider(client));
  await trace.getTracer('app').startActiveSpan('request', async (span) => {
    await OpenFeature.getClient().getBooleanValue(process.env.FLAG, false, { targetingKey: 'u1' });
    span.end();
  });
  const [request] = spans.getFinishedSpans();
  console.log(JSON.stringify(request.events.map((e) => [e.name, e.attributes['feature_flag.key'], e.attributes['feature_flag.result.variant']])));
  await OpenFeature.close();
  client.close();
`)}`;

  it('adds the OpenTelemetry hook from its own entry point, in ESM and in CommonJS', async () => {
    write('otel.mjs', otelApp(`
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { OpenFeature } from '@openfeature/server-sdk';
import { createClient } from '@ripcord/node';
import { RipcordProvider } from '@ripcord/node/openfeature';
import { OpenTelemetryHook } from '@ripcord/node/opentelemetry';`, (body) => body));
    write('otel.cjs', otelApp(`
const { context, trace } = require('@opentelemetry/api');
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
const { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } = require('@opentelemetry/sdk-trace');
const { OpenFeature } = require('@openfeature/server-sdk');
const { createClient } = require('@ripcord/node');
const { RipcordProvider } = require('@ripcord/node/openfeature');
const { OpenTelemetryHook } = require('@ripcord/node/opentelemetry');`, (body) => `(async () => {${body}})();`));
    const expected = [['feature_flag.evaluation', flagKey, 'on']];
    expect(JSON.parse((await node('otel.mjs')).stdout)).toEqual(expected);
    expect(JSON.parse((await node('otel.cjs')).stdout)).toEqual(expected);
  });

  it('type-checks a strict TypeScript app against the declarations, with keys from `npx ripcord typegen`', async () => {
    const { stdout } = await run('npx', ['--no-install', 'ripcord', 'typegen', '--url', stack.api.url, '--token', serverToken, '--out', 'flags.d.ts'], { cwd: app });
    expect(stdout).toMatch(/Wrote \d+ flag types/);
    write('tsconfig.json', JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false, types: ['node'], jsx: 'react-jsx', lib: ['ES2022', 'DOM'] },
      files: ['app.ts', 'flags.d.ts'],
    }));
    write('app.ts', `
import { createClient, flags, type EvaluationDetails } from '@ripcord/node';
import { RipcordProvider } from '@ripcord/node/openfeature';
import { OpenTelemetryHook } from '@ripcord/node/opentelemetry';
import { useFlag } from '@ripcord/react';
const client = createClient({ url: 'http://127.0.0.1:1', token: 'rc_server_x' });
const on: boolean = client.boolean(${JSON.stringify(flagKey)}, false, { targetingKey: 'u1' });
const details: EvaluationDetails<boolean> = client.details(${JSON.stringify(flagKey)}, false, { targetingKey: 'u1' });
// @ts-expect-error typegen's declarations refuse an unknown key
client.boolean('no-such-flag-anywhere', false);
// @ts-expect-error and a default of the wrong type
client.boolean(${JSON.stringify(flagKey)}, 'yes');
export const middleware = flags({ client, context: () => ({ targetingKey: 'u1' }) });
export const provider = new RipcordProvider(client);
export const hook = new OpenTelemetryHook({ includeValue: false });
export function Component(): string { return String(useFlag(${JSON.stringify(flagKey)}, false)); }
export const summary = \`\${on} \${details.reason}\`;
`);
    // Every @ts-expect-error must be used and nothing else may fail; the declarations themselves are checked (skipLibCheck off).
    const result = await run(join(root, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], { cwd: app }).catch((error: { stdout: string }) => error);
    expect(result.stdout).toBe('');
  }, 180_000);

  describe('a Vite React app in headless Chromium', () => {
    let browser: Browser | undefined;
    let web: Server | undefined;
    afterAll(async () => {
      await browser?.close();
      await new Promise((resolve) => (web ? web.close(resolve) : resolve(undefined)));
    });

    it('shows a kill without a reload', async () => {
      mkdirSync(join(app, 'web'));
      write('web/index.html', '<!doctype html><html><body><div id="root"></div><script type="module" src="./main.js"></script></body></html>');
      write('web/main.js', `
import { createElement as h } from 'react';
import { createRoot } from 'react-dom/client';
import { RipcordProvider, useFlag, useFlags } from '@ripcord/react';
const params = new URLSearchParams(location.search);
function Page() {
  const on = useFlag(params.get('flag'), false);
  const { status } = useFlags();
  return h('p', { id: 'flag', 'data-value': String(on), 'data-status': status }, on ? 'ON' : 'OFF');
}
createRoot(document.getElementById('root')).render(
  h(RipcordProvider, { url: params.get('api'), token: params.get('token'), context: { targetingKey: 'browser-1' } }, h(Page)));
`);
      const out = join(app, 'web/dist');
      await viteBuild({ root: join(app, 'web'), base: './', configFile: false, logLevel: 'warn', build: { outDir: out, emptyOutDir: true } });
      web = createServer((req, res) => {
        const path = normalize(new URL(req.url ?? '/', 'http://x').pathname).replace(/^(\.\.[/\\])+/, '');
        try {
          const body = readFileSync(join(out, path === '/' ? 'index.html' : path));
          res.writeHead(200, { 'content-type': extname(path) === '.js' ? 'text/javascript' : 'text/html' }).end(body);
        } catch {
          res.writeHead(404).end();
        }
      });
      await new Promise<void>((resolve) => web!.listen(0, '127.0.0.1', resolve));
      browser = await launchChromium();
      const page = await browser.newPage();
      const query = new URLSearchParams({ api: stack.api.url, token: clientToken, flag: flagKey });
      await page.goto(`http://127.0.0.1:${(web.address() as AddressInfo).port}/?${query}`);
      await page.waitForSelector('#flag[data-value="true"][data-status="ready"]');
      await page.evaluate(() => Object.assign(globalThis, { ripcordMarker: 'same-document' }));
      const kill = await stack.request('POST', `/api/v1/flags/${flagKey}/environments/production/kill-switch`, { body: { reason: 'packaged react test' } });
      expect(kill.status).toBe(201);
      await page.waitForSelector('#flag[data-value="false"]', { timeout: 15_000 });
      expect(await page.evaluate(() => (globalThis as { ripcordMarker?: string }).ripcordMarker)).toBe('same-document');
    });
  });

  it('keeps the React SDK small in a browser bundle (minified + gzipped, react external)', async () => {
    const result = await esbuild({
      stdin: { contents: "export * from '@ripcord/react';", resolveDir: app }, bundle: true, minify: true, format: 'esm',
      platform: 'browser', external: ['react', 'react-dom'], write: false, metafile: true,
    });
    const gzipped = gzipSync(result.outputFiles[0]!.contents).length;
    console.log(`@ripcord/react browser bundle: ${result.outputFiles[0]!.contents.length} B minified, ${gzipped} B gzipped`);
    expect(Object.keys(result.metafile.inputs).every((input) => input.includes('@ripcord/react') || input === '<stdin>')).toBe(true);
    expect(gzipped).toBeLessThan(8 * 1024);
  });
});
