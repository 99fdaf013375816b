/**
 * How an agent cell looks, derived only from its `metadata.jupyter_agents` (docs/protocol.md,
 * "Cell metadata"). Deriving it from the saved metadata, never from live run state, is what
 * makes a reopened notebook look the same as during the run.
 */
import { isObject } from './protocol';

/** The provenance key in a cell's metadata. */
export const METADATA_KEY = 'jupyter_agents';

export const STATUSES = ['pending', 'approved', 'edited', 'auto', 'rejected'] as const;
export type AgentStatus = (typeof STATUSES)[number];

/** Every class this extension may put on a cell, so a change can remove the old one. */
export const LOOK_CLASSES = [...STATUSES.map(statusClass), 'jp-agents-prompt', 'jp-agents-section'];

export interface ICellLook {
  /** A `jp-agents-*` class for the cell node, or null when the status is not one we know. */
  className: string | null;
  /** The badge text, e.g. "analyst · step 2 · pending"; null for the `%agent` cell. */
  badge: string | null;
}

/** The look of a cell with this provenance, or null for a cell the agent did not touch. */
export function cellLook(provenance: unknown): ICellLook | null {
  if (!isObject(provenance)) {
    return null;
  }
  if (provenance.prompt === true) {
    return { className: 'jp-agents-prompt', badge: null };
  }
  if (typeof provenance.section === 'string' && provenance.step === undefined) {
    // A crew's section heading: tagged with the role that owns the section.
    const owner =
      typeof provenance.role === 'string' && provenance.role ? provenance.role : 'agent';
    return { className: 'jp-agents-section', badge: `${owner} · section` };
  }
  const status = knownStatus(provenance.status);
  const role =
    typeof provenance.role === 'string' && provenance.role !== '' ? provenance.role : 'agent';
  const parts = [role];
  if (typeof provenance.step === 'number') {
    parts.push(`step ${provenance.step}`);
  }
  if (status) {
    parts.push(status);
  }
  // A cell that did not run to its end (interrupted, past its time limit, or running when
  // the kernel went away): `jupyter agents replay` skips it, so the reader must see it.
  if (provenance.interrupted === true) {
    parts.push('cut short');
  } else if (provenance.running === true) {
    parts.push('running');
  }
  return { className: status ? statusClass(status) : null, badge: parts.join(' · ') };
}

/** The status of a cell's provenance, when it is one of the protocol's. */
export function knownStatus(status: unknown): AgentStatus | null {
  return STATUSES.find(known => known === status) ?? null;
}

function statusClass(status: AgentStatus): string {
  return `jp-agents-${status}`;
}
