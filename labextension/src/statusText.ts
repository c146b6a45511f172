/**
 * The status document as text: the status item's label and the panel's
 * sections, with the small formatters they use. Pure (no DOM, no JupyterLab
 * imports): `./status` draws what these return, and the unit tests
 * (labextension/test/) check it.
 */
import type { MemoryStatus, StatusDocument } from './protocol';

/** Switches shown in the panel, newest first. */
export const RECENT_SWITCHES = 10;

/** A `key: value` row of a panel section. */
export type Row = [string, string];

/** A titled section of `key: value` rows. */
export interface RowsSection {
  kind: 'rows';
  title: string;
  rows: Row[];
}

/** A titled table; `empty` is shown instead when there are no rows. */
export interface TableSection {
  kind: 'table';
  title: string;
  columns: string[];
  rows: string[][];
  empty: string;
}

/** One section of the status panel. */
export type Section = RowsSection | TableSection;

/** The status item's text, its tooltip and its `aria-label`. */
export interface StatusLabel {
  text: string;
  title: string;
  ariaLabel: string;
}

/** Memory in MiB as a short figure: "20.0 GiB", "900 MiB", or "?" before a reading. */
export function formatMiB(mib: number | null | undefined): string {
  if (mib === null || mib === undefined) return '?';
  return mib >= 1024 ? `${(mib / 1024).toFixed(1)} GiB` : `${mib.toFixed(0)} MiB`;
}

/** The memory part of the status item: free memory and the pressure level. */
export function memoryLabel(memory: MemoryStatus): string {
  return `${formatMiB(memory.free_mib)} free (${memory.level})`;
}

/** A Unix time as the local clock time, e.g. "14:03:07". */
export function formatClock(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toLocaleTimeString();
}

/** The status item for `status`: model, route, memory and queue. */
export function statusLabel(status: StatusDocument): StatusLabel {
  const route = status.route.backend;
  const model = status.route.model ?? 'no model';
  const memory = memoryLabel(status.memory);
  return {
    text: `neira: ${model} · ${route} · ${memory} · ${status.queue.depth} queued`,
    title: `${status.route.reason}\nClick for models, memory, queue and route switches.`,
    ariaLabel:
      `neira status: model ${model}, route ${route}, memory ${memory}, ` +
      `${status.queue.depth} queued. Open the status panel.`
  };
}

/** The status item when the server cannot be asked; `message` says why. */
export function unavailableLabel(message: string): StatusLabel {
  return {
    text: 'neira: unavailable',
    title: message,
    ariaLabel: `neira unavailable: ${message}`
  };
}

/** The status document as the panel's sections: route, models, memory, queue, switches, server. */
export function statusSections(status: StatusDocument): Section[] {
  const route = status.route;
  const memory = status.memory;
  const queue = status.queue;
  return [
    {
      kind: 'rows',
      title: 'Route',
      rows: [
        ['backend', route.backend],
        ['model', route.model ?? 'no model'],
        ['why', route.reason],
        ['since', formatClock(route.since)]
      ]
    },
    {
      kind: 'table',
      title: 'Models',
      columns: ['role', 'name', 'state', 'device', 'size'],
      rows: status.models.map(m => [
        m.role,
        m.name,
        m.error ? `${m.state}: ${m.error}` : m.state,
        m.device,
        m.memory_bytes ? formatMiB(m.memory_bytes / 2 ** 20) : '-'
      ]),
      empty: 'No models configured.'
    },
    {
      kind: 'rows',
      title: 'Memory',
      rows: [
        ['pressure', memory.level],
        ['free', formatMiB(memory.free_mib)],
        ['why', memory.reason],
        ['source', memory.source],
        ...memory.readings.map((r): Row => [
          r.device,
          `${r.name}: ${formatMiB(r.free_mib)} free of ${formatMiB(r.total_mib)}`
        ]),
        ...(memory.error ? [['error', memory.error] as Row] : [])
      ]
    },
    {
      kind: 'rows',
      title: 'Queue',
      rows: [
        ['running', String(queue.running)],
        ['waiting', `${queue.depth} of ${queue.capacity}`],
        ['per user', queue.per_user ? String(queue.per_user) : 'no cap'],
        ...Object.entries(queue.lanes).map(([lane, l]): Row => [
          `lane ${lane}`,
          `${l.running} running, ${l.queued} queued`
        ])
      ]
    },
    {
      kind: 'table',
      title: 'Recent route switches',
      columns: ['time', 'from', 'to', 'why'],
      rows: status.switches
        .slice(-RECENT_SWITCHES)
        .reverse()
        .map(s => [formatClock(s.time), s.from, s.to, s.reason]),
      empty: 'No route switches since the server started.'
    },
    {
      kind: 'rows',
      title: 'Server',
      rows: [
        ['version', `neira ${status.version}${status.demo ? ' (demo models)' : ''}`],
        ['LLM', status.llm_enabled ? 'enabled' : 'disabled'],
        ...status.notes.map((note): Row => ['note', note])
      ]
    }
  ];
}
