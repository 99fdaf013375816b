/**
 * One agent run, from the accepted handshake to the `end` notice or the comm's close: the
 * comm, the notebook it writes into, its output captures, and the cells it inserted.
 */
import type { DocumentRegistry } from '@jupyterlab/docregistry';
import type { INotebookModel } from '@jupyterlab/notebook';
import type { Kernel, KernelMessage } from '@jupyterlab/services';
import type { JSONObject } from '@lumino/coreutils';
import { ISignal, Signal } from '@lumino/signaling';

import { OutputCapture } from './capture';
import { NotebookModelHost } from './host';
import { classify, decisionEvent, dispatch, IHandshake, queuedEvent, Verdict } from './protocol';
import { knownStatus, METADATA_KEY } from './status';

export class AgentRun {
  /**
   * @param handshake - the accepted `comm_open` data.
   * @param context - the document of the notebook holding the `%agent` cell.
   * @param comm - the run's comm, already answered with an accepted `hello`.
   * @param kernel - the connection that executed the `%agent` cell, for output capture.
   */
  constructor(
    readonly handshake: IHandshake,
    context: DocumentRegistry.IContext<INotebookModel>,
    private readonly comm: Kernel.IComm,
    kernel: Kernel.IKernelConnection
  ) {
    this._capture = new OutputCapture(kernel);
    this.model = context.model;
    this._host = new NotebookModelHost(this.model, this._capture);
    comm.onMsg = msg => this.onMessage(msg);
    comm.onClose = () => this.end();
    // A restart or a kernel change ends the %agent cell's execution, and with it the run.
    // The kernel can no longer clean up, so its undecided proposals are removed here.
    kernel.statusChanged.connect((_, status) => {
      if (status === 'restarting' || status === 'autorestarting' || status === 'dead') {
        this.end(true);
      }
    }, this);
    kernel.disposed.connect(() => this.end(true), this);
    // Closing the notebook: tell the kernel now, rather than letting its requests time out.
    context.disposed.connect(() => {
      this.end();
      if (!comm.isDisposed) {
        comm.close();
      }
    }, this);
  }

  /** The notebook the run writes into. */
  readonly model: INotebookModel;

  /** Emitted when the run inserts a cell, sends a decision, or ends: what the commands show. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get isEnded(): boolean {
    return this._ended;
  }

  /** Whether this live run inserted the cell, so the kernel may take a decision on it. */
  knows(cellId: string): boolean {
    return !this._ended && !this.comm.isDisposed && this._inserted.has(cellId);
  }

  /**
   * Whether a decision on the cell was already sent: the kernel acts on it and then sets the
   * cell's final status, so until then a second click must not send another one.
   */
  hasDecided(cellId: string): boolean {
    return this._decided.has(cellId);
  }

  /** Send the user's decision on a cell of this run to the kernel. */
  decide(cellId: string, verdict: Verdict, reason?: string): void {
    if (!this.knows(cellId) || this.hasDecided(cellId)) {
      return;
    }
    this._decided.add(cellId);
    this.comm.send({ ...decisionEvent(cellId, verdict, reason) });
    this._changed.emit();
  }

  /**
   * The user ran a cell of this run that is still pending (Shift+Enter, Run All). Its execute
   * request waits in the kernel behind the `%agent` cell; the kernel is told, so that request
   * does not run the cell a second time (after Approve) or at all (after Reject).
   */
  ranByUser(cellId: string): void {
    if (this.knows(cellId) && !this.hasDecided(cellId)) {
      this.comm.send({ ...queuedEvent(cellId) });
    }
  }

  /**
   * Drop the run's state: stop capturing, forget the cells. Safe to call twice. With
   * `kernelGone`, first do what the kernel no longer can: remove the run's proposals still
   * pending (no half-done cell stays) and record the run as interrupted.
   */
  end(kernelGone = false): void {
    if (this._ended) {
      return;
    }
    if (kernelGone && !this.model.isDisposed) {
      this.removePending();
      this._host.markInterrupted(
        this.handshake.run_id,
        'the kernel restarted or died during the run; cells that had run before are kept'
      );
    }
    this._ended = true;
    this._capture.stopAll();
    this._changed.emit();
    Signal.clearData(this);
  }

  /**
   * Remove the run's proposals still pending, and mark the cell that was running (if any) as
   * cut short: it did not complete, and replay must not run it again (it may be what killed
   * the kernel).
   */
  private removePending(): void {
    for (const cellId of this._inserted) {
      try {
        const cell = this._host.readCell(cellId);
        const entry = cell.metadata[METADATA_KEY] as JSONObject | undefined;
        if (knownStatus(entry?.status) === 'pending') {
          this._host.deleteCell(cellId);
        } else if (entry?.running === true) {
          const updated: JSONObject = { ...entry, interrupted: true };
          delete updated.running;
          this._host.updateCell(cellId, { metadata: { [METADATA_KEY]: updated } });
        }
      } catch {
        // Already gone from the notebook: nothing to remove.
      }
    }
  }

  private onMessage(msg: KernelMessage.ICommMsgMsg): void {
    if (this._ended) {
      return;
    }
    const message = classify(msg.content.data);
    if (message.kind === 'request') {
      const reply = dispatch(message.data, this._host, this.handshake.anchor_cell_id);
      if (reply.ok && message.op === 'insert_cell') {
        this._inserted.add(reply.result.cell_id as string);
        this._changed.emit();
      }
      this.comm.send({ ...reply } as JSONObject);
    } else if (message.kind === 'notice' && message.op === 'end') {
      this.end();
    }
    // Other notices and malformed messages are ignored: a newer kernel may add notices.
  }

  private readonly _capture: OutputCapture;
  private readonly _host: NotebookModelHost;
  private readonly _inserted = new Set<string>();
  private readonly _decided = new Set<string>();
  private readonly _changed = new Signal<this, void>(this);
  private _ended = false;
}
