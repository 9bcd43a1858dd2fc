import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

/** The admin UI: built to ui/dist, served by the API at `/`; `npm run ui:dev` proxies the API. */
export default defineConfig({
  root,
  base: '/',
  // Vite's built-in JSX transform (React 17+ automatic runtime): no plugin needed.
  oxc: { jsx: { runtime: 'automatic' } },
  // No source maps in the build: the API serves ui/dist publicly.
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 1000 },
  server: {
    port: 5173,
    proxy: Object.fromEntries(
      ['/api', '/ofrep', '/healthz', '/readyz', '/openapi.json'].map((p) => [p, process.env.RIPCORD_API_URL ?? 'http://127.0.0.1:8080']),
    ),
  },
});
