/**
 * Loads a CommonJS bundle (dist/bundle/*.code.cjs, made by scripts/bundle.mjs)
 * with V8's code cache. The first run compiles the bundle as usual and, when
 * it exits, saves the code V8 compiled (including the functions that ran)
 * next to it as `<bundle>.cache`; later runs hand that to V8 and skip most
 * parsing and compiling. A cache V8 rejects (another Node.js version, other
 * flags) is replaced; one that cannot be written (a read-only installation)
 * only costs the time it would have saved. Node 20 has no built-in compile
 * cache (module.enableCompileCache came in 22.1): docs/decisions.md, ADR 14.
 *
 * Plain CommonJS on purpose: it runs before anything else is loaded.
 */
import fs = require('node:fs');
import path = require('node:path');
import nodeModule = require('node:module');
import vm = require('node:vm');

type Wrapper = (exports: unknown, require: NodeJS.Require, module: { exports: unknown }, filename: string, dirname: string) => void;

function loadCached(file: string): unknown {
  const cacheFile = `${file}.cache`;
  const source = fs.readFileSync(file, 'utf8');
  let cachedData: Buffer | undefined;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch { /* the first run */ }
  const script = new vm.Script(nodeModule.wrap(source), { filename: file, ...(cachedData ? { cachedData } : {}) });
  if (!cachedData || script.cachedDataRejected) {
    process.once('exit', () => {
      const tmp = `${cacheFile}.${process.pid}`;
      try {
        fs.writeFileSync(tmp, script.createCachedData());
        fs.renameSync(tmp, cacheFile);
      } catch {
        try { fs.unlinkSync(tmp); } catch { /* never written */ }
      }
    });
  }
  const module = { exports: {} as unknown };
  (script.runInThisContext() as Wrapper)(module.exports, nodeModule.createRequire(file), module, file, path.dirname(file));
  return module.exports;
}

export = { loadCached };
