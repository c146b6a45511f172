/** The live transcript: corrected segments grow behind the words still being heard. */
import type { CorrectedMessage, PartialMessage } from '../src/protocol';
import { LiveText, liveLine } from '../src/recorder/liveText';

function partial(confirmed: string, tentative: string, segment = 0): PartialMessage {
  return { type: 'partial', confirmed, tentative, segment, audio_s: 1 };
}

function corrected(first: number, raw: string, text: string, covered: number): CorrectedMessage {
  return {
    type: 'corrected',
    first,
    end: first + 1,
    raw,
    text,
    degraded: false,
    reason: null,
    covered_words: covered
  };
}

describe('LiveText', () => {
  it('shows the corrected segments, then the confirmed words they do not cover', () => {
    const live = new LiveText();
    expect(live.heard(partial('hello world how', 'are'))).toEqual({
      corrected: '',
      confirmed: 'hello world how',
      tentative: 'are'
    });
    live.heard(partial('hello world how are you today', '', 1));
    // the first segment ("hello world") is corrected while "how are you today" is heard
    expect(live.corrected(corrected(0, 'hello world', 'Hello, world.', 2))).toEqual({
      corrected: 'Hello, world.',
      confirmed: 'how are you today',
      tentative: ''
    });
    live.corrected(corrected(1, 'how are you today', 'How are you today?', 6));
    const parts = live.heard(partial('hello world how are you today see', 'you', 2));
    expect(liveLine(parts)).toBe('Hello, world. How are you today? see you');
    live.reset();
    expect(liveLine(live.parts())).toBe('');
  });

  it('keeps the raw words of a rejected correction as the server sent them', () => {
    const live = new LiveText();
    live.heard(partial('helo world', ''));
    const rejected = { ...corrected(0, 'helo world', 'helo world', 2), degraded: true };
    expect(liveLine(live.corrected(rejected))).toBe('helo world');
  });
});
