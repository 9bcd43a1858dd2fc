import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const root = fileURLToPath(new URL('./app/', import.meta.url));

/** Builds the React SDK test page with Vite (its built-in JSX-free config: the page uses createElement). */
export async function buildReactApp(outDir: string): Promise<void> {
  await build({
    root,
    base: './',
    configFile: false,
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true, sourcemap: false, minify: false },
    server: { fs: { allow: [fileURLToPath(new URL('../../..', import.meta.url))] } },
  });
}
