/**
 * The kernel ⇄ frontend notebook protocol, version 2 (docs/protocol.md), frontend side.
 *
 * Pure logic with no JupyterLab runtime imports, so it is unit-tested on its own: message
 * shapes, argument validation, the handshake decision, and a dispatcher that maps each
 * request onto a small `INotebookHost` and builds the reply. How a request touches the
 * notebook is the host's business (host.ts).
 */
import type { JSONObject, JSONValue } from '@lumino/coreutils';

/** The comm target the kernel opens, one comm per agent run. */
export const TARGET_NAME = 'jupyter_agents.notebook';
export const PROTOCOL_NAME = 'jupyter-agents';
/**
 * The only major version this frontend speaks. Version 2 batches a step's requests:
 * `insert_cell` and `update_cell` also start and stop output capture, add tags and store the
 * run's record, and version 1's `capture_outputs` and `release_outputs` are gone.
 */
export const PROTOCOL_VERSION = 2;

/** The `comm_open` data, once validated. */
export interface IHandshake {
  protocol: typeof PROTOCOL_NAME;
  version: typeof PROTOCOL_VERSION;
  run_id: string;
  anchor_cell_id: string;
  model?: string | null;
  role?: string | null;
  /** `undo` when a click on a run's Undo run asks to remove its cells (see isUndoHandshake). */
  purpose?: string | null;
}

/** The handshake's `purpose` when a click on a run's Undo run asks to remove the run's cells. */
export const UNDO_PURPOSE = 'undo';

/**
 * Whether a handshake was opened by a click rather than by an executing cell.
 *
 * No cell executes behind a click on the ended run's Undo run button, so the frontend that
 * answers is not the one that sent an execute request but the one whose kernel connection
 * sent the message that asked (the click's widget message): the comm_open's parent.
 */
export function isUndoHandshake(data: unknown): boolean {
  return isObject(data) && data.purpose === UNDO_PURPOSE;
}

export type Hello =
  | {
      op: 'hello';
      version: typeof PROTOCOL_VERSION;
      accepted: true;
      client: string;
      client_version: string;
    }
  | {
      op: 'hello';
      version: typeof PROTOCOL_VERSION;
      accepted: false;
      reason: string;
    };

/** Who answers the handshake, e.g. `{name: 'jupyterlab', version: '4.6.6'}`. */
export interface IClientInfo {
  name: string;
  version: string;
}

/**
 * The answer to a `comm_open`, or `null` for "not mine: stay silent".
 *
 * Several notebooks may share a kernel, so only the frontend that holds the anchor cell (the
 * `%agent` cell) may answer at all; every other one must neither reply nor close the comm.
 * The holder refuses what it cannot speak instead of ignoring it, so the kernel learns at
 * once that it should fall back to its widget. So does a console of this app that ran the
 * `%agent` line (`inConsole`): it has no notebook to write cells into, and silence would
 * leave the kernel waiting out its handshake timeout.
 */
export function answerHandshake(
  data: unknown,
  holdsAnchor: (cellId: string) => boolean,
  client: IClientInfo,
  inConsole: (cellId: string) => boolean = () => false
): Hello | null {
  if (!isObject(data) || typeof data.anchor_cell_id !== 'string') {
    return null;
  }
  if (!holdsAnchor(data.anchor_cell_id)) {
    return inConsole(data.anchor_cell_id)
      ? refuse("a console has no notebook to write the agent's cells into")
      : null;
  }
  if (data.protocol !== PROTOCOL_NAME) {
    return refuse(`unknown protocol ${JSON.stringify(data.protocol ?? null)}`);
  }
  if (data.version !== PROTOCOL_VERSION) {
    return refuse(
      `protocol version ${JSON.stringify(data.version ?? null)} is not supported ` +
        `(this frontend speaks version ${PROTOCOL_VERSION})`
    );
  }
  if (typeof data.run_id !== 'string' || data.run_id === '') {
    return refuse('the handshake has no run_id');
  }
  return {
    op: 'hello',
    version: PROTOCOL_VERSION,
    accepted: true,
    client: client.name,
    client_version: client.version
  };
}

function refuse(reason: string): Hello {
  return { op: 'hello', version: PROTOCOL_VERSION, accepted: false, reason };
}

export type CellType = 'code' | 'markdown';

/** One nbformat output, as the kernel sends it in `update_cell`. */
export type Output = JSONObject;

export interface INewCell {
  /** The id the kernel chose, so it knows the cell even if it never sees the reply. */
  id: string;
  cell_type: CellType;
  source: string;
  metadata: JSONObject;
}

/** The fields `update_cell` may change; absent fields are left alone. */
export interface ICellChanges {
  source?: string;
  metadata?: JSONObject;
  execution_count?: number | null;
  outputs?: Output[];
}

export interface ICellContent {
  cell_type: string;
  source: string;
  metadata: JSONObject;
}

export interface INotebookCell {
  id: string;
  cell_type: string;
  source: string;
  execution_count: number | null;
  /** Only the cell's `jupyter_agents` entry (provenance, section), if it has one. */
  metadata: JSONObject;
}

/**
 * The notebook as the protocol sees it. Methods throw an `Error` with a one-line message
 * (for example for an unknown cell id); the dispatcher turns it into an `ok: false` reply.
 */
export interface INotebookHost {
  /**
   * Insert a cell with the given id directly after `after`, without selecting, focusing or
   * running it. An id already in the notebook is an error.
   */
  insertCell(after: string, cell: INewCell): string;
  updateCell(cellId: string, changes: ICellChanges): void;
  readCell(cellId: string): ICellContent;
  deleteCell(cellId: string): void;
  readNotebook(): INotebookCell[];
  /** The notebook's own `jupyter_agents` metadata (the recorded runs), `{}` if none. */
  notebookMetadata(): JSONObject;
  /** Store a run's record in the notebook's metadata, replacing `replaces` if given. */
  recordRun(run: JSONObject, replaces: string | null): void;
  /** Route the outputs of execute request `msgId` into the cell, after clearing it. */
  captureOutputs(cellId: string, msgId: string): void;
  /** Stop routing into the cell; releasing a cell that is not captured is not an error. */
  releaseOutputs(cellId: string): void;
}

export type Reply =
  | { reply_to: JSONValue; ok: true; result: JSONObject }
  | { reply_to: JSONValue; ok: false; error: string };

/** A kernel → frontend message: a request (it has an `id`), a notice, or neither. */
export type IncomingMessage =
  | { kind: 'request'; op: unknown; data: JSONObject }
  | { kind: 'notice'; op: string; data: JSONObject }
  | { kind: 'invalid' };

export function classify(data: unknown): IncomingMessage {
  if (!isObject(data)) {
    return { kind: 'invalid' };
  }
  if ('id' in data) {
    return { kind: 'request', op: data.op, data };
  }
  if (typeof data.op === 'string') {
    return { kind: 'notice', op: data.op, data };
  }
  return { kind: 'invalid' };
}

/**
 * Carry out one request on the host and build its reply. Synchronous on purpose: requests
 * are answered in the order they arrive, interleaved correctly with the outputs around them.
 */
export function dispatch(request: JSONObject, host: INotebookHost, anchorCellId: string): Reply {
  const replyTo = (request.id ?? null) as JSONValue;
  try {
    if (typeof request.id !== 'number' || !Number.isInteger(request.id)) {
      throw new Error('the request id must be an integer');
    }
    const op = request.op;
    const handler =
      typeof op === 'string' && Object.prototype.hasOwnProperty.call(OPS, op) ? OPS[op] : undefined;
    if (!handler) {
      throw new Error(`unknown op ${JSON.stringify(op ?? null)}`);
    }
    return { reply_to: replyTo, ok: true, result: handler(request, host, anchorCellId) };
  } catch (error) {
    return { reply_to: replyTo, ok: false, error: oneLine(error) };
  }
}

type OpHandler = (args: JSONObject, host: INotebookHost, anchorCellId: string) => JSONObject;

const OPS: Record<string, OpHandler> = {
  insert_cell: (args, host) => {
    const capture = optionalString(args, 'capture');
    const cellId = host.insertCell(requireString(args, 'after'), {
      id: requireCellId(args),
      cell_type: requireCellType(args),
      source: optionalString(args, 'source') ?? '',
      metadata: optionalObject(args, 'metadata') ?? {}
    });
    if (capture) {
      host.captureOutputs(cellId, capture);
    }
    return { cell_id: cellId };
  },
  update_cell: (args, host) => {
    // Every argument is checked before anything changes; then, in the documented order:
    // release, record (kept even if the cell is gone), the cell's fields, capture.
    const cellId = requireString(args, 'cell_id');
    const changes = cellChanges(args);
    const addTags = optionalStrings(args, 'add_tags');
    const record = optionalObject(args, 'record');
    const capture = optionalString(args, 'capture');
    if (args.release === true) {
      host.releaseOutputs(cellId);
    }
    if (record !== undefined) {
      recordRun(record, host);
    }
    if (addTags !== undefined && addTags.length > 0) {
      changes.metadata = { ...changes.metadata, tags: withTags(host.readCell(cellId), addTags) };
    }
    host.updateCell(cellId, changes);
    if (capture) {
      host.captureOutputs(cellId, capture);
    }
    return {};
  },
  read_cell: (args, host) => ({ ...host.readCell(requireString(args, 'cell_id')) }),
  delete_cell: (args, host) => {
    host.deleteCell(requireString(args, 'cell_id'));
    return {};
  },
  read_notebook: (_args, host, anchorCellId) => {
    const cells = host.readNotebook();
    const anchorIndex = cells.findIndex(cell => cell.id === anchorCellId);
    if (anchorIndex < 0) {
      // An index of -1 would read as "the last cell" in Python; say what happened instead.
      throw new Error(`the %agent cell ${anchorCellId} is no longer in the notebook`);
    }
    return {
      cells: cells.map(cell => ({ ...cell })),
      anchor_index: anchorIndex,
      metadata: host.notebookMetadata()
    };
  },
  record_run: (args, host) => {
    recordRun(args, host);
    return {};
  }
};

/** Store `{run, replaces}` (a `record_run` request, or `update_cell`'s `record`). */
function recordRun(args: JSONObject, host: INotebookHost): void {
  const run = optionalObject(args, 'run');
  if (!run || typeof run.run_id !== 'string') {
    throw new Error('record_run needs a run object with a string run_id');
  }
  const replaces = args.replaces === null ? null : (optionalString(args, 'replaces') ?? null);
  host.recordRun(run, replaces);
}

/** The cell's tags with `added` appended, keeping the ones the user set and their order. */
function withTags(cell: ICellContent, added: string[]): string[] {
  const current = cell.metadata.tags;
  const tags = Array.isArray(current) ? current.filter(tag => typeof tag === 'string') : [];
  return [...(tags as string[]), ...added.filter(tag => !tags.includes(tag))];
}

function cellChanges(args: JSONObject): ICellChanges {
  const changes: ICellChanges = {};
  const source = optionalString(args, 'source');
  if (source !== undefined) {
    changes.source = source;
  }
  const metadata = optionalObject(args, 'metadata');
  if (metadata !== undefined) {
    changes.metadata = metadata;
  }
  if ('execution_count' in args) {
    const count = args.execution_count;
    if (count !== null && !(typeof count === 'number' && Number.isInteger(count))) {
      throw new Error('execution_count must be an integer or null');
    }
    changes.execution_count = count;
  }
  if ('outputs' in args) {
    const outputs = args.outputs;
    if (!Array.isArray(outputs) || !outputs.every(isObject)) {
      throw new Error('outputs must be a list of nbformat outputs');
    }
    changes.outputs = outputs as Output[];
  }
  return changes;
}

/** The event sent when the user decides on a pending cell from the notebook. */
export type Verdict = 'approve' | 'reject' | 'stop';

export interface IDecisionEvent {
  op: 'decision';
  cell_id: string;
  verdict: Verdict;
  reason?: string;
}

/** A decision event; an empty or blank reason is left out, as the protocol makes it optional. */
export function decisionEvent(cellId: string, verdict: Verdict, reason?: string): IDecisionEvent {
  const event: IDecisionEvent = { op: 'decision', cell_id: cellId, verdict };
  const trimmed = reason?.trim();
  if (trimmed) {
    event.reason = trimmed;
  }
  return event;
}

/** The user ran a pending cell themselves: its execute request waits behind `%agent`. */
export interface IQueuedEvent {
  op: 'queued';
  cell_id: string;
}

export function queuedEvent(cellId: string): IQueuedEvent {
  return { op: 'queued', cell_id: cellId };
}

export function isObject(value: unknown): value is JSONObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requireString(args: JSONObject, key: string): string {
  const value = args[key];
  if (typeof value !== 'string' || value === '') {
    throw new Error(`${key} must be a non-empty string`);
  }
  return value;
}

function optionalString(args: JSONObject, key: string): string | undefined {
  const value = args[key];
  if (value !== undefined && typeof value !== 'string') {
    throw new Error(`${key} must be a string`);
  }
  return value;
}

function optionalStrings(args: JSONObject, key: string): string[] | undefined {
  const value = args[key];
  if (value !== undefined && !(Array.isArray(value) && value.every(v => typeof v === 'string'))) {
    throw new Error(`${key} must be a list of strings`);
  }
  return value as string[] | undefined;
}

function optionalObject(args: JSONObject, key: string): JSONObject | undefined {
  const value = args[key];
  if (value !== undefined && !isObject(value)) {
    throw new Error(`${key} must be an object`);
  }
  return value;
}

/** nbformat cell ids: 1-64 letters, digits, "-" or "_". */
function requireCellId(args: JSONObject): string {
  const value = requireString(args, 'cell_id');
  if (!/^[a-zA-Z0-9_-]{1,64}$/.test(value)) {
    throw new Error(`cell_id ${JSON.stringify(value)} is not a valid nbformat cell id`);
  }
  return value;
}

function requireCellType(args: JSONObject): CellType {
  const value = args.cell_type;
  if (value !== 'code' && value !== 'markdown') {
    throw new Error(`cell_type must be "code" or "markdown", not ${JSON.stringify(value ?? null)}`);
  }
  return value;
}

/** The protocol's errors are one line: the kernel shows them to the user as they are. */
function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s+/g, ' ').trim() || 'unknown error';
}

/**
 * The notebook's `jupyter_agents` metadata with `run` recorded: a run with the same id (or
 * the id in `replaces`, the run a re-run supersedes) is replaced, otherwise `run` is added.
 */
export function withRun(current: JSONObject, run: JSONObject, replaces: string | null): JSONObject {
  const runs = (Array.isArray(current.runs) ? current.runs : []) as JSONObject[];
  const kept = runs.filter(
    existing => existing.run_id !== run.run_id && existing.run_id !== replaces
  );
  return { ...current, runs: [...kept, run] };
}

/**
 * The notebook's `jupyter_agents` metadata with run `runId` marked `interrupted`, if its record
 * still says `running`: the kernel restarted or died mid-run, so it could not write the end of
 * the run itself. Null when there is nothing to change.
 */
export function withRunInterrupted(
  current: JSONObject,
  runId: string,
  reason: string
): JSONObject | null {
  const runs = (Array.isArray(current.runs) ? current.runs : []) as JSONObject[];
  let changed = false;
  const updated = runs.map(run => {
    if (run.run_id !== runId || run.status !== 'running') {
      return run;
    }
    changed = true;
    return { ...run, status: 'interrupted', error: reason };
  });
  return changed ? { ...current, runs: updated } : null;
}
