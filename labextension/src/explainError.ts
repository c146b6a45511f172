/**
 * "Explain / fix" on error outputs: a button under each cell that raised,
 * which asks Neira in the chat about that error (docs/chat.md).
 *
 * The command `neira:explain-error` makes the cell active, posts the
 * notebook's snapshot (so the question comes with the cell and its
 * traceback), then opens the `neira` chat in the side panel with the question
 * in its input (jupyterlab-chat's `openWithMessage`) and sends it once the
 * persona picker has chosen a persona. The answer's code
 * blocks carry the chat's own "insert below / replace the active cell"
 * buttons. `%neira fix` in a cell asks the same question with the same prompt.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';

import type { ChatContext } from './chatContext';

export const EXPLAIN_COMMAND = 'neira:explain-error';
const OPEN_WITH_MESSAGE = 'jupyterlab-chat:openWithMessage';
const BUTTON_CLASS = 'neira-explain-error';
const CHAT_NAME = 'neira';

interface IOutputJSON {
  output_type?: string;
  ename?: string;
  evalue?: string;
}

function cellError(panel: NotebookPanel, index: number): IOutputJSON | null {
  const cell = panel.content.model?.cells.get(index);
  if (!cell || cell.type !== 'code') return null;
  const outputs = (cell as unknown as { outputs: { toJSON(): IOutputJSON[] } }).outputs.toJSON();
  return outputs.find(o => o.output_type === 'error') ?? null;
}

/** Press the chat's send button once a persona is chosen (or after 10 s, whatever the picker). */
async function sendWhenReady(root: HTMLElement): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const send = root.querySelector<HTMLButtonElement>(
      '.jp-chat-input-container .jp-chat-send-button'
    );
    const persona = root.querySelector('.jp-jai-personaControls-persona')?.textContent?.trim();
    if (send && !send.disabled && (persona || Date.now() > deadline)) {
      send.click();
      return;
    }
    if (Date.now() > deadline + 5_000) return;
    await new Promise(resolve => window.setTimeout(resolve, 100));
  }
}

/** Keep one "Explain / fix" button under every cell of `panel` whose outputs hold an error. */
function refreshButtons(app: JupyterFrontEnd, panel: NotebookPanel): void {
  panel.content.widgets.forEach((cell, index) => {
    const area = cell.node.querySelector('.jp-Cell-outputWrapper');
    const existing = cell.node.querySelector(`.${BUTTON_CLASS}`);
    const error = cellError(panel, index);
    if (!error || !area) {
      existing?.remove();
      return;
    }
    if (existing) return;
    const button = document.createElement('button');
    button.className = `${BUTTON_CLASS} jp-Button jp-mod-styled jp-mod-reject`;
    button.type = 'button';
    button.textContent = 'Explain / fix';
    button.title = 'Ask Neira in the chat about this error';
    button.addEventListener('click', () => {
      const at = panel.content.widgets.indexOf(cell);
      void app.commands.execute(EXPLAIN_COMMAND, { index: at });
    });
    area.after(button);
  });
}

/** The command and the buttons, for every notebook of `tracker`. */
export function addErrorActions(
  app: JupyterFrontEnd,
  tracker: INotebookTracker,
  context: ChatContext
): void {
  app.commands.addCommand(EXPLAIN_COMMAND, {
    label: 'Explain / fix this error with Neira',
    caption: 'Ask Neira in the chat about the error of the active cell',
    describedBy: {
      args: {
        type: 'object',
        properties: { index: { type: 'number', description: 'The cell (default: active).' } }
      }
    },
    isEnabled: () => app.commands.hasCommand(OPEN_WITH_MESSAGE) && tracker.currentWidget !== null,
    execute: async args => {
      const panel = tracker.currentWidget;
      if (!panel) return;
      const index = typeof args.index === 'number' ? args.index : panel.content.activeCellIndex;
      const error = cellError(panel, index);
      if (!error) return;
      panel.content.activeCellIndex = index;
      await context.post();
      // the question `%neira fix` asks too (neira_jupyter/context/prompt.py's FIX_QUESTION;
      // tests/context/test_prompt.py checks that the two read the same)
      const what = `${error.ename ?? 'Error'}: ${error.evalue ?? ''}`.slice(0, 300);
      // not autoSend: a message sent before the persona picker has chosen Neira reaches no one
      const widget = (await app.commands.execute(OPEN_WITH_MESSAGE, {
        name: CHAT_NAME,
        inSidePanel: true,
        input: `Explain the error in cell ${index + 1} (${what}) and show the fixed code.`,
        autoSend: false
      })) as { node?: HTMLElement } | null;
      await sendWhenReady(widget?.node ?? document.body);
    }
  });
  const watched = new WeakSet<NotebookPanel>();
  const watch = (panel: NotebookPanel | null): void => {
    if (!panel || watched.has(panel)) return;
    watched.add(panel);
    let timer: number | null = null;
    const observer = new MutationObserver(() => {
      if (timer !== null) window.clearTimeout(timer);
      timer = window.setTimeout(() => refreshButtons(app, panel), 200);
    });
    observer.observe(panel.content.node, { childList: true, subtree: true });
    panel.disposed.connect(() => observer.disconnect());
  };
  tracker.widgetAdded.connect((_, panel) => watch(panel));
  tracker.forEach(watch);
}
