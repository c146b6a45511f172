/** What dictation writes into the indicator and the cell, and the recorder's clock text. */
import { appendDictated, insertedText, partialText } from '../src/dictationText';
import type { FinalMessage } from '../src/protocol';
import { formatTime } from '../src/recorder/elements';
import type { LiveParts } from '../src/recorder/liveText';

function partial(confirmed: string, tentative: string, corrected = ''): LiveParts {
  return { corrected, confirmed, tentative };
}

function final(text: string, correction: FinalMessage['correction']): FinalMessage {
  return {
    type: 'final',
    raw: text,
    text,
    language: 'en',
    duration: 1,
    segments: [],
    correction,
    timings: { finish_transcribe_ms: null, correct_ms: null, finish_ms: null }
  };
}

describe('partialText', () => {
  it('joins the corrected text, the confirmed words and the tentative tail', () => {
    expect(partialText(partial('hello', 'wor'))).toBe('hello wor');
    expect(partialText(partial('hello', ''))).toBe('hello');
    expect(partialText(partial('', 'an', 'Hi there.'))).toBe('Hi there. an');
  });

  it('says it is listening before any word', () => {
    expect(partialText(partial('', ''))).toBe('Listening…');
  });
});

describe('appendDictated', () => {
  it.each([
    ['', 'Hello.', 'Hello.'],
    ['x = 1', 'Hello.', 'x = 1 Hello.'],
    ['x = 1 ', 'Hello.', 'x = 1 Hello.'],
    ['x = 1\n', 'Hello.', 'x = 1\nHello.']
  ])('appends to %p', (source, text, expected) => {
    expect(appendDictated(source, text)).toBe(expected);
  });
});

describe('insertedText', () => {
  it('shows the text, and why it was not corrected', () => {
    expect(insertedText(final('Hello.', null))).toBe('Hello.');
    const degraded: FinalMessage['correction'] = {
      raw: 'hello',
      corrected: 'hello',
      degraded: true,
      reason: 'the LLM is busy',
      language: 'en',
      model: null,
      route: null,
      changes: [],
      timings: { total_ms: null }
    };
    expect(insertedText(final('hello', degraded))).toBe('hello (not corrected: the LLM is busy)');
  });
});

describe('formatTime', () => {
  it.each([
    [0, '0:00.0'],
    [1250, '0:01.3'],
    [59_949, '0:59.9'],
    [61_000, '1:01.0'],
    [600_000, '10:00.0']
  ])('shows %p ms as %s', (ms, text) => {
    expect(formatTime(ms)).toBe(text);
  });
});
