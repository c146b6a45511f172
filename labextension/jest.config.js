// Unit tests of the lab extension's pure modules (test/*.test.ts), run with ts-jest in node:
// no DOM and no JupyterLab, so only modules that import neither are tested here (the browser
// tests in tests/browser/ drive the whole extension). `npm test`; `make test` runs it.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/test/tsconfig.json' }]
  }
};
