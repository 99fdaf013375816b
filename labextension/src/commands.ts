/**
 * Approve and Reject on the pending agent cell's own toolbar (the buttons are declared in
 * schema/plugin.json). They act on the active cell, which is the one showing the cell
 * toolbar, and exist only while that cell is pending and a live run knows it.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import { InputDialog } from '@jupyterlab/apputils';
import type { ICellModel } from '@jupyterlab/cells';
import type { INotebookTracker } from '@jupyterlab/notebook';
import { checkIcon, closeIcon } from '@jupyterlab/ui-components';

import type { AgentRun } from './run';
import type { AgentRuns } from './runs';
import { knownStatus, METADATA_KEY } from './status';

export const CommandIDs = {
  approve: 'jupyter-agents:approve-cell',
  reject: 'jupyter-agents:reject-cell'
};

interface IPendingCell {
  run: AgentRun;
  cellId: string;
}

export function addDecisionCommands(
  app: JupyterFrontEnd,
  notebooks: INotebookTracker,
  runs: AgentRuns
): void {
  const pendingCell = (): IPendingCell | null => {
    const model = notebooks.currentWidget?.content.model;
    const cell = notebooks.activeCell?.model;
    if (!model || !cell || knownStatus(cell.getMetadata(METADATA_KEY)?.status) !== 'pending') {
      return null;
    }
    const cellId = cell.sharedModel.getId();
    const run = runs.find(model, cellId);
    return run ? { run, cellId } : null;
  };
  const isVisible = (): boolean => pendingCell() !== null;
  const isEnabled = (): boolean => {
    const pending = pendingCell();
    return pending !== null && !pending.run.hasDecided(pending.cellId);
  };

  app.commands.addCommand(CommandIDs.approve, {
    label: 'Approve',
    caption: 'Approve this cell: the agent runs it as it is now, with your edits',
    icon: checkIcon,
    isVisible,
    isEnabled,
    execute: () => {
      const pending = pendingCell();
      pending?.run.decide(pending.cellId, 'approve');
    }
  });

  app.commands.addCommand(CommandIDs.reject, {
    label: 'Reject',
    caption: 'Reject this cell: it does not run, and the agent proposes something else',
    icon: closeIcon,
    isVisible,
    isEnabled,
    execute: async () => {
      const pending = pendingCell();
      if (!pending) {
        return;
      }
      const answer = await InputDialog.getText({
        title: 'Reject the proposed cell',
        label: 'Why? The agent reads this (optional).',
        placeholder: 'e.g. use the cleaned table instead',
        okLabel: 'Reject'
      });
      if (answer.button.accept) {
        pending.run.decide(pending.cellId, 'reject', answer.value ?? '');
      }
    }
  });

  // The toolbar buttons re-read isVisible/isEnabled when told the commands changed.
  const refresh = (): void => {
    app.commands.notifyCommandChanged(CommandIDs.approve);
    app.commands.notifyCommandChanged(CommandIDs.reject);
  };
  let watched: ICellModel | null = null;
  const watchActiveCell = (): void => {
    watched?.metadataChanged.disconnect(refresh);
    watched = notebooks.activeCell?.model ?? null;
    watched?.metadataChanged.connect(refresh);
    refresh();
  };
  notebooks.currentChanged.connect(watchActiveCell);
  notebooks.activeCellChanged.connect(watchActiveCell);
  runs.changed.connect(refresh);
}
