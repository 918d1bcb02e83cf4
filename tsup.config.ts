import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: { index: 'src/index.ts', cli: 'src/cli/main.ts' },
    format: ['esm'],
    target: 'node20',
    platform: 'node',
    dts: { entry: { index: 'src/index.ts' } },
    sourcemap: true,
    clean: true,
    splitting: true,
  },
  {
    // CommonJS entry for require() consumers (tslab transpiles notebook cells to CommonJS).
    // ESM-only dependencies load through Node 20's require(esm); import.meta is shimmed.
    // p-limit's default export does not survive that interop, so it is bundled into this entry.
    entry: { index: 'src/index.ts' },
    format: ['cjs'],
    noExternal: ['p-limit', 'yocto-queue'],
    target: 'node20',
    platform: 'node',
    shims: true,
    sourcemap: true,
    clean: false,
    splitting: false,
  },
]);
