// Types into a notebook cell (or a file editor) in headless Chromium until neira's inline
// completion shows, then accepts it with Tab.
//
//   node complete.mjs '<json options>'
//
// options: { theme: "light" | "dark", url, page, token, artifacts, chromium, name,
//            editor: "cell" (the notebook's second cell) | "file" (a file editor),
//            keyDelay: ms between the keys of `return ` (60: faster than the debounce) }
// Prints one JSON line: the ghost text shown, the source after Tab, the extension's entry,
// the completion requests sent; screenshots: {artifacts}/{name}-{suggested,accepted}.png.
import fs from 'node:fs';
import path from 'node:path';

import { WAIT, extensionEntry, setTheme, runInPage } from './page.mjs';

const options = JSON.parse(process.argv[2]);
fs.mkdirSync(options.artifacts, { recursive: true });
const prefix = options.name || `lab-complete-${options.theme}`;
const shot = name => path.join(options.artifacts, `${prefix}-${name}.png`);
const inFile = options.editor === 'file';
const keyDelay = options.keyDelay || 60;
// the code being typed in: the notebook's second cell, or the file editor's text
const sourceOf = inFile => {
  const widget = window.jupyterapp.shell.currentWidget;
  const model = inFile ? widget.content.model : widget.content.widgets[1].model;
  return model.sharedModel.getSource();
};

const out = { theme: options.theme, console: [] };
let page;
await runInPage(
  {
    chromium: options.chromium,
    viewport: { width: 1280, height: 700 },
    out,
    failureShot: shot('failure'),
    logConsole: true
  },
  async opened => {
    page = opened;
    page.on('request', req => {
      if (req.url().includes('neira/api/complete')) out.requests = (out.requests || 0) + 1;
    });
    await page.goto(`${options.url}${options.page}&token=${options.token}`);
    await page.waitForFunction(() => window.jupyterapp && window.jupyterapp.shell, null, {
      timeout: WAIT
    });
    const editors = inFile ? '.jp-FileEditor .cm-content' : '.jp-Notebook .jp-Cell .cm-content';
    await page.waitForSelector(editors, { timeout: WAIT });
    out.extensionEntry = await extensionEntry(page);
    await setTheme(page, options.theme);
    // the second cell (or the file) is empty: type a function into it at a human pace
    const editor = inFile
      ? page.locator(editors).first()
      : page.locator('.jp-Notebook .jp-Cell').nth(1).locator('.cm-content');
    await editor.click();
    await page.keyboard.type('def add(a, b):', { delay: 60 });
    await page.keyboard.press('Enter');
    const indented = (await page.evaluate(sourceOf, inFile)).endsWith('    ');
    await page.keyboard.type(indented ? 'return ' : '    return ', { delay: keyDelay });
    const ghost = page.locator('.jp-GhostText');
    await ghost.first().waitFor({ state: 'visible', timeout: WAIT });
    await page.waitForFunction(
      () => (document.querySelector('.jp-GhostText')?.textContent || '').trim().length > 0,
      null,
      { timeout: WAIT }
    );
    // the stream has ended: no streaming indicator, and the text stays the same for a second
    await page.waitForFunction(
      () => {
        const ghost = document.querySelector('.jp-GhostText');
        const text = ghost?.textContent || '';
        const now = Date.now();
        if (
          ghost?.querySelector('.jp-GhostText-streamingIndicator') ||
          text !== window.neiraGhost
        ) {
          window.neiraGhost = text;
          window.neiraGhostSince = now;
          return false;
        }
        return now - window.neiraGhostSince > 1000;
      },
      null,
      { timeout: WAIT, polling: 100 }
    );
    out.ghost = await ghost.first().textContent();
    await page.screenshot({ path: shot('suggested') });
    await page.keyboard.press('Tab');
    await page.waitForFunction(() => !document.querySelector('.jp-GhostText'), null, {
      timeout: WAIT
    });
    out.source = await page.evaluate(sourceOf, inFile);
    await page.screenshot({ path: shot('accepted') });
  }
);
