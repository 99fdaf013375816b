/**
 * The protocol module against a notebook kept in memory: the handshake, every request's reply,
 * the errors, and the decision event, as docs/protocol.md specifies them.
 */
import type { JSONObject } from '@lumino/coreutils';

import {
  answerHandshake,
  isUndoHandshake,
  classify,
  decisionEvent,
  dispatch,
  ICellChanges,
  ICellContent,
  INewCell,
  INotebookCell,
  INotebookHost,
  TARGET_NAME,
  withRun,
  withRunInterrupted
} from '../protocol';

const CLIENT = { name: 'jupyterlab', version: '4.6.6' };
const ANCHOR = 'anchor';

function handshake(overrides: JSONObject = {}): JSONObject {
  return {
    protocol: 'jupyter-agents',
    version: 2,
    run_id: '3f9c0a1b2c4d',
    anchor_cell_id: ANCHOR,
    model: 'openai/gpt-4o-mini',
    role: null,
    ...overrides
  };
}

interface IMemoryCell extends INotebookCell {
  metadata: JSONObject;
  outputs: JSONObject[];
}

/** A notebook in memory, with the host's contract: unknown cells throw a one-line Error. */
class MemoryNotebook implements INotebookHost {
  cells: IMemoryCell[] = [
    cell('intro', 'markdown', '## Revenue'),
    cell(ANCHOR, 'code', '%agent plot revenue'),
    cell('after', 'code', 'print(1)')
  ];
  captures = new Map<string, string>();
  metadata: JSONObject = {};

  insertCell(after: string, { id, cell_type, source, metadata }: INewCell): string {
    if (this.cells.some(existing => existing.id === id)) {
      throw new Error(`a cell with id ${id} already exists`);
    }
    this.cells.splice(this.indexOf(after) + 1, 0, { ...cell(id, cell_type, source), metadata });
    return id;
  }

  updateCell(cellId: string, changes: ICellChanges): void {
    const target = this.cells[this.indexOf(cellId)];
    if (changes.source !== undefined) {
      target.source = changes.source;
    }
    Object.assign(target.metadata, changes.metadata ?? {});
    if (changes.execution_count !== undefined) {
      target.execution_count = changes.execution_count;
    }
    if (changes.outputs !== undefined) {
      target.outputs = changes.outputs;
    }
  }

  readCell(cellId: string): ICellContent {
    const { cell_type, source, metadata } = this.cells[this.indexOf(cellId)];
    return { cell_type, source, metadata };
  }

  deleteCell(cellId: string): void {
    this.cells.splice(this.indexOf(cellId), 1);
  }

  readNotebook(): INotebookCell[] {
    return this.cells.map(({ id, cell_type, source, execution_count, metadata }) => ({
      id,
      cell_type,
      source,
      execution_count,
      metadata
    }));
  }

  notebookMetadata(): JSONObject {
    return this.metadata;
  }

  recordRun(run: JSONObject, replaces: string | null): void {
    this.metadata = withRun(this.metadata, run, replaces);
  }

  captureOutputs(cellId: string, msgId: string): void {
    this.indexOf(cellId);
    this.captures.set(cellId, msgId);
  }

  releaseOutputs(cellId: string): void {
    this.captures.delete(cellId);
  }

  private indexOf(cellId: string): number {
    const index = this.cells.findIndex(c => c.id === cellId);
    if (index < 0) {
      throw new Error(`no cell with id ${cellId} in the notebook`);
    }
    return index;
  }
}

function cell(id: string, cell_type: string, source: string): IMemoryCell {
  return { id, cell_type, source, execution_count: null, metadata: {}, outputs: [] };
}

function request(id: number, op: string, args: JSONObject = {}): JSONObject {
  return { id, op, ...args };
}

describe('the handshake', () => {
  const holds = (cellId: string) => cellId === ANCHOR;

  it('uses the documented comm target', () => {
    expect(TARGET_NAME).toBe('jupyter_agents.notebook');
  });

  it('accepts version 2 from the notebook holding the anchor', () => {
    expect(answerHandshake(handshake(), holds, CLIENT)).toEqual({
      op: 'hello',
      version: 2,
      accepted: true,
      client: 'jupyterlab',
      client_version: '4.6.6'
    });
  });

  it('stays silent when the anchor is not in this notebook', () => {
    expect(answerHandshake(handshake({ anchor_cell_id: 'elsewhere' }), holds, CLIENT)).toBeNull();
  });

  it('stays silent about data it cannot place at all', () => {
    for (const data of [null, 'hello', [], handshake({ anchor_cell_id: 7 })]) {
      expect(answerHandshake(data, holds, CLIENT)).toBeNull();
    }
  });

  it('asks about the anchor before judging the rest', () => {
    const asked: string[] = [];
    const answer = answerHandshake(
      handshake({ version: 1 }),
      cellId => {
        asked.push(cellId);
        return false;
      },
      CLIENT
    );
    expect(answer).toBeNull();
    expect(asked).toEqual([ANCHOR]);
  });

  it('tells an undo asked for by a click from a run started by a cell', () => {
    expect(isUndoHandshake(handshake({ purpose: 'undo' }))).toBe(true);
    for (const data of [handshake(), handshake({ purpose: 'run' }), null, 'undo']) {
      expect(isUndoHandshake(data)).toBe(false);
    }
  });

  it('refuses at once when a console of this app ran the cell', () => {
    const inConsole = (cellId: string) => cellId === 'console-cell';
    const fromConsole = handshake({ anchor_cell_id: 'console-cell' });
    expect(answerHandshake(fromConsole, holds, CLIENT, inConsole)).toEqual({
      op: 'hello',
      version: 2,
      accepted: false,
      reason: "a console has no notebook to write the agent's cells into"
    });
    const elsewhere = handshake({ anchor_cell_id: 'elsewhere' });
    expect(answerHandshake(elsewhere, holds, CLIENT, inConsole)).toBeNull();
  });

  it('refuses a version it does not speak, with a reason', () => {
    for (const version of [1, 3, 0, '2', null]) {
      const answer = answerHandshake(handshake({ version }), holds, CLIENT);
      expect(answer).toMatchObject({ op: 'hello', version: 2, accepted: false });
      expect(answer && !answer.accepted && answer.reason).toMatch(/version .* not supported/);
    }
  });

  it('refuses another protocol and a handshake without run_id', () => {
    expect(answerHandshake(handshake({ protocol: 'other' }), holds, CLIENT)).toMatchObject({
      accepted: false,
      reason: 'unknown protocol "other"'
    });
    const { run_id, ...noRunId } = handshake();
    expect(run_id).toBeDefined();
    expect(answerHandshake(noRunId, holds, CLIENT)).toMatchObject({ accepted: false });
  });
});

describe('requests', () => {
  let notebook: MemoryNotebook;
  beforeEach(() => {
    notebook = new MemoryNotebook();
  });

  it('insert_cell puts the cell, with the id the kernel chose, right after the given one', () => {
    const metadata = { jupyter_agents: { status: 'pending', step: 1 } };
    const args = { cell_id: 'new-1', after: ANCHOR, cell_type: 'code', source: 'x = 1', metadata };
    const reply = dispatch(request(1, 'insert_cell', args), notebook, ANCHOR);
    expect(reply).toEqual({ reply_to: 1, ok: true, result: { cell_id: 'new-1' } });
    expect(notebook.cells.map(c => c.id)).toEqual(['intro', ANCHOR, 'new-1', 'after']);
    expect(notebook.cells[2]).toMatchObject({ cell_type: 'code', source: 'x = 1', metadata });
  });

  it('insert_cell defaults to an empty source and metadata', () => {
    const args = { cell_id: 'new-2', after: ANCHOR, cell_type: 'markdown' };
    dispatch(request(1, 'insert_cell', args), notebook, ANCHOR);
    expect(notebook.cells[2]).toMatchObject({ cell_type: 'markdown', source: '', metadata: {} });
  });

  it('update_cell changes what it is given and answers with an empty result', () => {
    notebook.cells[2].metadata = { kept: true, jupyter_agents: { status: 'pending' } };
    const outputs = [{ output_type: 'stream', name: 'stdout', text: '1\n' }];
    const reply = dispatch(
      request(2, 'update_cell', {
        cell_id: 'after',
        source: 'print(2)',
        metadata: { jupyter_agents: { status: 'approved' } },
        execution_count: 4,
        outputs
      }),
      notebook,
      ANCHOR
    );
    expect(reply).toEqual({ reply_to: 2, ok: true, result: {} });
    expect(notebook.cells[2]).toMatchObject({
      source: 'print(2)',
      metadata: { kept: true, jupyter_agents: { status: 'approved' } },
      execution_count: 4,
      outputs
    });
  });

  it('update_cell passes an explicit null execution_count and nothing it was not given', () => {
    const changes: ICellChanges[] = [];
    notebook.updateCell = (_cellId, given) => {
      changes.push(given);
    };
    dispatch(
      request(1, 'update_cell', { cell_id: 'after', execution_count: null }),
      notebook,
      ANCHOR
    );
    dispatch(request(2, 'update_cell', { cell_id: 'after' }), notebook, ANCHOR);
    expect(changes).toEqual([{ execution_count: null }, {}]);
  });

  it('read_cell returns the current type, source and metadata', () => {
    notebook.cells[2].metadata = { jupyter_agents: { status: 'pending' } };
    notebook.cells[2].source = 'typed by the user';
    expect(dispatch(request(3, 'read_cell', { cell_id: 'after' }), notebook, ANCHOR)).toEqual({
      reply_to: 3,
      ok: true,
      result: {
        cell_type: 'code',
        source: 'typed by the user',
        metadata: { jupyter_agents: { status: 'pending' } }
      }
    });
  });

  it('delete_cell removes the cell', () => {
    expect(dispatch(request(4, 'delete_cell', { cell_id: 'after' }), notebook, ANCHOR)).toEqual({
      reply_to: 4,
      ok: true,
      result: {}
    });
    expect(notebook.cells.map(c => c.id)).toEqual(['intro', ANCHOR]);
  });

  it('read_notebook lists the cells and where the anchor is', () => {
    notebook.cells[1].execution_count = 3;
    expect(dispatch(request(5, 'read_notebook'), notebook, ANCHOR)).toEqual({
      reply_to: 5,
      ok: true,
      result: {
        cells: [
          {
            id: 'intro',
            cell_type: 'markdown',
            source: '## Revenue',
            execution_count: null,
            metadata: {}
          },
          {
            id: ANCHOR,
            cell_type: 'code',
            source: '%agent plot revenue',
            execution_count: 3,
            metadata: {}
          },
          {
            id: 'after',
            cell_type: 'code',
            source: 'print(1)',
            execution_count: null,
            metadata: {}
          }
        ],
        anchor_index: 1,
        metadata: {}
      }
    });
  });

  it('record_run keeps one record per run, and a re-run replaces the run it supersedes', () => {
    const record = (id: number, runId: string, replaces?: string) =>
      dispatch(
        {
          id,
          op: 'record_run',
          run: { run_id: runId, status: 'completed' },
          replaces: replaces ?? null
        },
        notebook,
        ANCHOR
      );
    expect(record(7, 'first')).toEqual({ reply_to: 7, ok: true, result: {} });
    record(8, 'other');
    record(9, 'first'); // the same run again: replaced, not duplicated
    record(10, 'second', 'first');
    const runs = (notebook.metadata.runs as JSONObject[]).map(run => run.run_id);
    expect(runs).toEqual(['other', 'second']);
    const read = dispatch(request(11, 'read_notebook'), notebook, ANCHOR);
    expect(read.ok && (read.result.metadata as JSONObject).runs).toHaveLength(2);
    const bad = dispatch({ id: 12, op: 'record_run', run: { status: 'x' } }, notebook, ANCHOR);
    expect(bad).toMatchObject({
      ok: false,
      error: 'record_run needs a run object with a string run_id'
    });
  });

  it('read_notebook fails rather than guess when the anchor is gone', () => {
    notebook.deleteCell(ANCHOR);
    const reply = dispatch(request(6, 'read_notebook'), notebook, ANCHOR);
    expect(reply).toEqual({
      reply_to: 6,
      ok: false,
      error: `the %agent cell ${ANCHOR} is no longer in the notebook`
    });
  });

  it('insert_cell with capture routes outputs; update_cell batches the end of a step', () => {
    const insert = request(7, 'insert_cell', {
      cell_id: 'ran-1',
      after: ANCHOR,
      cell_type: 'code',
      source: 'x = 1',
      capture: 'execute-1'
    });
    expect(dispatch(insert, notebook, ANCHOR)).toEqual({
      reply_to: 7,
      ok: true,
      result: { cell_id: 'ran-1' }
    });
    expect(notebook.captures.get('ran-1')).toBe('execute-1');

    // Then, in one request: update_cell releases, records, adds tags to the user's, captures.
    notebook.cells[notebook.cells.findIndex(c => c.id === 'after')].metadata.tags = ['mine'];
    const end = request(8, 'update_cell', {
      cell_id: 'ran-1',
      release: true,
      execution_count: 3,
      record: { run: { run_id: 'r-batch', status: 'running' }, replaces: null }
    });
    expect(dispatch(end, notebook, ANCHOR)).toEqual({ reply_to: 8, ok: true, result: {} });
    expect(notebook.captures.has('ran-1')).toBe(false);
    expect(notebook.metadata.runs).toContainEqual({ run_id: 'r-batch', status: 'running' });
    const tagged = request(9, 'update_cell', {
      cell_id: 'after',
      add_tags: ['raises-exception', 'mine'],
      capture: 'execute-2'
    });
    expect(dispatch(tagged, notebook, ANCHOR).ok).toBe(true);
    const after = notebook.readCell('after');
    expect(after.metadata.tags).toEqual(['mine', 'raises-exception']);
    expect(notebook.captures.get('after')).toBe('execute-2');
  });

  it('update_cell keeps the record when the cell is gone, and says the cell is gone', () => {
    const reply = dispatch(
      request(10, 'update_cell', {
        cell_id: 'deleted-by-user',
        release: true,
        record: { run: { run_id: 'r-kept', status: 'completed' }, replaces: null }
      }),
      notebook,
      ANCHOR
    );
    expect(reply).toEqual({
      reply_to: 10,
      ok: false,
      error: 'no cell with id deleted-by-user in the notebook'
    });
    expect(notebook.metadata.runs).toContainEqual({ run_id: 'r-kept', status: 'completed' });
  });

  it('no longer answers version 1 capture_outputs and release_outputs', () => {
    for (const op of ['capture_outputs', 'release_outputs']) {
      expect(dispatch(request(11, op, { cell_id: 'after' }), notebook, ANCHOR)).toEqual({
        reply_to: 11,
        ok: false,
        error: `unknown op "${op}"`
      });
    }
  });
});

describe('errors', () => {
  const notebook = new MemoryNotebook();
  const fails = (data: JSONObject) => {
    const reply = dispatch(data, notebook, ANCHOR);
    expect(reply.ok).toBe(false);
    return reply.ok ? '' : reply.error;
  };

  it('answers an unknown op with ok: false', () => {
    expect(dispatch(request(9, 'explode'), notebook, ANCHOR)).toEqual({
      reply_to: 9,
      ok: false,
      error: 'unknown op "explode"'
    });
    expect(fails(request(10, 'toString'))).toBe('unknown op "toString"');
    expect(fails({ id: 11 })).toBe('unknown op null');
  });

  it('insert_cell refuses a missing, malformed or duplicate id', () => {
    expect(fails(request(2, 'insert_cell', { after: ANCHOR, cell_type: 'code' }))).toBe(
      'cell_id must be a non-empty string'
    );
    expect(
      fails(request(3, 'insert_cell', { cell_id: 'a b', after: ANCHOR, cell_type: 'code' }))
    ).toBe('cell_id "a b" is not a valid nbformat cell id');
    expect(
      fails(request(4, 'insert_cell', { cell_id: 'after', after: ANCHOR, cell_type: 'code' }))
    ).toBe('a cell with id after already exists');
  });

  it('names the unknown cell, on one line', () => {
    for (const op of ['read_cell', 'update_cell', 'delete_cell']) {
      const error = fails(request(12, op, { cell_id: 'ghost' }));
      expect(error).toBe('no cell with id ghost in the notebook');
    }
    expect(
      fails(request(13, 'insert_cell', { cell_id: 'n13', after: 'ghost', cell_type: 'code' }))
    ).toContain('ghost');
  });

  it('checks the arguments', () => {
    expect(fails(request(14, 'read_cell'))).toBe('cell_id must be a non-empty string');
    expect(
      fails(request(15, 'insert_cell', { cell_id: 'n15', after: ANCHOR, cell_type: 'raw' }))
    ).toBe('cell_type must be "code" or "markdown", not "raw"');
    expect(
      fails(
        request(16, 'insert_cell', { cell_id: 'n16', after: ANCHOR, cell_type: 'code', source: 3 })
      )
    ).toBe('source must be a string');
    expect(fails(request(17, 'update_cell', { cell_id: 'after', metadata: [] }))).toBe(
      'metadata must be an object'
    );
    expect(fails(request(18, 'update_cell', { cell_id: 'after', execution_count: 1.5 }))).toBe(
      'execution_count must be an integer or null'
    );
    expect(fails(request(19, 'update_cell', { cell_id: 'after', outputs: [1] }))).toBe(
      'outputs must be a list of nbformat outputs'
    );
    expect(fails(request(20, 'update_cell', { cell_id: 'after', add_tags: 'x' }))).toBe(
      'add_tags must be a list of strings'
    );
    expect(fails(request(21, 'update_cell', { cell_id: 'after', record: { run: {} } }))).toBe(
      'record_run needs a run object with a string run_id'
    );
    expect(
      fails(
        request(22, 'insert_cell', { cell_id: 'n22', after: ANCHOR, cell_type: 'code', capture: 5 })
      )
    ).toBe('capture must be a string');
  });

  it('rejects a request id that is not an integer, echoing it', () => {
    expect(dispatch({ id: 'one', op: 'read_notebook' }, notebook, ANCHOR)).toEqual({
      reply_to: 'one',
      ok: false,
      error: 'the request id must be an integer'
    });
  });

  it('flattens a host error to one line', () => {
    const broken = new MemoryNotebook();
    broken.deleteCell = () => {
      throw new Error('first line\n  second line');
    };
    const reply = dispatch(request(21, 'delete_cell', { cell_id: 'after' }), broken, ANCHOR);
    expect(reply).toEqual({ reply_to: 21, ok: false, error: 'first line second line' });
  });
});

describe('messages from the kernel', () => {
  it('tells requests, notices and garbage apart', () => {
    expect(classify({ id: 1, op: 'read_notebook' })).toMatchObject({
      kind: 'request',
      op: 'read_notebook'
    });
    expect(classify({ op: 'end', status: 'completed' })).toMatchObject({
      kind: 'notice',
      op: 'end'
    });
    for (const data of [null, 3, 'end', [], { status: 'completed' }]) {
      expect(classify(data)).toEqual({ kind: 'invalid' });
    }
  });
});

describe('decision events', () => {
  it('carries the cell and the verdict', () => {
    expect(decisionEvent('cell-1', 'approve')).toEqual({
      op: 'decision',
      cell_id: 'cell-1',
      verdict: 'approve'
    });
  });

  it('carries a reason only when there is one', () => {
    expect(decisionEvent('cell-1', 'reject', '  use the cleaned table ')).toEqual({
      op: 'decision',
      cell_id: 'cell-1',
      verdict: 'reject',
      reason: 'use the cleaned table'
    });
    expect(decisionEvent('cell-1', 'reject', '   ')).not.toHaveProperty('reason');
    expect(decisionEvent('cell-1', 'stop')).toEqual({
      op: 'decision',
      cell_id: 'cell-1',
      verdict: 'stop'
    });
  });
});

describe('withRunInterrupted', () => {
  const running = { run_id: 'r1', status: 'running', steps: 2 };
  const other = { run_id: 'r0', status: 'completed' };

  it('marks a run still recorded as running interrupted, keeping its other fields', () => {
    const updated = withRunInterrupted({ runs: [other, running] }, 'r1', 'kernel restarted');
    expect(updated).toEqual({
      runs: [other, { run_id: 'r1', status: 'interrupted', steps: 2, error: 'kernel restarted' }]
    });
  });

  it('leaves a run the kernel already ended, another run, or no runs alone', () => {
    expect(withRunInterrupted({ runs: [other] }, 'r0', 'x')).toBeNull();
    expect(withRunInterrupted({ runs: [running] }, 'r2', 'x')).toBeNull();
    expect(withRunInterrupted({}, 'r1', 'x')).toBeNull();
  });
});
