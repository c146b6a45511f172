/**
 * The Recorder widget's DOM: the bar (record button, level meter, clock,
 * language, correct), the message line, the live partial transcript and the
 * result panel (`./final`). It only draws; `./widget` decides what happens.
 */
import { elapsedClock, h, levelMeter } from './elements';
import { FinalView } from './final';
import type { LiveParts } from './liveText';
import type { RecorderStatus } from './model';
import { buttonLook } from './states';
import type { Language } from './transcription';

/** The languages offered, with their labels. */
const LANGUAGES: ReadonlyArray<readonly [Language, string]> = [
  ['auto', 'auto'],
  ['en', 'English'],
  ['ru', 'Русский']
];

/** The widget's elements inside the anywidget `el`. */
export class RecorderView {
  readonly button = h('button', 'neira-rec-button', 'Record');
  readonly meter = levelMeter('neira-rec-meter');
  readonly clock = elapsedClock('neira-rec-time');
  readonly language = h('select', 'neira-rec-language');
  readonly correct = h('input');
  readonly final = new FinalView();
  private readonly message = h('div', 'neira-rec-message');
  private readonly partial = h('div', 'neira-partial');
  private readonly corrected = h('span', 'neira-partial-corrected');
  private readonly confirmed = h('span', 'neira-partial-confirmed');
  private readonly tentative = h('span', 'neira-partial-tentative');

  constructor(readonly el: HTMLElement) {
    el.classList.add('neira-recorder');
    // keys pressed on the widget's controls are theirs, not JupyterLab's notebook shortcuts
    el.setAttribute('data-lm-suppress-shortcuts', 'true');
    this.button.type = 'button';
    this.button.setAttribute('aria-label', 'Start recording');
    this.button.setAttribute('aria-pressed', 'false');
    this.language.setAttribute('aria-label', 'Speech language');
    for (const [value, label] of LANGUAGES) {
      const option = h('option', '', label);
      option.value = value;
      this.language.append(option);
    }
    const correctLabel = h('label', 'neira-rec-correct');
    this.correct.type = 'checkbox';
    correctLabel.append(this.correct, ' correct');
    const bar = h('div', 'neira-rec-bar');
    bar.append(this.button, this.meter.node, this.clock.node, this.language, correctLabel);
    this.message.setAttribute('role', 'alert');
    this.partial.append(this.corrected, ' ', this.confirmed, ' ', this.tentative);
    this.partial.setAttribute('aria-live', 'polite');
    el.append(bar, this.message, this.partial, this.final.node);
    el.dataset.state = 'idle';
  }

  /** Shows `state`: on `el`'s `data-state`, the button, and the settings' availability. */
  showState(state: RecorderStatus): void {
    const look = buttonLook(state);
    this.el.dataset.state = state;
    this.button.textContent = look.label;
    this.button.setAttribute('aria-label', look.ariaLabel);
    this.button.setAttribute('aria-pressed', String(look.pressed));
    // aria-disabled, not disabled: a disabled button would drop the keyboard focus
    this.button.setAttribute('aria-disabled', String(look.waiting));
    this.button.classList.toggle('neira-recording', look.pressed);
    this.language.disabled = this.correct.disabled = look.busy;
  }

  /** Shows `text` in the message line (hidden when empty). */
  showError(text: string): void {
    this.message.textContent = text;
    this.message.classList.toggle('neira-visible', Boolean(text));
  }

  /** Shows the live transcript: corrected segments, confirmed words, then the tentative tail. */
  showPartial(parts: LiveParts): void {
    this.corrected.textContent = parts.corrected;
    this.confirmed.textContent = parts.confirmed;
    this.tentative.textContent = parts.tentative;
    this.partial.classList.add('neira-visible');
  }

  /** Clears and hides the partial transcript. */
  clearPartial(): void {
    this.corrected.textContent = this.confirmed.textContent = this.tentative.textContent = '';
    this.partial.classList.remove('neira-visible');
  }
}
