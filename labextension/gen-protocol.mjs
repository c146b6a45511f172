// Generates src/protocol.ts from ../neira_jupyter/protocol/schema.json with json-schema-to-typescript;
// with --check, only compares (exit 1 when src/protocol.ts is stale; `make lint` runs it).
// The banner carries the schema's sha256, so the Python suite sees a stale protocol.ts
// without running node (tests/protocol/test_protocol.py).
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { compile } from 'json-schema-to-typescript';

const schemaPath = '../neira_jupyter/protocol/schema.json';
const text = readFileSync(schemaPath, 'utf-8');
const sha = createHash('sha256').update(text).digest('hex');
const banner =
  '/* Generated from neira_jupyter/protocol/schema.json by json-schema-to-typescript\n' +
  ' * (`npm run build:protocol` in labextension/). Do not edit.\n' +
  ` * schema sha256: ${sha} */`;
const ts = await compile(JSON.parse(text), 'NeiraProtocol', {
  bannerComment: banner,
  unreachableDefinitions: true,
  additionalProperties: false,
  format: true
});
if (process.argv.includes('--check')) {
  if (readFileSync('src/protocol.ts', 'utf-8') !== ts) {
    console.error('src/protocol.ts is stale: run `npm run build:protocol` in labextension/');
    process.exit(1);
  }
} else {
  writeFileSync('src/protocol.ts', ts);
}
