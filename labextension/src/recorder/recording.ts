/**
 * One recording: the microphone (`./capture`) streaming into a transcription
 * socket (`./transcription`). The Recorder widget and the lab extension's
 * Dictate command both record through it.
 */
import { Capture, startCapture } from './capture';
import { Transcription, TranscriptionOptions, openTranscription } from './transcription';

/** Where to stream and what to call: the socket's callbacks, and the level of each chunk. */
export interface RecordingOptions extends TranscriptionOptions {
  onLevel?: (rms: number) => void;
}

/**
 * The socket opens when the recording is made; `start()` then opens the
 * microphone. `stop()` asks for the final result, `close()` abandons the
 * recording; both release the microphone.
 */
export class Recording {
  private readonly transcription: Transcription;
  private capture: Capture | null = null;
  /** Set by `stop()` and `close()`: a microphone that opens later is released at once. */
  private ended = false;

  constructor(private readonly options: RecordingOptions) {
    this.transcription = openTranscription({
      ...options,
      onNotice: message => {
        // the server ended the stream (its length limit): the microphone is no longer heard
        this.ended = true;
        void this.releaseMicrophone();
        options.onNotice?.(message);
      }
    });
  }

  /**
   * Opens the microphone (rejects with a `CaptureError`); resolves to false
   * when the recording was stopped or closed meanwhile (its microphone is
   * released then).
   */
  async start(): Promise<boolean> {
    const capture = await startCapture({
      onChunk: pcm => this.transcription.send(pcm),
      onLevel: this.options.onLevel
    });
    if (this.ended) {
      await capture.stop();
      return false;
    }
    this.capture = capture;
    return true;
  }

  /** Releases the microphone and asks for the final result (`onFinal` or `onError` follows). */
  async stop(): Promise<void> {
    this.ended = true;
    await this.releaseMicrophone();
    this.transcription.stop();
  }

  /** Closes the socket (no callback follows) and releases the microphone. */
  async close(): Promise<void> {
    this.ended = true;
    this.transcription.close();
    await this.releaseMicrophone();
  }

  private async releaseMicrophone(): Promise<void> {
    const capture = this.capture;
    this.capture = null;
    if (capture) await capture.stop();
  }
}
