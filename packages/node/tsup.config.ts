import { defineConfig } from 'tsup';

// The engine, domain and protocol code this SDK evaluates with lives in the server's src/ and is
// bundled in (relative imports are inlined; dependencies and peers stay external), so the package
// has no run-time dependency on the server. OpenFeature and OpenTelemetry have entries of their own:
// apps without them never load them.
export default defineConfig([
  {
    entry: { index: 'src/index.ts', openfeature: 'src/openfeature.ts', opentelemetry: 'src/opentelemetry.ts' },
    format: ['esm', 'cjs'],
    // tsup's declaration build sets baseUrl, which TypeScript 6 deprecates.
    dts: { compilerOptions: { ignoreDeprecations: '6.0' } },
    target: 'node20',
    platform: 'node',
    sourcemap: true,
    clean: true,
    // One copy of the client shared by both entries in CommonJS too (ESM splits by default).
    splitting: true,
  },
  {
    entry: { 'typegen/bin': 'src/typegen/bin.ts' },
    format: ['esm'],
    target: 'node20',
    platform: 'node',
  },
]);
