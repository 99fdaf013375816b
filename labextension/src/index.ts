/**
 * jupyter-agents in JupyterLab and Notebook 7: the agent's proposed cells become real cells
 * of the notebook (protocol: docs/protocol.md in the Python project).
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { IConsoleTracker } from '@jupyterlab/console';
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';

import { addDecisionCommands } from './commands';
import { decorateNotebook } from './decorations';
import { registerCommTarget } from './kernels';
import { AgentRuns } from './runs';

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-agents:plugin',
  description: 'Agent steps as notebook cells: insert, show status, capture outputs, decide.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [IConsoleTracker],
  activate: (
    app: JupyterFrontEnd,
    notebooks: INotebookTracker,
    consoles: IConsoleTracker | null
  ): void => {
    const runs = new AgentRuns(
      notebooks,
      { name: clientName(app), version: app.version },
      consoles
    );
    const onOpen = runs.open.bind(runs);
    const watchNotebook = (panel: NotebookPanel): void => {
      registerCommTarget(panel.sessionContext, onOpen);
      decorateNotebook(panel);
    };
    notebooks.forEach(watchNotebook);
    notebooks.widgetAdded.connect((_, panel) => watchNotebook(panel));
    consoles?.forEach(panel => registerCommTarget(panel.sessionContext, onOpen));
    consoles?.widgetAdded.connect((_, panel) => registerCommTarget(panel.sessionContext, onOpen));
    addDecisionCommands(app, notebooks, runs);
    // Emitted before the cell's execute request is sent, so the kernel hears of it first.
    NotebookActions.executionScheduled.connect((_, { notebook, cell }) => {
      const model = notebook.model;
      if (model) {
        runs.find(model, cell.model.id)?.ranByUser(cell.model.id);
      }
    });
  }
};

/** "jupyterlab" or "jupyter-notebook", for the handshake's `client`. */
function clientName(app: JupyterFrontEnd): string {
  return app.name.toLowerCase().replace(/\s+/g, '-');
}

export default plugin;
