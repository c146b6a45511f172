// Asks Neira in Jupyter's chat (jupyterlab-chat, side panel) about a notebook's DataFrame in
// headless Chromium, then stops a long answer with the chat's stop button.
//
//   node chat.mjs '<json options>'
//
// options: { theme: "light" | "dark", url, page, token, artifacts, chromium, question, long,
//   failing, app: "lab" | "notebook" (default lab), answerOnly }
// Prints one JSON line: the answer's text, the lengths it had while it streamed, the stopped
// answer's text, the extension's entry, the chat panel's box; screenshots:
// {artifacts}/{app}-chat-{theme}-{answered,stopped,explained}.png. Then a failing cell's
// "Explain / fix" button asks about its error; the answer's code is inserted below the cell.
// With answerOnly the script ends after the first answer (Notebook 7's run).
import fs from 'node:fs';
import path from 'node:path';

import { extensionEntry, setTheme, runInPage } from './page.mjs';

const WAIT = 100_000; // each step; the whole script must end before the test's 280 s

const options = JSON.parse(process.argv[2]);
fs.mkdirSync(options.artifacts, { recursive: true });
const app = options.app || 'lab';
const shot = name => path.join(options.artifacts, `${app}-chat-${options.theme}-${name}.png`);

const out = { theme: options.theme, console: [], snapshots: 0 };
let page;

/** The last message's text in the chat, and how many messages there are. */
const lastMessage = () =>
  page.evaluate(() => {
    const all = document.querySelectorAll('.jp-chat-rendered-message');
    return { count: all.length, text: all.length ? all[all.length - 1].innerText : '' };
  });

/**
 * The chat side panel's width, the persona picker's name, and whether the picker is whole
 * (its name not ellipsised, its arrow not clipped) beside the input's buttons.
 */
const chatPanel = () =>
  page.evaluate(() => {
    const panel = document.getElementById('JupyterlabChat:sidepanel');
    const box = panel?.getBoundingClientRect();
    const name = document.querySelector('.jp-jai-personaControls-persona');
    const button = document.querySelector('.jp-jai-personaControls-persona-btn');
    const toolbar = button?.closest('.jp-chat-input-toolbar');
    const edges = node => node.getBoundingClientRect();
    const inside = (node, outer) =>
      edges(node).left >= edges(outer).left - 0.5 && edges(node).right <= edges(outer).right + 0.5;
    const buttons = toolbar ? [...toolbar.children] : [];
    return {
      visible: Boolean(box && box.width > 0 && box.height > 0),
      width: box ? Math.round(box.width) : 0,
      persona: name?.textContent?.trim() || '',
      personaWhole: Boolean(
        name &&
        name.scrollWidth <= name.clientWidth &&
        inside(button, button.parentElement) &&
        buttons.every(child => inside(child, toolbar))
      ),
      microphone: Boolean(toolbar?.querySelector('.neira-chat-mic'))
    };
  });

/** Send `text` from the chat input with Enter. */
async function ask(text) {
  const input = page.locator('.jp-chat-input-container textarea').first();
  await input.click();
  await input.fill(text);
  await page.keyboard.press('Enter');
}

/** Wait for a new message after `before` messages; the lengths it had until `done(text)`. */
async function follow(before, done) {
  const lengths = [];
  const deadline = Date.now() + WAIT;
  for (;;) {
    const last = await lastMessage();
    if (last.count > before) {
      if (!lengths.length || lengths[lengths.length - 1] !== last.text.length) {
        lengths.push(last.text.length);
      }
      if (done(last.text)) return { text: last.text, lengths };
    }
    if (Date.now() > deadline) throw new Error(`no answer: ${JSON.stringify(last)}`);
    await page.waitForTimeout(25);
  }
}

await runInPage(
  {
    chromium: options.chromium,
    viewport: { width: 1280, height: 760 },
    out,
    failureShot: shot('failure')
  },
  async opened => {
    page = opened;
    page.on('request', req => {
      if (req.url().includes('neira/chat/context')) out.snapshots += 1;
    });
    await page.goto(`${options.url}${options.page}&token=${options.token}`);
    await page.waitForFunction(() => window.jupyterapp && window.jupyterapp.shell, null, {
      timeout: WAIT
    });
    await page.waitForSelector('.jp-Notebook .jp-Cell .cm-content', { timeout: WAIT });
    out.extensionEntry = await extensionEntry(page);
    await setTheme(page, options.theme);
    // run the notebook's cell (it defines df) and wait for its execution count
    const ranAll = () => {
      const panel = window.jupyterapp.shell.currentWidget;
      const idle = panel?.sessionContext?.session?.kernel?.status === 'idle';
      return (
        idle && panel.content.widgets.every(c => c.model.type !== 'code' || c.model.executionCount)
      );
    };
    await page.waitForFunction(
      () =>
        window.jupyterapp.shell.currentWidget?.sessionContext?.session?.kernel?.status === 'idle',
      null,
      { timeout: WAIT }
    );
    await page.evaluate(() => window.jupyterapp.commands.execute('notebook:run-all-cells'));
    await page.waitForFunction(ranAll, null, { timeout: WAIT });
    await page.evaluate(
      name =>
        window.jupyterapp.commands.execute('jupyterlab-chat:createAndOpen', {
          name,
          inSidePanel: true
        }),
      `neira-${options.theme}`
    );
    await page.waitForSelector('.jp-chat-input-container textarea', { timeout: WAIT });
    let before = (await lastMessage()).count;
    await ask(options.question);
    const answered = await follow(before + 1, text => /used:/.test(text));
    out.answer = answered.text;
    out.lengths = answered.lengths;
    out.panel = await chatPanel();
    await page.screenshot({ path: shot('answered') });
    if (options.answerOnly) return;

    before = (await lastMessage()).count;
    await ask(options.long);
    await follow(before + 1, text => text.length > 30);
    // the persona manager's stop control (jupyter-chat's own stop button is a placeholder)
    await page
      .locator(
        '[aria-label="Stop generating"]:not([disabled]), [title="Stop generating"]:not([disabled])'
      )
      .first()
      .click();
    const stopped = await follow(before + 1, text => /used:/.test(text));
    out.stopped = stopped.text;
    await page.screenshot({ path: shot('stopped') });

    // a cell that raises gets "Explain / fix"; the answer's code can be inserted below it
    await page.evaluate(async code => {
      const app = window.jupyterapp;
      const notebook = app.shell.currentWidget.content;
      notebook.activeCellIndex = notebook.widgets.length - 1;
      await app.commands.execute('notebook:insert-cell-below');
      notebook.activeCell.model.sharedModel.setSource(code);
      await app.commands.execute('notebook:run-cell');
    }, options.failing);
    const explain = page.locator('.neira-explain-error');
    await explain.waitFor({ timeout: WAIT });
    out.cellsBefore = await page.evaluate(
      () => window.jupyterapp.shell.currentWidget.content.widgets.length
    );
    await explain.click();
    // the question is sent in the `neira` chat, which opens in the side panel
    await page.waitForFunction(
      () =>
        /Explain the error in cell/.test(
          [...document.querySelectorAll('.jp-chat-rendered-message')].pop()?.innerText || ''
        ),
      null,
      { timeout: WAIT }
    );
    const fixed = await follow((await lastMessage()).count, text => /used:/.test(text));
    out.fixed = fixed.text;
    out.fixedCode = await page.evaluate(() => {
      const all = document.querySelectorAll('.jp-chat-rendered-message');
      return [...all[all.length - 1].querySelectorAll('pre')].map(p => p.innerText).join('\n');
    });
    out.question = await page.evaluate(() => {
      const all = document.querySelectorAll('.jp-chat-rendered-message');
      return all.length > 1 ? all[all.length - 2].innerText : '';
    });
    await page.screenshot({ path: shot('explained') });
    const insert = page.locator('[aria-label^="Insert below active cell"]').last();
    if (out.fixedCode) {
      await insert.click();
      await page.waitForFunction(
        n => window.jupyterapp.shell.currentWidget.content.widgets.length > n,
        out.cellsBefore,
        { timeout: WAIT }
      );
      out.inserted = await page.evaluate(() => {
        const notebook = window.jupyterapp.shell.currentWidget.content;
        return notebook.activeCell.model.sharedModel.getSource();
      });
    }
  }
);
