/**
 * The live agent runs of the app, and the answer to the kernel's `comm_open` that starts one.
 */
import type { CodeCell } from '@jupyterlab/cells';
import type { ConsolePanel, IConsoleTracker } from '@jupyterlab/console';
import type { INotebookModel, INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import type { Kernel, KernelMessage } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import { answerHandshake, IClientInfo, IHandshake, isUndoHandshake } from './protocol';
import { AgentRun } from './run';

export class AgentRuns {
  constructor(
    private readonly notebooks: INotebookTracker,
    private readonly client: IClientInfo,
    private readonly consoles: IConsoleTracker | null = null
  ) {}

  /** Emitted when a run starts, changes or ends. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The live run of this notebook that inserted the cell, if any. */
  find(model: INotebookModel, cellId: string): AgentRun | undefined {
    return this._runs.find(run => run.model === model && run.knows(cellId));
  }

  /**
   * Answer a `comm_open` for the protocol's target, received on `kernel`.
   *
   * Only the notebook view that executed the `%agent` cell takes part: it holds the anchor
   * cell, and its kernel connection holds the execute request whose outputs a run captures.
   * Other notebooks on the kernel, other browser tabs and collaborators showing the same
   * notebook all stay silent. The search goes by kernel id because JupyterLab lets only one
   * connection per kernel handle comms, which need not be the executing notebook's.
   *
   * A handshake for an undo comes from a click, not an executing cell: the notebook showing
   * the run's `%agent` cell answers if this connection sent the click (isUndoHandshake).
   */
  open(
    kernel: Kernel.IKernelConnection,
    comm: Kernel.IComm,
    msg: KernelMessage.ICommOpenMsg
  ): void {
    const data = msg.content.data;
    const parent = msg.parent_header as Partial<KernelMessage.IHeader>;
    const asks = isUndoHandshake(data)
      ? (panel: NotebookPanel, anchor: string) =>
          parent.session === kernel.clientId && shows(panel, kernel.id, anchor)
      : (panel: NotebookPanel, anchor: string) => executed(panel, kernel.id, anchor, parent.msg_id);
    const found: { panel?: NotebookPanel } = {};
    const holdsAnchor = (anchor: string): boolean => {
      found.panel = this.notebooks.find(panel => asks(panel, anchor));
      return found.panel !== undefined;
    };
    const inConsole = (cellId: string): boolean =>
      this.consoles?.find(panel => ranInConsole(panel, kernel.id, cellId)) !== undefined;
    const hello = answerHandshake(data, holdsAnchor, this.client, inConsole);
    if (!hello) {
      return;
    }
    comm.send({ ...hello });
    const executing = found.panel;
    const executingKernel = executing?.sessionContext.session?.kernel;
    if (!hello.accepted || !executing || !executingKernel) {
      return;
    }
    const handshake = data as unknown as IHandshake;
    const run = new AgentRun(handshake, executing.context, comm, executingKernel);
    this._runs.push(run);
    run.changed.connect(() => {
      if (run.isEnded) {
        this._runs = this._runs.filter(other => other !== run);
      }
      this._changed.emit();
    });
    this._changed.emit();
  }

  private _runs: AgentRun[] = [];
  private readonly _changed = new Signal<this, void>(this);
}

/** Whether this notebook view, on kernel `kernelId`, shows the cell `cellId`. */
function shows(panel: NotebookPanel, kernelId: string, cellId: string): boolean {
  return (
    panel.sessionContext.session?.kernel?.id === kernelId &&
    panel.content.widgets.some(widget => widget.model.sharedModel.getId() === cellId)
  );
}

/** Whether this notebook view sent the execute request `executeMsgId` for the anchor cell. */
function executed(
  panel: NotebookPanel,
  kernelId: string,
  anchorCellId: string,
  executeMsgId: string | undefined
): boolean {
  if (!executeMsgId || panel.sessionContext.session?.kernel?.id !== kernelId) {
    return false;
  }
  const cell = panel.content.widgets.find(
    widget => widget.model.sharedModel.getId() === anchorCellId
  );
  if (cell?.model.type !== 'code') {
    return false;
  }
  return (cell as CodeCell).outputArea.future?.msg.header.msg_id === executeMsgId;
}

/** Whether the console `panel`, on kernel `kernelId`, holds the cell that ran `%agent`. */
function ranInConsole(panel: ConsolePanel, kernelId: string, cellId: string): boolean {
  if (panel.sessionContext.session?.kernel?.id !== kernelId) {
    return false;
  }
  const { cells, promptCell } = panel.console;
  const ids = [...Array.from(cells), promptCell].map(cell => cell?.model.sharedModel.getId());
  return ids.includes(cellId);
}
