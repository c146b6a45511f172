// Bundles the Recorder widget's TypeScript (src/recorder/, entry widget.ts) into one ES module,
// ../neira_jupyter/kernel/recorder.js, the widget's anywidget `_esm` (anywidget's bundling guide:
// esbuild, --bundle --format=esm). Like the lab extension's build, the bundle is git-ignored and
// built by `npm run build` / `build:prod` (make setup, the package build). The banner carries the
// sources' sha256 (every src/recorder/*.ts, sorted by name), so the Python suite sees a stale
// bundle without running node (tests/kernel/test_widget.py).
//   node build-recorder.mjs           write recorder.js
//   node build-recorder.mjs --check   only compare (exit 1 when recorder.js is missing or differs
//                                     from a fresh bundle: stale or edited; `make lint`)
//   node build-recorder.mjs --watch   rebuild on every change (with ANYWIDGET_HMR=1 in the kernel,
//                                     open widgets reload the new bundle)
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { build, context, version } from 'esbuild';

const sourceDir = 'src/recorder';
const outfile = '../neira_jupyter/kernel/recorder.js';
const options = {
  entryPoints: [`${sourceDir}/widget.ts`],
  bundle: true,
  format: 'esm',
  target: 'es2020',
  charset: 'utf8',
  legalComments: 'none',
  write: false,
  logLevel: 'warning'
};

/** The bundle's text: the banner (with the sources' hash now), then esbuild's output. */
function withBanner(result) {
  const hash = createHash('sha256');
  const names = readdirSync(sourceDir)
    .filter(n => n.endsWith('.ts'))
    .sort();
  for (const name of names) {
    hash.update(`${name}\n`).update(readFileSync(`${sourceDir}/${name}`));
  }
  return (
    `// Generated from labextension/src/recorder/ by esbuild ${version}\n` +
    '// (`npm run build:recorder` in labextension/). Do not edit.\n' +
    `// sources sha256: ${hash.digest('hex')}\n\n` +
    result.outputFiles[0].text
  );
}

if (process.argv.includes('--watch')) {
  const writer = {
    name: 'write-with-banner',
    setup(b) {
      b.onEnd(result => {
        if (result.errors.length === 0) writeFileSync(outfile, withBanner(result));
      });
    }
  };
  await (await context({ ...options, plugins: [writer] })).watch();
} else {
  const text = withBanner(await build(options));
  if (!process.argv.includes('--check')) {
    writeFileSync(outfile, text);
  } else if (!existsSync(outfile) || readFileSync(outfile, 'utf-8') !== text) {
    console.error(
      'neira_jupyter/kernel/recorder.js is stale: run `npm run build:recorder` in labextension/'
    );
    process.exit(1);
  }
}
