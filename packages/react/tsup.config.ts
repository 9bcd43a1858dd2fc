import { defineConfig } from 'tsup';

// Browser code: the shared SDK types and the fetch coalescer come from the Node SDK's sources at
// build time (inlined), so @ripcord/react depends on nothing but its peer, react.
export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  // tsup's declaration build sets baseUrl, which TypeScript 6 deprecates.
  dts: { compilerOptions: { ignoreDeprecations: '6.0' } },
  target: 'es2020',
  platform: 'browser',
  sourcemap: true,
  clean: true,
});
