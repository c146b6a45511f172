/**
 * Dictation into the active notebook cell.
 *
 * `Dictation` records with the Recorder widget's `Recording` (the microphone
 * streaming to `neira/api/transcribe/stream`) and inserts the final
 * (corrected) text into the cell that was active when it started.
 * `DictationIndicator` is the floating panel shown meanwhile: state, elapsed
 * time, a level meter and the live transcript (the segments the server has
 * corrected so far, then the words still being heard), in the theme's colours.
 * Transcript text is set with `textContent` only.
 */
import type { NotebookPanel } from '@jupyterlab/notebook';
import { ServerConnection } from '@jupyterlab/services';

import { appendDictated, insertedText, partialText } from './dictationText';
import type { FinalMessage } from './protocol';
import { elapsedClock, h, levelMeter } from './recorder/elements';
import { LiveParts, LiveText } from './recorder/liveText';
import { Recording } from './recorder/recording';
import type { Language } from './recorder/transcription';

export type { Language };

/** What the indicator shows: recording, finishing (transcribing), done or error. */
export type IndicatorState = 'idle' | 'recording' | 'finishing' | 'done' | 'error';

const STATE_LABELS: Record<IndicatorState, string> = {
  idle: '',
  recording: 'Recording',
  finishing: 'Transcribing',
  done: 'Inserted',
  error: 'Dictation failed'
};

/** The small floating indicator shown while dictating. */
export class DictationIndicator {
  readonly node: HTMLDivElement;
  private readonly label = h('span', 'neira-dictation-label');
  private readonly clock = elapsedClock('neira-dictation-time');
  private readonly meter = levelMeter('neira-dictation-meter');
  private readonly text = h('span', 'neira-dictation-text');
  private hideTimer: number | null = null;

  constructor() {
    this.node = h('div', 'neira-dictation');
    this.node.dataset.state = 'idle';
    this.node.setAttribute('role', 'status');
    this.node.setAttribute('aria-live', 'polite');
    const dot = h('span', 'neira-dictation-dot');
    dot.setAttribute('aria-hidden', 'true');
    const head = h('div', 'neira-dictation-head');
    head.append(dot, this.label, this.clock.node, this.meter.node);
    this.node.append(head, this.text);
    document.body.append(this.node);
  }

  /** Show `state` with `text`; "recording" starts the clock, any other state stops it. */
  show(state: IndicatorState, text: string): void {
    if (this.hideTimer !== null) window.clearTimeout(this.hideTimer);
    this.node.dataset.state = state;
    this.node.classList.add('neira-visible');
    this.label.textContent = STATE_LABELS[state];
    this.text.textContent = text;
    if (state === 'recording') {
      this.clock.start();
    } else {
      this.clock.stop();
      this.meter.reset();
    }
    if (state === 'done' || state === 'error') {
      this.hideTimer = window.setTimeout(() => this.node.classList.remove('neira-visible'), 6000);
    }
  }

  /**
   * The live transcript: shown while recording, ignored once the recording has
   * stopped; the corrected segments in their own span (`neira-dictation-corrected`).
   */
  live(parts: LiveParts): void {
    if (this.node.dataset.state !== 'recording') return;
    const rest = partialText({ ...parts, corrected: '' });
    if (!parts.corrected) {
      this.text.textContent = rest;
      return;
    }
    const corrected = h('span', 'neira-dictation-corrected', parts.corrected);
    const heard = h(
      'span',
      'neira-dictation-heard',
      parts.confirmed || parts.tentative ? rest : ''
    );
    this.text.replaceChildren(corrected, ' ', heard);
  }

  /** The microphone level of the latest chunk (RMS). */
  level(rms: number): void {
    this.meter.set(rms);
  }

  dispose(): void {
    this.clock.stop();
    this.node.remove();
  }
}

/** One dictation: microphone -> server -> text inserted into a cell. */
export class Dictation {
  private recording: Recording | null = null;
  state: 'idle' | 'recording' | 'finishing' = 'idle';

  constructor(
    private readonly indicator: DictationIndicator,
    private readonly onChange: () => void
  ) {}

  async start(panel: NotebookPanel, language: Language, correct: boolean): Promise<void> {
    const settings = ServerConnection.makeSettings();
    const cellIndex = panel.content.activeCellIndex;
    this.state = 'recording';
    this.onChange();
    this.indicator.show('recording', 'Listening… press Dictate again to stop.');
    const live = new LiveText();
    this.recording = new Recording({
      wsUrl: settings.wsUrl,
      token: settings.token,
      language,
      correct,
      onPartial: message => this.indicator.live(live.heard(message)),
      onCorrected: message => this.indicator.live(live.corrected(message)),
      onFinal: message => this.insert(panel, cellIndex, message),
      onNotice: message => this.finishing(message),
      onError: message => void this.fail(message),
      onLevel: rms => this.indicator.level(rms)
    });
    try {
      await this.recording.start();
    } catch (error) {
      await this.fail(error instanceof Error ? error.message : String(error));
    }
  }

  async stop(): Promise<void> {
    this.finishing('Transcribing…');
    await this.recording?.stop();
  }

  /** The recording ended (stopped, or at the server's limit, said in `text`); the final follows. */
  private finishing(text: string): void {
    this.state = 'finishing';
    this.onChange();
    this.indicator.show('finishing', text);
  }

  private async fail(message: string): Promise<void> {
    const recording = this.recording;
    this.recording = null;
    await recording?.close();
    this.state = 'idle';
    this.onChange();
    this.indicator.show('error', message);
  }

  private insert(panel: NotebookPanel, cellIndex: number, message: FinalMessage): void {
    this.recording = null;
    this.state = 'idle';
    this.onChange();
    const cells = panel.content.widgets;
    const cell = cells[cellIndex] ?? panel.content.activeCell;
    if (!cell || panel.isDisposed) {
      this.indicator.show('error', 'The notebook was closed before the text arrived.');
      return;
    }
    const source = cell.model.sharedModel.getSource();
    cell.model.sharedModel.setSource(appendDictated(source, message.text));
    this.indicator.show('done', insertedText(message));
  }
}
