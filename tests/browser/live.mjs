// Corrected text growing while the user speaks: headless Chromium, a fake microphone playing
// several sentences with pauses, in JupyterLab's Recorder widget or its Dictate button.
//
//   node live.mjs '<json options>'
//
// options: { scenario: "widget" | "dictate", theme: "light" | "dark",
//            url, page, token, wav, clipSeconds, artifacts, chromium }
// Prints one JSON line: the corrected and the still-heard text shown while recording, and
// the final text. Screenshot: {artifacts}/lab-live-{scenario}-{theme}-corrected.png, taken
// while the recording runs and corrected text is shown.
import fs from 'node:fs';
import path from 'node:path';

import { WAIT, extensionEntry, setTheme, waitForClockPast, runInPage } from './page.mjs';

const options = JSON.parse(process.argv[2]);
const widget = options.scenario === 'widget';
const sel = widget
  ? {
      root: '.neira-recorder',
      start: '.neira-recorder .neira-rec-button',
      corrected: '.neira-recorder .neira-partial-corrected',
      heard: '.neira-recorder .neira-partial',
      clock: '.neira-recorder .neira-rec-time',
      final: '.neira-recorder .neira-final-text'
    }
  : {
      root: '.neira-dictation',
      start: '.jp-NotebookPanel-toolbar [data-command="neira:dictate"] >> visible=true',
      corrected: '.neira-dictation .neira-dictation-corrected',
      heard: '.neira-dictation .neira-dictation-text',
      clock: '.neira-dictation .neira-dictation-time'
    };

fs.mkdirSync(options.artifacts, { recursive: true });
const shot = name =>
  path.join(options.artifacts, `lab-live-${options.scenario}-${options.theme}-${name}.png`);

const out = { scenario: options.scenario, theme: options.theme, console: [] };
let page;
await runInPage(
  {
    chromium: options.chromium,
    viewport: { width: 1280, height: 900 },
    out,
    failureShot: shot('failure'),
    wav: options.wav
  },
  async opened => {
    page = opened;
    await page.goto(`${options.url}${options.page}&token=${options.token}`);
    await page.waitForFunction(() => window.jupyterapp && window.jupyterapp.shell, null, {
      timeout: WAIT
    });
    await page.waitForSelector('.jp-Notebook', { timeout: WAIT });
    await page.waitForFunction(
      () =>
        window.jupyterapp.shell.currentWidget?.sessionContext?.session?.kernel?.status === 'idle',
      null,
      { timeout: WAIT }
    );
    out.extensionEntry = await extensionEntry(page);
    await setTheme(page, options.theme);
    if (widget) {
      await page.evaluate(() => window.jupyterapp.commands.execute('notebook:run-all-cells'));
    } else {
      await page.evaluate(() => {
        window.jupyterapp.shell.currentWidget.content.activeCellIndex = 0;
      });
    }
    const start = page.locator(sel.start);
    await start.waitFor({ timeout: WAIT });
    await start.click();
    await page.mouse.move(640, 880);
    await page.waitForSelector(`${sel.root}[data-state="recording"]`, { timeout: WAIT });
    // the first sentence's correction arrives while the next one is still spoken
    await page.waitForFunction(
      selector => (document.querySelector(selector)?.textContent || '').trim().length > 0,
      sel.corrected,
      { timeout: WAIT }
    );
    out.stateAtCorrected = await page.locator(sel.root).getAttribute('data-state');
    out.correctedWhileRecording = (await page.locator(sel.corrected).textContent()).trim();
    out.shownWhileRecording = (await page.locator(sel.heard).textContent()).trim();
    await page.locator(sel.root).scrollIntoViewIfNeeded();
    await page.screenshot({ path: shot('corrected') });
    await waitForClockPast(page, sel.clock, options.clipSeconds + 0.5);
    out.correctedAtStop = (await page.locator(sel.corrected).textContent()).trim();
    await start.click(); // the same button stops
    await page.waitForSelector(`${sel.root}[data-state="done"], ${sel.root}[data-state="error"]`, {
      timeout: WAIT
    });
    out.state = await page.locator(sel.root).getAttribute('data-state');
    out.finalText = widget
      ? await page.locator(sel.final).textContent()
      : await page.evaluate(() =>
          window.jupyterapp.shell.currentWidget.content.widgets[0].model.sharedModel.getSource()
        );
    await page.screenshot({ path: shot('final') });
  }
);
