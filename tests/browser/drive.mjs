// Drives headless Chromium with a fake microphone against a running JupyterLab.
//
//   node drive.mjs '<json options>'
//
// options: { scenario: "widget" | "dictate", url, token, notebook, wav,
//            clipSeconds, artifacts, chromium }
// Prints one JSON line with what the page showed; tests/browser/test_browser.py
// asserts on it (and checks the kernel side itself).
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const options = JSON.parse(process.argv[2]);
const WAIT = 180_000;

const args = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  `--use-file-for-fake-audio-capture=${options.wav}%noloop`,
  '--autoplay-policy=no-user-gesture-required'
];

fs.mkdirSync(options.artifacts, { recursive: true });
const shot = name => path.join(options.artifacts, `${options.scenario}-${name}.png`);

const browser = await chromium.launch({
  executablePath: options.chromium || '/usr/bin/chromium',
  headless: true,
  args
});
const out = { scenario: options.scenario, console: [] };
let page;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.on('console', msg => {
    if (msg.type() === 'error' || msg.type() === 'warning') {
      out.console.push(`${msg.type()}: ${msg.text()}`.slice(0, 300));
    }
  });
  page.on('pageerror', err => out.console.push(`pageerror: ${err.message}`.slice(0, 300)));
  // `reset`: a fresh workspace, so only this notebook is open
  await page.goto(`${options.url}lab/tree/${options.notebook}?reset&token=${options.token}`);
  await page.waitForFunction(() => window.jupyterapp && window.jupyterapp.shell, null, {
    timeout: WAIT
  });
  // the notebook is open and its kernel is idle
  await page.waitForSelector('.jp-Notebook', { timeout: WAIT });
  await page.waitForFunction(
    () => {
      const widget = window.jupyterapp.shell.currentWidget;
      const kernel = widget && widget.sessionContext && widget.sessionContext.session?.kernel;
      return kernel && kernel.status === 'idle';
    },
    null,
    { timeout: WAIT }
  );
  if (options.scenario === 'widget') await widgetScenario(page, out);
  else await dictateScenario(page, out);
} catch (err) {
  out.failure = String(err && err.stack ? err.stack : err).slice(0, 2000);
  if (page) await page.screenshot({ path: shot('failure') }).catch(() => {});
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out) + '\n');

async function waitForRecordingPast(page, selector, seconds) {
  // the clip has been played once the widget's clock passes its length
  await page.waitForFunction(
    ({ selector, seconds }) => {
      const text = document.querySelector(selector)?.textContent || '';
      const [minutes, secs] = text.split(':').map(Number);
      return minutes * 60 + secs >= seconds;
    },
    { selector, seconds },
    { timeout: WAIT }
  );
}

async function widgetScenario(page, out) {
  await page.evaluate(() => window.jupyterapp.commands.execute('notebook:run-all-cells'));
  const button = page.locator('.neira-recorder .neira-rec-button');
  await button.waitFor({ timeout: WAIT });
  await button.click();
  await page.waitForSelector('.neira-recorder[data-state="recording"]', { timeout: WAIT });
  await page.waitForFunction(
    () => {
      const el = document.querySelector('.neira-recorder .neira-partial');
      return el && el.textContent.trim().length > 0;
    },
    null,
    { timeout: WAIT }
  );
  out.partialBeforeStop = (await page.locator('.neira-recorder .neira-partial').textContent()).trim();
  out.stateAtPartial = await page.locator('.neira-recorder').getAttribute('data-state');
  await waitForRecordingPast(page, '.neira-recorder .neira-rec-time', options.clipSeconds + 0.5);
  out.meterSeen = await page.evaluate(
    () => document.querySelector('.neira-rec-meter-fill')?.style.width || ''
  );
  await page.screenshot({ path: shot('recording') });
  await button.click();
  await page.waitForSelector(
    '.neira-recorder[data-state="done"], .neira-recorder[data-state="error"]',
    { timeout: WAIT }
  );
  out.state = await page.locator('.neira-recorder').getAttribute('data-state');
  out.error = (await page.locator('.neira-recorder .neira-rec-message').textContent()) || '';
  out.raw = await page.locator('.neira-recorder .neira-final-raw').textContent();
  out.text = await page.locator('.neira-recorder .neira-final-text').textContent();
  out.diff = await page.locator('.neira-recorder .neira-final-diff').textContent();
  // the microphone was released: no live audio track is left on the page
  await page.locator('.neira-recorder .neira-final').scrollIntoViewIfNeeded();
  await page.screenshot({ path: shot('final') });
}

async function dictateScenario(page, out) {
  // the first cell is empty and active; the toolbar button dictates into it
  await page.evaluate(async () => {
    const app = window.jupyterapp;
    const panel = app.shell.currentWidget;
    panel.content.activeCellIndex = 0;
  });
  const button = page.locator('.jp-NotebookPanel-toolbar [data-command="neira:dictate"] >> visible=true');
  await button.waitFor({ timeout: WAIT });
  out.buttonFound = true;
  await button.click();
  await page.waitForSelector('.neira-dictation[data-state="recording"]', { timeout: WAIT, state: 'attached' });
  await waitForRecordingPast(page, '.neira-dictation .neira-dictation-time', options.clipSeconds + 0.5);
  out.partialBeforeStop = (await page.locator('.neira-dictation .neira-dictation-text').textContent()).trim();
  await page.screenshot({ path: shot('recording') });
  await button.click(); // the same button stops
  await page.waitForSelector('.neira-dictation[data-state="done"], .neira-dictation[data-state="error"]', {
    timeout: WAIT,
    state: 'attached'
  });
  out.state = await page.locator('.neira-dictation').getAttribute('data-state');
  out.error = await page.locator('.neira-dictation .neira-dictation-text').textContent();
  out.cellText = await page.evaluate(() => {
    const panel = window.jupyterapp.shell.currentWidget;
    return panel.content.activeCell.model.sharedModel.getSource();
  });
  await page.screenshot({ path: shot('inserted') });
}
