/**
 * The protocol's notebook operations on a JupyterLab notebook model.
 *
 * Everything goes through the notebook model (and its shared model), never through the
 * notebook widget: the widget follows the model, so the user's selection, focus and scroll
 * position stay where they are, and every view of the document (and every collaborator)
 * sees the same change.
 */
import type { ICellModel, ICodeCellModel } from '@jupyterlab/cells';
import type * as nbformat from '@jupyterlab/nbformat';
import type { INotebookModel } from '@jupyterlab/notebook';
import type { JSONObject } from '@lumino/coreutils';

import type { OutputCapture } from './capture';
import type {
  ICellChanges,
  ICellContent,
  INewCell,
  INotebookCell,
  INotebookHost
} from './protocol';
import { withRun, withRunInterrupted } from './protocol';
import { METADATA_KEY } from './status';

export class NotebookModelHost implements INotebookHost {
  constructor(
    private readonly model: INotebookModel,
    private readonly capture: OutputCapture
  ) {}

  insertCell(after: string, cell: INewCell): string {
    const index = this.indexOf(after);
    if (this.model.sharedModel.cells.some(existing => existing.getId() === cell.id)) {
      throw new Error(`a cell with id ${cell.id} already exists`);
    }
    return this.model.sharedModel.insertCell(index + 1, { ...cell }).getId();
  }

  updateCell(cellId: string, changes: ICellChanges): void {
    const cell = this.cell(cellId);
    // Check everything before changing anything: a failed request leaves the cell as it was.
    const needsCode = changes.execution_count !== undefined || changes.outputs !== undefined;
    const codeCell = needsCode ? this.codeCell(cell) : null;
    if (changes.source !== undefined) {
      cell.sharedModel.setSource(changes.source);
    }
    for (const [key, value] of Object.entries(changes.metadata ?? {})) {
      cell.setMetadata(key, value);
    }
    if (codeCell && changes.execution_count !== undefined) {
      codeCell.executionCount = changes.execution_count;
    }
    if (codeCell && changes.outputs !== undefined) {
      // Outputs of code run in the user's own session: trusted, as after a normal run.
      codeCell.trusted = true;
      codeCell.outputs.fromJSON(changes.outputs as unknown as nbformat.IOutput[]);
    }
  }

  readCell(cellId: string): ICellContent {
    const cell = this.cell(cellId);
    return {
      cell_type: cell.type,
      source: cell.sharedModel.getSource(),
      metadata: cell.metadata as JSONObject
    };
  }

  deleteCell(cellId: string): void {
    const index = this.indexOf(cellId);
    this.capture.stop(cellId);
    this.model.sharedModel.deleteCell(index);
  }

  readNotebook(): INotebookCell[] {
    return Array.from(this.model.cells, cell => ({
      id: cell.sharedModel.getId(),
      cell_type: cell.type,
      source: cell.sharedModel.getSource(),
      execution_count: cell.type === 'code' ? (cell as ICodeCellModel).executionCount : null,
      metadata: agentMetadata(cell.metadata as JSONObject)
    }));
  }

  notebookMetadata(): JSONObject {
    return (this.model.getMetadata(METADATA_KEY) as JSONObject | undefined) ?? {};
  }

  recordRun(run: JSONObject, replaces: string | null): void {
    this.model.setMetadata(METADATA_KEY, withRun(this.notebookMetadata(), run, replaces));
  }

  /** Mark run `runId` interrupted if its record still says running (the kernel is gone). */
  markInterrupted(runId: string, reason: string): void {
    const updated = withRunInterrupted(this.notebookMetadata(), runId, reason);
    if (updated !== null) {
      this.model.setMetadata(METADATA_KEY, updated);
    }
  }

  captureOutputs(cellId: string, msgId: string): void {
    this.capture.start(this.codeCell(this.cell(cellId)), msgId);
  }

  releaseOutputs(cellId: string): void {
    this.capture.stop(cellId);
  }

  private indexOf(cellId: string): number {
    const index = this.model.sharedModel.cells.findIndex(cell => cell.getId() === cellId);
    if (index < 0) {
      throw new Error(`no cell with id ${cellId} in the notebook`);
    }
    return index;
  }

  private cell(cellId: string): ICellModel {
    return this.model.cells.get(this.indexOf(cellId));
  }

  private codeCell(cell: ICellModel): ICodeCellModel {
    if (cell.type !== 'code') {
      throw new Error(`cell ${cell.sharedModel.getId()} is a ${cell.type} cell, not a code cell`);
    }
    return cell as ICodeCellModel;
  }
}

/** A cell's `jupyter_agents` entry alone: the kernel needs provenance, not all metadata. */
function agentMetadata(metadata: JSONObject): JSONObject {
  const entry = metadata[METADATA_KEY];
  return entry === undefined ? {} : { [METADATA_KEY]: entry };
}
