/**
 * A microphone button in Jupyter's chat input: speak, and the text lands in
 * the input to edit or send (docs/chat.md).
 *
 * The button is added beside the input's own buttons (`.jp-chat-input-toolbar`)
 * of every chat input on the page, found by a `MutationObserver`, so it
 * does not depend on which plugin provides the toolbar. It records with the
 * Recorder's `Recording` (the microphone streaming to
 * `neira/api/transcribe/stream`, the Dictate command's language and
 * correction settings): partial transcripts appear in the input while you
 * speak, and the final (corrected) text replaces them. The input's value is
 * set as typing would, so the chat's own model follows.
 */
import { ServerConnection } from '@jupyterlab/services';

import { appendDictated, partialText } from './dictationText';
import { LiveText } from './recorder/liveText';
import { Recording } from './recorder/recording';
import type { Language } from './recorder/transcription';

const BUTTON_CLASS = 'neira-chat-mic';
const MIC_SVG =
  '<svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true"><path fill="currentColor" ' +
  'd="M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5-3a5 5 0 0 1-10 0H5a7 7 0 0 0 6 ' +
  '6.92V21h2v-3.08A7 7 0 0 0 19 11z"/></svg>';

/** What the microphone uses: the Dictate command's settings. */
export interface IMicrophoneSettings {
  language: Language;
  correct: boolean;
}

/** Set a React-controlled textarea's value as the user's typing would. */
function setInput(input: HTMLTextAreaElement, text: string): void {
  const setter = Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, 'value')?.set;
  setter?.call(input, text);
  input.dispatchEvent(new Event('input', { bubbles: true }));
}

/** One chat input's microphone button and its recording. */
class ChatMicrophone {
  readonly button: HTMLButtonElement;
  private recording: Recording | null = null;
  private before = '';

  constructor(
    private readonly container: Element,
    private readonly settings: () => IMicrophoneSettings
  ) {
    this.button = document.createElement('button');
    this.button.type = 'button';
    this.button.className = `${BUTTON_CLASS} jp-Button`;
    this.button.innerHTML = MIC_SVG;
    this.label(false);
    this.button.addEventListener('click', () => void this.toggle());
  }

  private get input(): HTMLTextAreaElement | null {
    return this.container.querySelector('textarea');
  }

  private label(recording: boolean): void {
    const text = recording ? 'Stop dictating' : 'Dictate into the chat';
    this.button.title = text;
    this.button.setAttribute('aria-label', text);
    this.button.setAttribute('aria-pressed', String(recording));
    this.button.dataset.state = recording ? 'recording' : 'idle';
  }

  private show(text: string): void {
    const input = this.input;
    if (input) setInput(input, appendDictated(this.before, text));
  }

  async toggle(): Promise<void> {
    if (this.recording) {
      this.button.dataset.state = 'finishing';
      await this.recording.stop();
      return;
    }
    const server = ServerConnection.makeSettings();
    const { language, correct } = this.settings();
    this.before = this.input?.value ?? '';
    this.label(true);
    const live = new LiveText();
    const recording = new Recording({
      wsUrl: server.wsUrl,
      token: server.token,
      language,
      correct,
      onPartial: message => {
        if (this.recording === recording) this.show(partialText(live.heard(message)));
      },
      onCorrected: message => {
        if (this.recording === recording) this.show(partialText(live.corrected(message)));
      },
      onFinal: message => {
        this.show(message.text);
        this.end(recording);
      },
      onError: message => {
        console.warn('neira: chat dictation failed:', message);
        this.show('');
        this.end(recording);
      }
    });
    this.recording = recording;
    try {
      await recording.start();
    } catch (error) {
      console.warn('neira: no microphone for the chat', error);
      await recording.close();
      this.end(recording);
    }
  }

  private end(recording: Recording): void {
    if (this.recording !== recording) return;
    this.recording = null;
    this.label(false);
    this.input?.focus();
  }
}

/** Add a microphone button to every chat input that appears on the page. */
export function addChatMicrophones(settings: () => IMicrophoneSettings): void {
  const attach = (): void => {
    document.querySelectorAll('.jp-chat-input-container').forEach(container => {
      const toolbar = container.querySelector('.jp-chat-input-toolbar');
      if (!toolbar) return;
      const button =
        toolbar.querySelector(`.${BUTTON_CLASS}`) ?? new ChatMicrophone(container, settings).button;
      // among the chat's own buttons, just before "attach" (or before "send" at the end)
      const attach = toolbar.querySelector('.jp-chat-attach-button');
      const before = attach?.closest('.jp-chat-input-toolbar > *') ?? toolbar.lastElementChild;
      if (before && before !== button && button.nextElementSibling !== before) {
        toolbar.insertBefore(button, before);
      }
    });
  };
  let pending = false;
  const schedule = (): void => {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(() => {
      pending = false;
      attach();
    });
  };
  new MutationObserver(schedule).observe(document.body, { childList: true, subtree: true });
  attach();
}
