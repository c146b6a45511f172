// Bundles the Recorder widget's TypeScript (src/recorder/, entry widget.ts) into one ES module,
// ../neira_jupyter/kernel/recorder.js, the widget's anywidget `_esm` (anywidget's bundling guide:
// esbuild, --bundle --format=esm). The bundle is committed, so the kernel package works from a
// source tree without node; with --check this only compares (exit 1 when recorder.js is stale;
// `make lint` runs it). The banner carries the sources' sha256 (every src/recorder/*.ts, sorted by
// name), so the Python suite sees a stale bundle without running node (tests/test_widget.py).
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { build, version } from 'esbuild';

const sourceDir = 'src/recorder';
const outfile = '../neira_jupyter/kernel/recorder.js';

const hash = createHash('sha256');
for (const name of readdirSync(sourceDir).filter(n => n.endsWith('.ts')).sort()) {
  hash.update(`${name}\n`).update(readFileSync(`${sourceDir}/${name}`));
}
const banner =
  `// Generated from labextension/src/recorder/ by esbuild ${version}\n` +
  '// (`npm run build:recorder` in labextension/). Do not edit.\n' +
  `// sources sha256: ${hash.digest('hex')}`;

const result = await build({
  entryPoints: [`${sourceDir}/widget.ts`],
  bundle: true,
  format: 'esm',
  target: 'es2020',
  charset: 'utf8',
  legalComments: 'none',
  banner: { js: banner },
  write: false,
  logLevel: 'warning'
});
const text = result.outputFiles[0].text;
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(outfile, 'utf-8');
  } catch {
    // missing: stale
  }
  if (current !== text) {
    console.error('neira_jupyter/kernel/recorder.js is stale: run `npm run build:recorder` in labextension/');
    process.exit(1);
  }
} else {
  writeFileSync(outfile, text);
}
