// Drives headless Chromium with a fake microphone against a running JupyterLab or Notebook 7.
//
//   node drive.mjs '<json options>'
//
// options: { app: "lab" | "notebook", scenario: "widget" | "dictate", theme: "light" | "dark",
//            url, page, token, wav, clipSeconds, artifacts, chromium }
// Prints one JSON line with what the page showed; tests/browser/test_*.py assert on it (and
// check the kernel side themselves). Screenshots: {artifacts}/{app}-{scenario}-{theme}-*.png.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

import {
  WAIT,
  closeDialog,
  extensionEntry,
  openStatusPanel,
  setTheme,
  styleReport,
  tabInto,
  waitForClockPast
} from './page.mjs';

const options = JSON.parse(process.argv[2]);

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
const prefix = `${options.app}-${options.scenario}-${options.theme}`;
const shot = name => path.join(options.artifacts, `${prefix}-${name}.png`);

const browser = await chromium.launch({
  executablePath: options.chromium || '/usr/bin/chromium',
  headless: true,
  args
});
const out = { app: options.app, scenario: options.scenario, theme: options.theme, console: [] };
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
  await page.goto(`${options.url}${options.page}&token=${options.token}`);
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
  out.extensionEntry = await extensionEntry(page);
  await setTheme(page, options.theme);
  if (options.scenario === 'widget') await widgetScenario(page, out);
  else await dictateScenario(page, out);
} catch (err) {
  out.failure = String(err && err.stack ? err.stack : err).slice(0, 2000);
  if (page) await page.screenshot({ path: shot('failure') }).catch(() => {});
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out) + '\n');

/** Keep the highest aria-valuenow `selector`'s meter reaches, in window.neiraMeterMax. */
async function watchMeter(page, selector) {
  await page.evaluate(selector => {
    window.neiraMeterMax = 0;
    const observe = () => {
      const meter = document.querySelector(selector);
      if (!meter) return void setTimeout(observe, 50);
      new MutationObserver(() => {
        const now = Number(meter.getAttribute('aria-valuenow'));
        window.neiraMeterMax = Math.max(window.neiraMeterMax, now);
      }).observe(meter, { attributes: true, attributeFilter: ['aria-valuenow'] });
    };
    observe();
  }, selector);
}

/** Screenshot `name` while the meter shows speech (aria-valuenow of 20 or more). */
async function shotWhileSpeaking(page, name) {
  await page.waitForFunction(() => window.neiraMeterMax >= 20, null, { timeout: WAIT });
  await page.screenshot({ path: shot(name) });
}

/** What the cells of the current notebook show: the text of each cell's outputs. */
async function cellOutputs(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('.jp-Notebook .jp-Cell')].map(cell =>
      (cell.querySelector('.jp-OutputArea')?.innerText || '').trim()
    )
  );
}

async function widgetScenario(page, out) {
  await page.evaluate(() => window.jupyterapp.commands.execute('notebook:run-all-cells'));
  const button = page.locator('.neira-recorder .neira-rec-button');
  await button.waitFor({ timeout: WAIT });
  // every code cell has run (a %%neira cell above the recorder streams its answer first)
  await page.waitForFunction(
    () => {
      const panel = window.jupyterapp.shell.currentWidget;
      const idle = panel.sessionContext.session?.kernel?.status === 'idle';
      return idle && panel.content.widgets.every(c => c.model.type !== 'code' || c.model.executionCount);
    },
    null,
    { timeout: WAIT }
  );
  out.cellOutputs = await cellOutputs(page);
  const selectors = {
    recorder: '.neira-recorder',
    recordButton: '.neira-recorder .neira-rec-button',
    clock: '.neira-recorder .neira-rec-time',
    status: '.neira-status'
  };
  out.stylesIdle = await styleReport(page, selectors);
  out.meterRole = await page.locator('.neira-recorder .neira-rec-meter').getAttribute('role');
  out.buttonLabel = await button.getAttribute('aria-label');
  await watchMeter(page, '.neira-recorder .neira-rec-meter');
  // keyboard: Tab reaches the record button, which draws a visible focus ring
  out.focus = await tabInto(page, '.neira-recorder .neira-rec-button');
  out.startedWith = options.theme === 'light' ? 'Enter' : 'click';
  if (out.startedWith === 'Enter') await page.keyboard.press('Enter');
  else await button.click();
  await page.mouse.move(640, 880); // no hover colours in the style report and screenshots
  await page.waitForSelector('.neira-recorder[data-state="recording"]', { timeout: WAIT });
  await shotWhileSpeaking(page, 'speaking');
  out.buttonLabelRecording = await button.getAttribute('aria-label');
  out.buttonPressed = await button.getAttribute('aria-pressed');
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
  await waitForClockPast(page, '.neira-recorder .neira-rec-time', options.clipSeconds + 0.5);
  out.meterMax = await page.evaluate(() => window.neiraMeterMax);
  out.stylesRecording = await styleReport(page, selectors);
  await page.locator('.neira-recorder').scrollIntoViewIfNeeded();
  await page.screenshot({ path: shot('recording') });
  // the focus stayed on the button: Space stops (light); a click stops (dark)
  out.focusStayed = await button.evaluate(node => node === document.activeElement);
  out.stoppedWith = options.theme === 'light' ? 'Space' : 'click';
  if (out.stoppedWith === 'Space') await page.keyboard.press('Space');
  else await button.click();
  await page.waitForSelector(
    '.neira-recorder[data-state="done"], .neira-recorder[data-state="error"]',
    { timeout: WAIT }
  );
  out.state = await page.locator('.neira-recorder').getAttribute('data-state');
  out.error = (await page.locator('.neira-recorder .neira-rec-message').textContent()) || '';
  out.raw = await page.locator('.neira-recorder .neira-final-raw').textContent();
  out.text = await page.locator('.neira-recorder .neira-final-text').textContent();
  out.diff = await page.locator('.neira-recorder .neira-final-diff').textContent();
  await page.locator('.neira-recorder .neira-final').scrollIntoViewIfNeeded();
  await page.screenshot({ path: shot('final') });
  // untrusted text stays text: markup in a result set by the kernel is shown, not parsed;
  // then the kernel puts the real result back for the test's own checks
  const markup = '<img src=x onerror="window.neiraInjected=1"><b>bold</b>';
  const execute = code =>
    page.evaluate(code => {
      const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
      kernel.requestExecute({ code, silent: true });
    }, code);
  const finalTextIs = text =>
    page.waitForFunction(
      text => document.querySelector('.neira-recorder .neira-final-text')?.textContent === text,
      text,
      { timeout: WAIT }
    );
  const quoted = JSON.stringify(markup);
  await execute(`_saved = rec.result; rec.result = {**_saved, "text": ${quoted}, "raw": ${quoted}}`);
  await finalTextIs(markup);
  out.markupShownAsText = await page.evaluate(
    () =>
      document.querySelectorAll('.neira-recorder img, .neira-recorder .neira-final-text b').length === 0 &&
      !window.neiraInjected
  );
  await execute('rec.result = _saved');
  await finalTextIs(out.text);
}

async function dictateScenario(page, out) {
  // the first cell is empty and active; the toolbar button dictates into it
  await page.evaluate(() => {
    window.jupyterapp.shell.currentWidget.content.activeCellIndex = 0;
  });
  const button = page.locator('.jp-NotebookPanel-toolbar [data-command="neira:dictate"] >> visible=true');
  await button.waitFor({ timeout: WAIT });
  out.buttonFound = true;
  await watchMeter(page, '.neira-dictation-meter');
  await button.click();
  await page.waitForSelector('.neira-dictation[data-state="recording"]', { timeout: WAIT });
  await page.mouse.move(640, 880);
  await shotWhileSpeaking(page, 'speaking');
  await waitForClockPast(page, '.neira-dictation .neira-dictation-time', options.clipSeconds + 0.5);
  out.partialBeforeStop = (await page.locator('.neira-dictation .neira-dictation-text').textContent()).trim();
  out.meterMax = await page.evaluate(() => window.neiraMeterMax);
  out.meterRole = await page.locator('.neira-dictation-meter').getAttribute('role');
  out.stylesRecording = await styleReport(page, {
    indicator: '.neira-dictation',
    status: '.neira-status'
  });
  await page.screenshot({ path: shot('recording') });
  await button.click(); // the same button stops
  await page.waitForSelector('.neira-dictation[data-state="done"], .neira-dictation[data-state="error"]', {
    timeout: WAIT
  });
  out.state = await page.locator('.neira-dictation').getAttribute('data-state');
  out.error = await page.locator('.neira-dictation .neira-dictation-text').textContent();
  out.cellText = await page.evaluate(() => {
    const panel = window.jupyterapp.shell.currentWidget;
    return panel.content.widgets[0].model.sharedModel.getSource();
  });
  await page.screenshot({ path: shot('inserted') });
  // the status item opens its panel: by click (light), by keyboard (dark)
  await openStatusPanel(page, out, options.theme === 'dark' ? 'Enter' : 'click');
  out.stylesPanel = await styleReport(page, {
    panel: '.jp-Dialog .neira-status-panel',
    dialog: '.jp-Dialog .jp-Dialog-content'
  });
  await page.screenshot({ path: shot('status-panel') });
  await closeDialog(page);
}
