// Types into a notebook cell in headless Chromium until neira's inline completion shows, then
// accepts it with Tab.
//
//   node complete.mjs '<json options>'
//
// options: { theme: "light" | "dark", url, page, token, artifacts, chromium }
// Prints one JSON line: the ghost text shown, the cell's source after Tab, the extension's
// entry; screenshots: {artifacts}/lab-complete-{theme}-{suggested,accepted}.png.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

import { WAIT, extensionEntry, setTheme } from './page.mjs';

const options = JSON.parse(process.argv[2]);
fs.mkdirSync(options.artifacts, { recursive: true });
const shot = name => path.join(options.artifacts, `lab-complete-${options.theme}-${name}.png`);

const browser = await chromium.launch({
  executablePath: options.chromium || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run']
});
const out = { theme: options.theme, console: [] };
let page;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 700 } });
  page = await context.newPage();
  page.on('pageerror', err => out.console.push(`pageerror: ${err.message}`.slice(0, 300)));
  page.on('console', msg => out.console.push(`${msg.type()}: ${msg.text()}`.slice(0, 300)));
  page.on('request', req => {
    if (req.url().includes('neira/api/complete')) out.requests = (out.requests || 0) + 1;
  });
  await page.goto(`${options.url}${options.page}&token=${options.token}`);
  await page.waitForFunction(() => window.jupyterapp && window.jupyterapp.shell, null, {
    timeout: WAIT
  });
  await page.waitForSelector('.jp-Notebook .jp-Cell .cm-content', { timeout: WAIT });
  out.extensionEntry = await extensionEntry(page);
  await setTheme(page, options.theme);
  // the second cell is empty: type a function into it at a human pace
  const editor = page.locator('.jp-Notebook .jp-Cell').nth(1).locator('.cm-content');
  await editor.click();
  await page.keyboard.type('def add(a, b):', { delay: 60 });
  await page.keyboard.press('Enter');
  const indented = await page.evaluate(() => {
    const notebook = window.jupyterapp.shell.currentWidget.content;
    return notebook.widgets[1].model.sharedModel.getSource().endsWith('    ');
  });
  await page.keyboard.type(indented ? 'return ' : '    return ', { delay: 60 });
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
      if (ghost?.querySelector('.jp-GhostText-streamingIndicator') || text !== window.neiraGhost) {
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
  out.source = await page.evaluate(() => {
    const notebook = window.jupyterapp.shell.currentWidget.content;
    return notebook.widgets[1].model.sharedModel.getSource();
  });
  await page.screenshot({ path: shot('accepted') });
} catch (err) {
  out.failure = String(err && err.stack ? err.stack : err).slice(0, 2000);
  if (page) await page.screenshot({ path: shot('failure') }).catch(() => {});
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out) + '\n');
