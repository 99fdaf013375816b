/**
 * Shows each agent cell's status on the cell: a `jp-agents-*` class on the cell node and a
 * small badge row above its input ("agent · step 2 · pending"), both kept in step with the
 * cell's `metadata.jupyter_agents`, also for notebooks saved by an earlier run.
 */
import type { Cell } from '@jupyterlab/cells';
import type { NotebookPanel } from '@jupyterlab/notebook';
import { PanelLayout, Widget } from '@lumino/widgets';

import { cellLook, ICellLook, LOOK_CLASSES, METADATA_KEY } from './status';

/** Keep the cells of this notebook view decorated, as cells come, change and go. */
export function decorateNotebook(panel: NotebookPanel): void {
  const notebook = panel.content;
  const decorateAll = (): void => notebook.widgets.forEach(decorateCell);
  void panel.context.ready.then(() => {
    if (notebook.isDisposed || !notebook.model) {
      return;
    }
    decorateAll();
    // The notebook creates widgets for new cells in its own, earlier-connected handler.
    // Connected on behalf of the notebook: disposing it disconnects (Signal.clearData).
    notebook.model.cells.changed.connect(decorateAll, notebook);
  });
}

const decorated = new WeakSet<Cell>();

function decorateCell(cell: Cell): void {
  if (decorated.has(cell)) {
    return;
  }
  decorated.add(cell);
  const badge = new CellBadge();
  const update = (): void => show(cell, badge, cellLook(cell.model.getMetadata(METADATA_KEY)));
  cell.model.metadataChanged.connect(update, cell); // disconnected when the cell is disposed
  update();
}

function show(cell: Cell, badge: CellBadge, look: ICellLook | null): void {
  for (const className of LOOK_CLASSES) {
    cell.removeClass(className);
  }
  if (look?.className) {
    cell.addClass(look.className);
  }
  if (look?.badge) {
    badge.text = look.badge;
    if (!badge.parent) {
      // First in the cell, above the input, so it never covers the editor.
      (cell.layout as PanelLayout).insertWidget(0, badge);
    }
  } else if (badge.parent) {
    badge.parent = null;
  }
}

/** The badge row: one short line of text, styled by the cell's `jp-agents-*` class. */
class CellBadge extends Widget {
  constructor() {
    super();
    this.addClass('jp-agents-badge-row');
    this._label.className = 'jp-agents-badge';
    this.node.appendChild(this._label);
  }

  set text(value: string) {
    this._label.textContent = value;
    this._label.title = `Agent cell: ${value}`;
  }

  private readonly _label = document.createElement('span');
}
