// Builds the web console (console/) into dist/console/, which the router serves. Relative asset URLs
// (`base: './'`), everything bundled: the console works without internet access.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  base: './',
  publicDir: false,
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    assetsInlineLimit: 8192,
    sourcemap: false,
    target: 'es2022',
    chunkSizeWarningLimit: 300,
  },
  server: {
    // `npm run console:dev`: proxy the API to a router or to the fake API server (see docs/design/console.md)
    proxy: { '/api': process.env.CARAVAN_CONSOLE_API ?? 'http://127.0.0.1:8090' },
  },
});
