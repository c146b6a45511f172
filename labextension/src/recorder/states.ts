/**
 * The Recorder widget's states as the user meets them: what a click on the
 * record button does in each state, and how the button and the settings
 * look then. Pure (no DOM), so `./widget` and `./view` share one answer and
 * the unit tests (labextension/test/) can check every state.
 *
 * The states run idle -> connecting -> recording -> finishing -> done, or
 * to error from any of them; done and error start again like idle.
 */
import type { RecorderStatus } from './model';

/** What a click on the record button does: start a recording, stop it, or nothing. */
export type ClickAction = 'record' | 'stop' | 'none';

/** How the record button and the settings look in a state. */
export interface ButtonLook {
  /** The button's text. */
  label: 'Record' | 'Stop';
  /** The button's `aria-label`. */
  ariaLabel: string;
  /** `aria-pressed`: a recording runs. */
  pressed: boolean;
  /** `aria-disabled`: a recording is being set up or finished, so a click does nothing. */
  waiting: boolean;
  /** The language and correct settings are disabled: a recording runs, or is being set up or finished. */
  busy: boolean;
}

/** States in which a recording runs (or is being set up or finished). */
const BUSY: ReadonlySet<RecorderStatus> = new Set(['connecting', 'recording', 'finishing']);

/** What a click on the record button does in `state`. */
export function clickAction(state: RecorderStatus): ClickAction {
  if (state === 'recording') return 'stop';
  if (state === 'connecting' || state === 'finishing') return 'none';
  return 'record';
}

/** How the record button and the settings look in `state`. */
export function buttonLook(state: RecorderStatus): ButtonLook {
  const recording = state === 'recording';
  return {
    label: recording ? 'Stop' : 'Record',
    ariaLabel: recording ? 'Stop recording' : 'Start recording',
    pressed: recording,
    waiting: clickAction(state) === 'none',
    busy: BUSY.has(state)
  };
}
