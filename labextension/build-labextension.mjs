// Builds the federated extension into ../neira_jupyter/labextension with @jupyterlab/builder.
// Calls the builder directly with JupyterLab's staging folder as the core package:
// `jupyter labextension build` in JupyterLab 4.6 hands off to jupyter_builder,
// which downloads @jupyterlab/core-meta from the network (not available offline).
import { execFileSync } from 'node:child_process';

const python = process.env.PYTHON || 'python3';
const core = execFileSync(python, [
  '-c',
  "import jupyterlab, os; print(os.path.join(os.path.dirname(jupyterlab.__file__), 'staging'))"
])
  .toString()
  .trim();
execFileSync(
  process.execPath,
  [
    'node_modules/@jupyterlab/builder/lib/build-labextension.js',
    '--core-path',
    core,
    ...process.argv.slice(2),
    '.'
  ],
  { stdio: 'inherit' }
);
