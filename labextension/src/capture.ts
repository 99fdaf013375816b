/**
 * Output capture: route one execute request's IOPub outputs into a chosen notebook cell.
 *
 * The `%agent` cell runs the approved code inside its own execution, so every output of that
 * code is published with the `%agent` cell's execute request as parent and would land under
 * the `%agent` cell. A message hook on that request, as the ipywidgets Output widget uses,
 * diverts the outputs into the agent's cell instead and hides them from the `%agent` cell.
 */
import type { ICodeCellModel } from '@jupyterlab/cells';
import type * as nbformat from '@jupyterlab/nbformat';
import type { Kernel, KernelMessage } from '@jupyterlab/services';

type Hook = (msg: KernelMessage.IIOPubMessage) => boolean;

interface ICapture {
  msgId: string;
  hook: Hook;
}

export class OutputCapture {
  /**
   * @param kernel - the connection that sent the `%agent` cell's execute request: hooks
   *   attach to that request's future, which only the sending connection holds.
   */
  constructor(private readonly kernel: Kernel.IKernelConnection) {}

  /** Clear the cell's outputs, then route `msgId`'s outputs into it until `stop`. */
  start(cell: ICodeCellModel, msgId: string): void {
    const cellId = cell.sharedModel.getId();
    this.stop(cellId);
    // What the user's own session prints is trusted, as when the user runs a cell.
    cell.trusted = true;
    cell.outputs.clear();
    const hook = routeInto(cell);
    this.kernel.registerMessageHook(msgId, hook);
    this._captures.set(cellId, { msgId, hook });
  }

  stop(cellId: string): void {
    const capture = this._captures.get(cellId);
    if (capture) {
      this.kernel.removeMessageHook(capture.msgId, capture.hook);
      this._captures.delete(cellId);
    }
  }

  stopAll(): void {
    for (const cellId of [...this._captures.keys()]) {
      this.stop(cellId);
    }
  }

  private readonly _captures = new Map<string, ICapture>();
}

/**
 * A message hook that puts output messages into the cell's outputs and swallows them
 * (returns false, so the `%agent` cell's output area never sees them); other messages
 * (status, comm messages, execute_input) pass through.
 */
function routeInto(cell: ICodeCellModel): Hook {
  // Where each display_id is shown in this cell, for update_display_data.
  const displays = new Map<string, number[]>();
  return msg => {
    if (cell.isDisposed) {
      // The cell was deleted while capturing: better under the %agent cell than lost.
      return true;
    }
    const outputs = cell.outputs;
    const content = msg.content as Record<string, unknown>;
    const msgType = msg.header.msg_type;
    switch (msgType) {
      case 'stream':
      case 'display_data':
      case 'execute_result':
      case 'error': {
        const index = outputs.add(asOutput(content, msgType)) - 1;
        const displayId = displayIdOf(content);
        if (displayId !== undefined) {
          displays.set(displayId, [...(displays.get(displayId) ?? []), index]);
        }
        return false;
      }
      case 'update_display_data': {
        const displayId = displayIdOf(content);
        const update = asOutput(content, 'display_data');
        for (const index of (displayId && displays.get(displayId)) || []) {
          outputs.set(index, update);
        }
        return false;
      }
      case 'clear_output':
        outputs.clear(Boolean(content.wait));
        displays.clear();
        return false;
      default:
        return true;
    }
  };
}

/** An IOPub message's content as an nbformat output; `transient` is not part of nbformat. */
function asOutput(content: Record<string, unknown>, outputType: string): nbformat.IOutput {
  const { transient, ...output } = content;
  return { ...output, output_type: outputType } as nbformat.IOutput;
}

function displayIdOf(content: Record<string, unknown>): string | undefined {
  const transient = content.transient as { display_id?: unknown } | undefined;
  return typeof transient?.display_id === 'string' ? transient.display_id : undefined;
}
