/** The status item's label and the status panel's sections, from a status document. */
import type { StatusDocument } from '../src/protocol';
import {
  RECENT_SWITCHES,
  formatClock,
  formatMiB,
  memoryLabel,
  statusLabel,
  statusSections,
  unavailableLabel
} from '../src/statusText';

function statusDocument(): StatusDocument {
  return {
    version: '0.1.0',
    demo: true,
    notes: ['demo models'],
    llm_enabled: true,
    route: {
      backend: 'primary',
      model: 'qwen-0.5b',
      reason: 'primary ready',
      since: 0,
      pressure: 'ok'
    },
    models: [
      {
        name: 'qwen-0.5b',
        kind: 'llm',
        role: 'primary',
        file: 'qwen.gguf',
        state: 'ready',
        error: null,
        device: 'cpu',
        memory_bytes: 512 * 2 ** 20,
        n_ctx: 2048,
        multilingual: null,
        url: null,
        batch: null
      },
      {
        name: 'whisper-tiny',
        kind: 'speech',
        role: 'speech',
        file: 'tiny',
        state: 'failed',
        error: 'no such file',
        device: 'cpu',
        memory_bytes: 0,
        n_ctx: null,
        multilingual: true,
        url: null,
        batch: null
      }
    ],
    memory: {
      source: 'host',
      level: 'high',
      reason: 'free memory below 2 GiB',
      free_mib: 1536,
      readings: [{ device: 'host', kind: 'host', name: 'RAM', free_mib: 1536, total_mib: 16384 }],
      updated: 0,
      error: null,
      interval_s: 2,
      thresholds: { low_mib: 2048, recover_mib: 3072, recover_s: 30, critical_mib: 512 }
    },
    switches: [],
    backends: {},
    queue: {
      depth: 3,
      running: 1,
      capacity: 64,
      per_user: 0,
      running_ids: [],
      lanes: { llm: { running: 1, queued: 3 } }
    },
    speech_lane: null,
    time: 0
  };
}

/** The rows of the section titled `title`. */
function rowsOf(status: StatusDocument, title: string): string[][] {
  const section = statusSections(status).find(s => s.title === title);
  if (!section) throw new Error(`no section ${title}`);
  return section.rows;
}

describe('formatMiB', () => {
  it.each<[number | null | undefined, string]>([
    [null, '?'],
    [undefined, '?'],
    [0, '0 MiB'],
    [900.4, '900 MiB'],
    [1023, '1023 MiB'],
    [1024, '1.0 GiB'],
    [20480, '20.0 GiB']
  ])('formats %p as %s', (mib, text) => {
    expect(formatMiB(mib)).toBe(text);
  });
});

describe('the status item', () => {
  it('shows model, route, memory and queue', () => {
    const status = statusDocument();
    expect(memoryLabel(status.memory)).toBe('1.5 GiB free (high)');
    const label = statusLabel(status);
    expect(label.text).toBe('neira: qwen-0.5b · primary · 1.5 GiB free (high) · 3 queued');
    expect(label.title).toBe('primary ready\nClick for models, memory, queue and route switches.');
    expect(label.ariaLabel).toBe(
      'neira status: model qwen-0.5b, route primary, memory 1.5 GiB free (high), 3 queued. ' +
        'Open the status panel.'
    );
  });

  it('says when there is no model, and when the server cannot be asked', () => {
    const status = statusDocument();
    status.route = { ...status.route, backend: 'degraded', model: null };
    expect(statusLabel(status).text).toBe(
      'neira: no model · degraded · 1.5 GiB free (high) · 3 queued'
    );
    expect(unavailableLabel('cannot reach the server')).toEqual({
      text: 'neira: unavailable',
      title: 'cannot reach the server',
      ariaLabel: 'neira unavailable: cannot reach the server'
    });
  });
});

describe('the status panel', () => {
  it('has its sections in order', () => {
    expect(statusSections(statusDocument()).map(s => [s.kind, s.title])).toEqual([
      ['rows', 'Route'],
      ['table', 'Models'],
      ['rows', 'Memory'],
      ['rows', 'Queue'],
      ['table', 'Recent route switches'],
      ['rows', 'Server']
    ]);
  });

  it('lists the models with their errors and sizes', () => {
    expect(rowsOf(statusDocument(), 'Models')).toEqual([
      ['primary', 'qwen-0.5b', 'ready', 'cpu', '512 MiB'],
      ['speech', 'whisper-tiny', 'failed: no such file', 'cpu', '-']
    ]);
  });

  it('lists memory readings, and the error only when there is one', () => {
    const status = statusDocument();
    expect(rowsOf(status, 'Memory')).toEqual([
      ['pressure', 'high'],
      ['free', '1.5 GiB'],
      ['why', 'free memory below 2 GiB'],
      ['source', 'host'],
      ['host', 'RAM: 1.5 GiB free of 16.0 GiB']
    ]);
    status.memory = { ...status.memory, error: 'nvml failed' };
    const rows = rowsOf(status, 'Memory');
    expect(rows[rows.length - 1]).toEqual(['error', 'nvml failed']);
  });

  it('shows the queue with its lanes and the per-user cap', () => {
    const status = statusDocument();
    expect(rowsOf(status, 'Queue')).toEqual([
      ['running', '1'],
      ['waiting', '3 of 64'],
      ['per user', 'no cap'],
      ['lane llm', '1 running, 3 queued']
    ]);
    status.queue = { ...status.queue, per_user: 4 };
    expect(rowsOf(status, 'Queue')[2]).toEqual(['per user', '4']);
  });

  it('shows the recent route switches, newest first', () => {
    const status = statusDocument();
    expect(rowsOf(status, 'Recent route switches')).toEqual([]);
    status.switches = Array.from({ length: RECENT_SWITCHES + 5 }, (_, i) => ({
      time: i,
      from: 'primary',
      to: 'fallback',
      reason: `switch ${i}`
    }));
    const rows = rowsOf(status, 'Recent route switches');
    expect(rows).toHaveLength(RECENT_SWITCHES);
    expect(rows[0]).toEqual([formatClock(RECENT_SWITCHES + 4), 'primary', 'fallback', 'switch 14']);
    expect(rows[rows.length - 1][3]).toBe('switch 5');
  });

  it('names the server version, the demo models and the notes', () => {
    expect(rowsOf(statusDocument(), 'Server')).toEqual([
      ['version', 'neira 0.1.0 (demo models)'],
      ['LLM', 'enabled'],
      ['note', 'demo models']
    ]);
  });
});
