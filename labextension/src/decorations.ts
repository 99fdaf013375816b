/**
 * Shows each agent cell's status on the cell: a `jp-agents-*` class on the cell node and a
 * small badge row above its input ("agent · step 2 · pending"), both kept in step with the
 * cell's `metadata.jupyter_agents`, also for notebooks saved by an earlier run.
 *
 * When the risk review flagged the cell (`metadata.jupyter_agents.risks`), the badge row also
 * gets a warning marker with the number of flags, and the flags are listed one per line
 * between the badge row and the input: the user who approves from the cell's own toolbar
 * sees them there, without the widget under the `%agent` cell.
 *
 * When the code holds text-direction, invisible or control characters, the lines that hold
 * them are shown again below the flags with each such character as a marker (`hidden.ts`):
 * the editor shows the code as it runs, but not what those characters do to it.
 */
import type { Cell } from '@jupyterlab/cells';
import type { NotebookPanel } from '@jupyterlab/notebook';
import { PanelLayout, Widget } from '@lumino/widgets';

import { hiddenLines, IHiddenLine, MAX_HIDDEN_LINES } from './hidden';
import { isObject } from './protocol';
import { flagCount, flagsCaption, flagText, IRiskFlag, listedCount, riskFlags } from './risks';
import { cellLook, ICellLook, knownStatus, LOOK_CLASSES, METADATA_KEY } from './status';

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
  const risks = new CellRisks();
  const hidden = new CellHiddenText();
  const update = (): void => {
    const provenance = cell.model.getMetadata(METADATA_KEY);
    show(cell, badge, risks, cellLook(provenance), provenance);
    showHidden(cell, hidden, cellLook(provenance));
  };
  // Both disconnected when the cell is disposed (its signals are cleared with it).
  cell.model.metadataChanged.connect(update, cell);
  cell.model.sharedModel.changed.connect((_, change) => {
    if (change.sourceChange) {
      update();
    }
  }, cell);
  update();
}

/** The hidden characters of an agent step's code, right above its input. */
function showHidden(cell: Cell, hidden: CellHiddenText, look: ICellLook | null): void {
  const lines = look?.badge ? hiddenLines(cell.model.sharedModel.getSource()) : [];
  if (lines.length === 0) {
    hidden.parent = null;
    return;
  }
  hidden.setLines(lines);
  if (!hidden.parent) {
    const layout = cell.layout as PanelLayout;
    const inputAt = layout.widgets.indexOf(cell.inputArea as Widget);
    layout.insertWidget(inputAt < 0 ? layout.widgets.length : inputAt, hidden);
  }
}

function show(
  cell: Cell,
  badge: CellBadge,
  risks: CellRisks,
  look: ICellLook | null,
  provenance: unknown
): void {
  for (const className of LOOK_CLASSES) {
    cell.removeClass(className);
  }
  if (look?.className) {
    cell.addClass(look.className);
  }
  const layout = cell.layout as PanelLayout;
  // Flags belong to a step's cell, which always has a badge (never the %agent cell).
  const flags = look?.badge ? riskFlags(provenance) : [];
  const status = isObject(provenance) ? knownStatus(provenance.status) : null;
  if (look?.badge) {
    badge.text = look.badge;
    badge.setFlags(flags.length, status);
    if (!badge.parent) {
      // First in the cell, above the input, so it never covers the editor.
      layout.insertWidget(0, badge);
    }
  } else if (badge.parent) {
    badge.parent = null;
  }
  if (flags.length > 0) {
    risks.setFlags(flags, status);
    if (!risks.parent) {
      // Right below the badge row, still above the input (and the cell toolbar in it).
      layout.insertWidget(layout.widgets.indexOf(badge) + 1, risks);
    }
  } else if (risks.parent) {
    risks.parent = null;
  }
}

/** The badge row: one short line of text, styled by the cell's `jp-agents-*` class. */
class CellBadge extends Widget {
  constructor() {
    super();
    this.addClass('jp-agents-badge-row');
    this._label.className = 'jp-agents-badge';
    this.node.appendChild(this._label);
    this._marker.className = 'jp-agents-risk-count';
    const icon = document.createElement('span');
    icon.className = 'jp-agents-risk-icon';
    icon.textContent = '\u26a0\ufe0e'; // ⚠, as text rather than an emoji
    icon.setAttribute('aria-hidden', 'true');
    this._marker.append(icon, this._markerText);
  }

  set text(value: string) {
    this._label.textContent = value;
    this._label.title = `Agent cell: ${value}`;
  }

  /** Show "⚠ N flags" after the badge, or nothing when the review flagged nothing. */
  setFlags(count: number, status: string | null): void {
    if (count === 0) {
      this._marker.remove();
      return;
    }
    this._markerText.textContent = flagCount(count);
    this._marker.title = flagsCaption(count, status);
    if (!this._marker.parentNode) {
      this.node.appendChild(this._marker);
    }
  }

  private readonly _label = document.createElement('span');
  private readonly _marker = document.createElement('span');
  private readonly _markerText = document.createElement('span');
}

/**
 * The flags, one line each ("line 2: shutil.rmtree('build') deletes a whole directory
 * tree"), above the input. Beyond a handful, the rest fold into a "N more" disclosure.
 * Every piece of text goes in with `textContent`: a reason may quote code, never markup.
 */
class CellRisks extends Widget {
  constructor() {
    super();
    this.addClass('jp-agents-risks');
  }

  setFlags(flags: IRiskFlag[], status: string | null): void {
    const key = JSON.stringify([flags, status]);
    if (key === this._shown) {
      return;
    }
    this._shown = key;
    this.node.replaceChildren();
    this.node.title = flagsCaption(flags.length, status);
    const listed = listedCount(flags.length);
    this.node.appendChild(riskList(flags.slice(0, listed)));
    if (listed < flags.length) {
      const more = document.createElement('details');
      more.className = 'jp-agents-risks-more';
      const summary = document.createElement('summary');
      summary.textContent = `${flags.length - listed} more`;
      more.append(summary, riskList(flags.slice(listed)));
      this.node.appendChild(more);
    }
  }

  private _shown = '';
}

function riskList(flags: IRiskFlag[]): HTMLUListElement {
  const list = document.createElement('ul');
  list.className = 'jp-agents-risk-list';
  list.setAttribute('aria-label', 'Risk review flags');
  for (const flag of flags) {
    const item = document.createElement('li');
    item.className = 'jp-agents-risk';
    if (flag.category) {
      item.dataset.category = flag.category;
    }
    item.textContent = flagText(flag);
    const whole = flagText(flag, Infinity);
    if (whole !== item.textContent) {
      item.title = whole; // cut on the cell, whole in the tooltip
    }
    list.appendChild(item);
  }
  return list;
}

/**
 * The lines of the cell that hold hidden characters, each such character as a marker span
 * ("line 2: # check ⟨U+202E⟩ } ⟨U+2066⟩if ok:⟨U+2069⟩"). Text goes in with `textContent`.
 */
class CellHiddenText extends Widget {
  constructor() {
    super();
    this.addClass('jp-agents-hidden');
    this.node.title =
      'Characters that change how this code reads without showing (text direction, ' +
      'zero-width, control), shown here as markers. The code runs with them as stored.';
  }

  setLines(lines: IHiddenLine[]): void {
    const key = JSON.stringify(lines);
    if (key === this._shown) {
      return;
    }
    this._shown = key;
    const heading = document.createElement('div');
    heading.textContent = 'Hidden characters in this code, shown as \u27e8U+…\u27e9:';
    const listing = document.createElement('pre');
    for (const line of lines.slice(0, MAX_HIDDEN_LINES)) {
      const row = document.createElement('div');
      row.append(`line ${line.line}: `);
      for (const part of line.parts) {
        if (part.hidden) {
          const mark = document.createElement('span');
          mark.className = 'jp-agents-hidden-char';
          mark.textContent = part.text;
          row.append(mark);
        } else {
          row.append(part.text);
        }
      }
      listing.appendChild(row);
    }
    if (lines.length > MAX_HIDDEN_LINES) {
      const more = document.createElement('div');
      more.textContent = `… and ${lines.length - MAX_HIDDEN_LINES} more line(s)`;
      listing.appendChild(more);
    }
    this.node.replaceChildren(heading, listing);
  }

  private _shown = '';
}
