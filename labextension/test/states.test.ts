/** The Recorder widget's states: what a click does and how the button looks in each. */
import type { RecorderStatus } from '../src/recorder/model';
import { buttonLook, clickAction } from '../src/recorder/states';

const ALL: RecorderStatus[] = ['idle', 'connecting', 'recording', 'finishing', 'done', 'error'];

describe('clickAction', () => {
  it.each<[RecorderStatus, string]>([
    ['idle', 'record'],
    ['connecting', 'none'],
    ['recording', 'stop'],
    ['finishing', 'none'],
    ['done', 'record'],
    ['error', 'record']
  ])('in %s a click does %s', (state, action) => {
    expect(clickAction(state)).toBe(action);
  });
});

describe('buttonLook', () => {
  it('shows Stop, pressed, only while recording', () => {
    for (const state of ALL) {
      const look = buttonLook(state);
      const recording = state === 'recording';
      expect(look.label).toBe(recording ? 'Stop' : 'Record');
      expect(look.ariaLabel).toBe(recording ? 'Stop recording' : 'Start recording');
      expect(look.pressed).toBe(recording);
    }
  });

  it('marks the button waiting exactly when a click does nothing', () => {
    for (const state of ALL) {
      expect(buttonLook(state).waiting).toBe(clickAction(state) === 'none');
    }
    expect(buttonLook('connecting').waiting).toBe(true);
    expect(buttonLook('recording').waiting).toBe(false);
  });

  it('locks the settings while a recording is set up, runs or finishes', () => {
    const busy = ALL.filter(state => buttonLook(state).busy);
    expect(busy).toEqual(['connecting', 'recording', 'finishing']);
  });
});
