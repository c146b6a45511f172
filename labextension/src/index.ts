/**
 * neira-jupyter in JupyterLab 4 and Notebook 7.
 *
 * - A status item (`./status`) polls `neira/api/status` and shows the live
 *   model, the route (primary / fallback / degraded), memory (free memory
 *   and the pressure level) and the queue; a click opens a panel with the
 *   whole status document. JupyterLab puts it in the status bar; Notebook 7
 *   has no status bar, so there it goes into the top bar. The answer's type,
 *   `StatusDocument`, is generated from the Python protocol (`./protocol.ts`,
 *   `npm run build:protocol`).
 * - The `neira:dictate` command (notebook toolbar button, Accel+Shift+D)
 *   records from the microphone, shows partial transcripts while you speak,
 *   and on the second press inserts the corrected text into the active cell
 *   (`./dictation`).
 *
 * - Inline code completions from the resident model (`./completer`): a
 *   provider for JupyterLab's inline completer, streamed, on by default;
 *   settings in `schema/completer.json`.
 *
 * - Neira's chat persona's view of the notebook (`./chatContext`): the
 *   active notebook's cells, selection and last error, posted to the server;
 *   an "Explain / fix" button under error outputs asks Neira (`./explainError`);
 *   a microphone button in the chat input dictates into it (`./chatMicrophone`).
 *
 * The audio capture and the streaming socket are the Recorder widget's own
 * modules (`./recorder`, which esbuild bundles into the widget's ESM,
 * neira_jupyter/kernel/recorder.js), imported here so both share one
 * implementation. The socket goes from this page straight to the Jupyter
 * server, authenticated like every other Jupyter WebSocket.
 */
import { ILabShell, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICompletionProviderManager } from '@jupyterlab/completer';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';

import { ChatContext } from './chatContext';
import { addChatMicrophones, IMicrophoneSettings } from './chatMicrophone';
import { addErrorActions } from './explainError';
import { DEFAULT_COMPLETER_SETTINGS, ICompleterSettings, NeiraInlineProvider } from './completer';
import { Dictation, DictationIndicator, Language } from './dictation';
import { INSERT_CELL_EVENT } from './recorder/model';
import { StatusItem } from './status';

export { NeiraRequestError, requestAPI } from './request';
export { formatMiB, memoryLabel } from './statusText';

const PLUGIN_ID = 'neira-jupyter:plugin';
const COMMAND = 'neira:dictate';

/** Insert text from the Recorder widget's "Insert as new cell" button below the widget's cell. */
function handleInsertCell(tracker: INotebookTracker, event: Event): void {
  const detail = (event as CustomEvent<{ text?: unknown }>).detail;
  const target = event.target;
  if (!detail || typeof detail.text !== 'string' || !(target instanceof Node)) return;
  const panel = tracker.find(p => p.node.contains(target));
  if (!panel) return;
  const notebook = panel.content;
  const index = notebook.widgets.findIndex(cell => cell.node.contains(target));
  if (index >= 0) notebook.activeCellIndex = index;
  const model = notebook.model;
  if (!model) return;
  model.sharedModel.insertCell(index + 1, { cell_type: 'code', source: detail.text });
  notebook.activeCellIndex = index + 1;
  event.preventDefault();
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'neira status (status bar or top bar) and a Dictate command for notebooks.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ISettingRegistry, IStatusBar, ILabShell],
  activate: async (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    settingRegistry: ISettingRegistry | null,
    statusBar: IStatusBar | null
  ) => {
    let language: Language = 'auto';
    let correct = true;
    const status = new StatusItem(5);
    const indicator = new DictationIndicator();
    const dictation = new Dictation(indicator, () => app.commands.notifyCommandChanged(COMMAND));

    app.commands.addCommand(COMMAND, {
      label: () => (dictation.state === 'recording' ? 'Stop dictation' : 'Dictate'),
      caption: 'Dictate into the active cell (press again to stop)',
      isToggled: () => dictation.state === 'recording',
      isEnabled: () => tracker.currentWidget !== null && dictation.state !== 'finishing',
      execute: async () => {
        if (dictation.state === 'recording') {
          await dictation.stop();
          return;
        }
        const panel = tracker.currentWidget;
        if (panel) await dictation.start(panel, language, correct);
      }
    });
    tracker.currentChanged.connect(() => app.commands.notifyCommandChanged(COMMAND));
    document.addEventListener(INSERT_CELL_EVENT, event => handleInsertCell(tracker, event));

    if (settingRegistry) {
      try {
        const settings = await settingRegistry.load(PLUGIN_ID);
        const apply = (): void => {
          language = settings.get('language').composite as Language;
          correct = settings.get('correct').composite as boolean;
          status.setInterval(settings.get('statusInterval').composite as number);
        };
        apply();
        settings.changed.connect(apply);
      } catch (error) {
        console.warn('neira: cannot load settings', error);
      }
    }
    if (statusBar) {
      statusBar.registerStatusItem(PLUGIN_ID, { item: status, align: 'left', rank: 100 });
    } else {
      // Notebook 7 has no status bar: its top bar (beside the notebook's title) holds the item.
      status.addClass('neira-status-top');
      app.shell.add(status, 'top', { rank: 900 });
    }
    status.start();
  }
};

const COMPLETER_ID = 'neira-jupyter:completer';

const completerPlugin: JupyterFrontEndPlugin<void> = {
  id: COMPLETER_ID,
  description: 'Inline code completions from the resident model (fill-in-the-middle).',
  autoStart: true,
  requires: [ICompletionProviderManager],
  optional: [ISettingRegistry],
  activate: async (
    app: JupyterFrontEnd,
    manager: ICompletionProviderManager,
    settingRegistry: ISettingRegistry | null
  ) => {
    const provider = new NeiraInlineProvider();
    manager.registerInlineProvider(provider);
    if (!settingRegistry) return;
    try {
      const settings = await settingRegistry.load(COMPLETER_ID);
      const apply = (): void => {
        const read = <K extends keyof ICompleterSettings>(key: K): ICompleterSettings[K] =>
          (settings.get(key).composite as ICompleterSettings[K]) ?? DEFAULT_COMPLETER_SETTINGS[key];
        provider.settings = {
          enabled: read('enabled'),
          debounceMs: read('debounceMs'),
          maxLines: read('maxLines'),
          maxTokens: read('maxTokens')
        };
      };
      apply();
      settings.changed.connect(apply);
    } catch (error) {
      console.warn('neira: cannot load the completer settings', error);
    }
  }
};

const chatPlugin: JupyterFrontEndPlugin<void> = {
  id: 'neira-jupyter:chat',
  description: "What Neira's chat persona sees: the active notebook's snapshot (docs/chat.md).",
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    settingRegistry: ISettingRegistry | null
  ) => {
    addErrorActions(app, tracker, new ChatContext(tracker));
    // the chat's microphone uses the Dictate command's language and correction settings
    const microphone: IMicrophoneSettings = { language: 'auto', correct: true };
    addChatMicrophones(() => microphone);
    settingRegistry
      ?.load(PLUGIN_ID)
      .then(settings => {
        const apply = (): void => {
          microphone.language = settings.get('language').composite as Language;
          microphone.correct = settings.get('correct').composite as boolean;
        };
        apply();
        settings.changed.connect(apply);
      })
      .catch(error => console.warn('neira: cannot load settings', error));
  }
};

export default [plugin, completerPlugin, chatPlugin];
