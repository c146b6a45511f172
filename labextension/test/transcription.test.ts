/** The live-speech socket's pure parts: parsing server messages, the URL, the result checks. */
import type { FinalMessage } from '../src/protocol';
import { connectionFromConfig } from '../src/recorder/connection';
import { correctionNote } from '../src/recorder/final';
import { isFinal } from '../src/recorder/model';
import { STREAM_PATH, parseMessage, streamUrl } from '../src/recorder/transcription';

const final: FinalMessage = {
  type: 'final',
  raw: 'helo world',
  text: 'Hello, world.',
  language: 'en',
  duration: 1.5,
  segments: [{ start: 0, end: 1.5, text: 'helo world' }],
  correction: {
    raw: 'helo world',
    corrected: 'Hello, world.',
    degraded: false,
    reason: null,
    language: 'en',
    model: 'demo-llm',
    route: 'primary',
    changes: [],
    timings: { total_ms: 12 }
  },
  timings: { finish_transcribe_ms: 5, correct_ms: 12, finish_ms: 20 }
};

describe('parseMessage', () => {
  it('reads each server message by its type', () => {
    const partial = {
      type: 'partial',
      confirmed: 'hello',
      tentative: 'wor',
      segment: 0,
      audio_s: 1
    };
    expect(parseMessage(JSON.stringify(partial))).toEqual(partial);
    expect(parseMessage(JSON.stringify(final))).toEqual(final);
    const error = { type: 'error', status: 429, message: 'busy', retry_after: 2 };
    expect(parseMessage(JSON.stringify(error))?.type).toBe('error');
  });

  it.each([
    ['binary frames', new ArrayBuffer(4)],
    ['text that is not JSON', 'hello {'],
    ['JSON that is not an object', '"final"'],
    ['null', 'null'],
    ['an array', '[1, 2]'],
    ['an object without a type', '{"text": "hi"}']
  ])('gives null for %s', (_name, data) => {
    expect(parseMessage(data)).toBeNull();
  });
});

describe('streamUrl', () => {
  it('puts the path under the base URL and the token in the query, encoded', () => {
    expect(streamUrl('ws://host:8888/lab/', STREAM_PATH, 'a b&c')).toBe(
      'ws://host:8888/lab/neira/api/transcribe/stream?token=a%20b%26c'
    );
  });

  it('leaves the query out without a token', () => {
    expect(streamUrl('wss://h/', 'x/y', '')).toBe('wss://h/x/y');
  });
});

describe('connectionFromConfig', () => {
  it('derives the WebSocket URL from the base URL of the page', () => {
    const text = JSON.stringify({ baseUrl: '/user/ann/', token: 'tok' });
    expect(connectionFromConfig(text, 'https://hub.example/user/ann/lab')).toEqual({
      wsUrl: 'wss://hub.example/user/ann/',
      token: 'tok'
    });
  });

  it('takes wsUrl as given, ending it in a slash', () => {
    const text = JSON.stringify({ wsUrl: 'ws://other:9000/base' });
    expect(connectionFromConfig(text, 'http://localhost:8888/lab')).toEqual({
      wsUrl: 'ws://other:9000/base/',
      token: ''
    });
  });

  it('gives null for a config that is not JSON', () => {
    expect(connectionFromConfig('{', 'http://localhost/')).toBeNull();
  });
});

describe('final results', () => {
  it('tells a final message from the empty result', () => {
    expect(isFinal(final)).toBe(true);
    expect(isFinal({})).toBe(false);
    expect(isFinal(null)).toBe(false);
  });

  it('says who corrected the text, or why not', () => {
    expect(correctionNote(final)).toBe('Corrected by demo-llm.');
    expect(correctionNote({ ...final, correction: null })).toBe('Correction was off.');
    const correction = final.correction && {
      ...final.correction,
      degraded: true,
      reason: 'no LLM'
    };
    expect(correctionNote({ ...final, correction })).toBe('Not corrected: no LLM');
  });
});
