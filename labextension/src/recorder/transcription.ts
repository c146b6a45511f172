/**
 * The client of the live-speech socket, `WS neira/api/transcribe/stream`.
 *
 * It speaks the protocol's messages (`../protocol`, generated from
 * neira_jupyter/protocol): `StreamStart` when the socket opens, binary PCM
 * frames, `StreamStop`; back come `StartedMessage`, `PartialMessage`s and
 * `CorrectedMessage`s (segments corrected while the user speaks), then one
 * `FinalMessage` or an `ErrorEvent`. An error with status 413 is the
 * stream's length limit: the server keeps what it heard and its final
 * follows, so it goes to `onNotice`, not `onError`.
 */
import type {
  CorrectedMessage,
  FinalMessage,
  PartialMessage,
  StreamMessage,
  StreamStart,
  StreamStop
} from '../protocol';

/** The streaming endpoint, relative to the server's base URL. */
export const STREAM_PATH = 'neira/api/transcribe/stream';

/** The status of the error that says the stream reached its length limit (a final follows). */
export const LIMIT_STATUS = 413;

/** A speech language the server accepts. */
export type Language = NonNullable<StreamStart['language']>;

/** Where to connect, what to ask for, and what to call as messages arrive. */
export interface TranscriptionOptions {
  wsUrl: string;
  token: string;
  path?: string;
  language?: Language;
  correct?: boolean;
  onPartial?: (message: PartialMessage) => void;
  /** A segment's correction, sent while the stream goes on. */
  onCorrected?: (message: CorrectedMessage) => void;
  onFinal?: (message: FinalMessage) => void;
  /** The server ended the stream by itself (its length limit); the final follows. */
  onNotice?: (message: string) => void;
  /** Called once, with a sentence for the user, when the stream fails. */
  onError?: (message: string) => void;
}

/** An open stream: `send` PCM (queued until the socket opens), `stop` for the final, `close`. */
export interface Transcription {
  send(pcm: ArrayBuffer): void;
  stop(): void;
  close(): void;
}

/** A server message, or null for anything that is not a JSON object with a `type`. */
export function parseMessage(data: unknown): StreamMessage | null {
  if (typeof data !== 'string') return null;
  try {
    const message: unknown = JSON.parse(data);
    return typeof message === 'object' && message !== null && 'type' in message
      ? (message as StreamMessage)
      : null;
  } catch {
    return null;
  }
}

/** The socket's URL: `path` under the server's WebSocket base URL, with the token as a query. */
export function streamUrl(wsUrl: string, path: string, token: string): string {
  const url = wsUrl + path;
  return token ? `${url}?token=${encodeURIComponent(token)}` : url;
}

/** Opens a transcription stream. */
export function openTranscription({
  wsUrl,
  token,
  path = STREAM_PATH,
  language = 'auto',
  correct = true,
  onPartial,
  onCorrected,
  onFinal,
  onNotice,
  onError
}: TranscriptionOptions): Transcription {
  const socket = new WebSocket(streamUrl(wsUrl, path, token));
  socket.binaryType = 'arraybuffer';
  const queue: Array<ArrayBuffer | string> = [];
  let open = false;
  let done = false;
  const fail = (message: string): void => {
    if (done) return;
    done = true;
    onError?.(message);
  };
  const send = (item: ArrayBuffer | string): void => {
    if (done) return;
    if (open && socket.readyState === WebSocket.OPEN) socket.send(item);
    else queue.push(item);
  };
  socket.onopen = () => {
    open = true;
    const start: StreamStart = { type: 'start', language, correct };
    socket.send(JSON.stringify(start));
    for (const item of queue.splice(0)) socket.send(item);
  };
  socket.onmessage = (event: MessageEvent<unknown>) => {
    const message = parseMessage(event.data);
    if (message?.type === 'partial') {
      onPartial?.(message);
    } else if (message?.type === 'corrected') {
      onCorrected?.(message);
    } else if (message?.type === 'error' && message.status === LIMIT_STATUS) {
      onNotice?.(message.message);
    } else if (message?.type === 'final') {
      done = true;
      onFinal?.(message);
      socket.close();
    } else if (message?.type === 'error') {
      fail(message.message || 'the server reported an error');
      socket.close();
    }
  };
  socket.onerror = () => fail('Could not reach the neira speech service on the Jupyter server.');
  socket.onclose = (event: CloseEvent) => {
    if (!done) fail(`The connection to the speech service closed (code ${event.code}).`);
  };
  const stop: StreamStop = { type: 'stop' };
  return {
    send,
    stop: () => send(JSON.stringify(stop)),
    close: () => {
      done = true;
      if (socket.readyState <= WebSocket.OPEN) socket.close();
    }
  };
}
