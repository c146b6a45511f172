/**
 * The Recorder widget's front end (the anywidget ESM of
 * `neira_jupyter.kernel.widget.Recorder`, bundled into
 * neira_jupyter/kernel/recorder.js by `npm run build:recorder`).
 *
 * Audio path: microphone -> AudioWorklet (16 kHz mono s16le, 100 ms frames,
 * `./capture`) -> WebSocket `neira/api/transcribe/stream` on the Jupyter
 * server that serves this page (`./transcription`) -> partial, corrected
 * (segments corrected while the user speaks, `./liveText`) and final messages. Only the final result goes to the kernel (the `result` and
 * `value` traits); see widget.py for why the audio does not go through the
 * kernel.
 */
import type { Render } from '@anywidget/types';

import type { FinalMessage } from '../protocol';
import { copyText } from './clipboard';
import { pageConnection } from './connection';
import { LiveText } from './liveText';
import { INSERT_CELL_EVENT, InsertCellDetail, RecorderState, RecorderStatus } from './model';
import { Recording } from './recording';
import { clickAction } from './states';
import { RecorderView } from './view';

/** Shown where no Jupyter server serves the page (nbviewer, VS Code, a static export). */
const NO_SERVER =
  'The recorder needs JupyterLab or Jupyter Notebook served by the Jupyter server ' +
  'that runs neira; use %transcribe FILE elsewhere.';

/** Draws the widget into `el` and runs its recordings; returns the cleanup. */
const render: Render<RecorderState> = ({ model, el }) => {
  const view = new RecorderView(el);
  let recording: Recording | null = null;
  let state: RecorderStatus = 'idle';
  let disposed = false;

  /** Runs `write` (model.set calls) and sends the changes to the kernel, unless the view is gone. */
  const sync = (write: () => void): void => {
    if (disposed) return;
    write();
    model.save_changes();
  };

  const setState = (next: RecorderStatus): void => {
    state = next;
    view.showState(next);
    sync(() => model.set('status', next));
  };

  const showError = (text: string): void => {
    view.showError(text);
    sync(() => model.set('error', text));
  };

  /** Ends the current recording: `close` abandons it, `stop` asks for its final result. */
  const end = async (how: 'stop' | 'close'): Promise<void> => {
    const current = recording;
    if (how === 'close') recording = null;
    view.clock.stop();
    view.meter.reset();
    await current?.[how]();
  };

  const fail = async (text: string): Promise<void> => {
    await end('close');
    showError(text);
    setState('error');
  };

  const finish = (message: FinalMessage): void => {
    recording = null;
    view.clearPartial(); // the final rows below replace it
    view.final.show(message);
    sync(() => {
      model.set('result', message);
      model.set('value', message.text);
    });
    setState('done');
  };

  const record = async (): Promise<void> => {
    const connection = pageConnection();
    if (!connection) {
      showError(NO_SERVER);
      setState('error');
      return;
    }
    showError('');
    view.clearPartial();
    setState('connecting');
    const live = new LiveText();
    const current = new Recording({
      wsUrl: connection.wsUrl,
      token: connection.token,
      path: model.get('stream_path'),
      language: model.get('language'),
      correct: model.get('correct'),
      onPartial: message => view.showPartial(live.heard(message)),
      onCorrected: message => view.showPartial(live.corrected(message)),
      onFinal: finish,
      onNotice: text => {
        // the stream reached the server's limit: what was heard is being finished
        showError(text);
        view.clock.stop();
        view.meter.reset();
        setState('finishing');
      },
      onError: text => void fail(text),
      onLevel: rms => view.meter.set(rms)
    });
    recording = current;
    try {
      // false: it failed or the view went away meanwhile (its microphone is released)
      if (!(await current.start())) return;
    } catch (err) {
      await fail(err instanceof Error ? err.message : String(err));
      return;
    }
    view.clock.start();
    setState('recording');
  };

  const stop = async (): Promise<void> => {
    await end('stop');
    setState('finishing');
  };

  const insertCell = async (): Promise<void> => {
    const text = model.get('value');
    const event = new CustomEvent<InsertCellDetail>(INSERT_CELL_EVENT, {
      bubbles: true,
      cancelable: true,
      detail: { text }
    });
    if (!el.dispatchEvent(event)) return; // the lab extension inserted the cell
    const copied = await copyText(text);
    showError(
      copied
        ? 'Copied: paste it into a new cell (with the neira lab extension this button inserts it).'
        : 'Could not insert or copy the text here.'
    );
  };

  view.button.addEventListener('click', () => {
    const action = clickAction(state);
    if (action === 'stop') void stop();
    else if (action === 'record') void record();
  });
  view.language.value = model.get('language');
  view.language.addEventListener('change', () => {
    model.set('language', view.language.value as RecorderState['language']);
    model.save_changes();
  });
  view.correct.checked = model.get('correct');
  view.correct.addEventListener('change', () => {
    model.set('correct', view.correct.checked);
    model.save_changes();
  });
  view.final.insertButton.addEventListener('click', () => void insertCell());
  view.final.copyButton.addEventListener('click', async () => {
    view.final.flashCopy((await copyText(model.get('value'))) ? 'Copied' : 'Copy failed');
  });

  const onLanguage = (): void => {
    view.language.value = model.get('language');
  };
  const onCorrect = (): void => {
    view.correct.checked = model.get('correct');
  };
  const onResult = (): void => view.final.show(model.get('result'));
  model.on('change:language', onLanguage);
  model.on('change:correct', onCorrect);
  model.on('change:result', onResult);
  view.final.show(model.get('result'));

  return () => {
    disposed = true;
    model.off('change:language', onLanguage);
    model.off('change:correct', onCorrect);
    model.off('change:result', onResult);
    void end('close');
  };
};

export default { render };
