#!/usr/bin/env node
// Bundles tsc's output (dist/src) into dist/bundle, so that Node.js does not
// resolve and load ~90 modules at every start (docs/decisions.md, ADR 14):
// - cli.js: the command line, ES modules split into chunks that each command
//   loads when it runs;
// - broker, shell (a node's executor) and nested (`fractal start` as a job's
//   task): one CommonJS file each (<kind>.code.cjs), started through a small
//   <kind>.cjs that loads it with V8's code cache (src/boot/code-cache.cts).
import { build } from 'esbuild';
import { rmSync, writeFileSync } from 'node:fs';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  // A native addon stays a package of its own, found in node_modules at run time.
  external: ['better-sqlite3'],
  outdir: 'dist/bundle',
  logLevel: 'warning',
};

rmSync('dist/bundle', { recursive: true, force: true });
await build({
  ...common,
  entryPoints: { cli: 'dist/src/cli/main.js' },
  splitting: true,
  format: 'esm',
  // Bundled CommonJS packages (commander, msgpack) call require() for Node's built-ins.
  banner: { js: "import { createRequire as __fractalRequire } from 'node:module'; const require = __fractalRequire(import.meta.url);" },
});
const cached = { broker: 'dist/src/broker/main.js', shell: 'dist/src/shell/main.js', nested: 'dist/src/cli/nested-main.js' };
await build({
  ...common,
  entryPoints: Object.fromEntries(Object.entries(cached).map(([k, v]) => [`${k}.code`, v])),
  format: 'cjs',
  outExtension: { '.js': '.cjs' },
  // The code finds the installation's files from its own location (src/service/install.ts).
  define: { 'import.meta.url': '__fractalUrl' },
  banner: { js: "const __fractalUrl = require('node:url').pathToFileURL(__filename).href;" },
});
for (const kind of Object.keys(cached)) {
  writeFileSync(`dist/bundle/${kind}.cjs`,
    `module.exports = require('../src/boot/code-cache.cjs').loadCached(require('node:path').join(__dirname, '${kind}.code.cjs'));\n`);
}
