"""Measure 5: latency a person feels in real JupyterLab (with our extension) in Chromium.

One ``%agent`` run (approval on, the default) proposes a warm-up cell and then one cell per
repetition. For each, after the Approve button is enabled and a human-like pause, Playwright
clicks the widget's Approve, and we time:

- click → execution start: from the browser dispatching the click event (a capturing
  listener's ``Date.now()``) to the approved cell's first line running in the kernel (it
  stores ``time.time()``). The path: the widget's comm message to the kernel, the decision,
  the notebook protocol's round trips (read the cell's current text, capture its outputs),
  then ``run_cell_async``.
- click → output visible: to the cell's first printed line appearing in the page.
- token arrival → visible: each reply streams ``browser_tokens`` marker words, one SSE event
  every ``browser_token_interval`` seconds, from a paced loopback server that notes when each
  left (loopback: it reaches the kernel's socket well under a millisecond later), to the word
  appearing in the page.

Then, in the same kernel (warm: extension loaded, litellm imported), ``browser_repeats`` cells
``%agent --approve auto --max-steps 1 ...`` are run one at a time as Ctrl+Enter runs them, and
we time run → first streamed token visible: from the page running the cell (``Date.now()``
just before JupyterLab's ``notebook:run-cell`` command) to the reply's first word appearing.
The model answers at once, so this is the time to first token on screen with an instant model.

"Appearing in the page" is the moment a MutationObserver sees the text inserted into the DOM,
followed by the next animation frame (when the browser can paint it). Kernel, server and
browser read the same system clock; the offset between Python's ``time.time()`` and the
page's ``Date.now()`` is measured and applied, and with it their 1 ms resolution bounds the
error. The warm-up step is not counted.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from . import stats
from .kernels import kernel_env
from .paced_server import PacedModelServer
from .report import Measure, Table, ms

NOTEBOOK = "latency.ipynb"
TIMES_FILE = "bench-kernel-times.json"
SETUP = """\
%load_ext jupyter_agents
%agent_config model=openai/scripted model_retries=0
import time
import jupyter_agents.agent.model
jupyter_agents.agent.model.load_litellm()
_bench_started = {}"""
DUMP = f"""\
import json
with open({TIMES_FILE!r}, "w") as handle:
    json.dump(_bench_started, handle)"""
#: Pause between the Approve button becoming enabled and the click (no one clicks faster).
HUMAN_PAUSE_MS = 300
#: A run timed from Ctrl+Enter to its first streamed word on screen (model answers at once).
FIRST_TOKEN_CELL = "%agent --approve auto --max-steps 1 Say {name}, then finish."

#: Installed in the page before the run: first-seen times of marker text, and click times.
INSTRUMENT = """() => {
  const bench = window.__bench = {seen: {}, clicks: {}, runs: {}, step: null};
  const pattern = /[sf]\\d\\dt\\d\\d|ran [sf]\\d\\d/g;
  const note = (text, now) => {
    for (const match of text.matchAll(pattern)) {
      if (!(match[0] in bench.seen)) {
        const entry = bench.seen[match[0]] = {dom: now, frame: null};
        requestAnimationFrame(() => { entry.frame = Date.now(); });
      }
    }
  };
  new MutationObserver(mutations => {
    const now = Date.now();
    for (const mutation of mutations) {
      if (mutation.type === 'characterData') {
        note(mutation.target.textContent || '', now);
      } else {
        for (const node of mutation.addedNodes) note(node.textContent || '', now);
      }
    }
  }).observe(document.body, {childList: true, subtree: true, characterData: true});
  window.addEventListener('click', () => {
    if (bench.step !== null && !(bench.step in bench.clicks)) bench.clicks[bench.step] = Date.now();
  }, true);
}"""


def step_name(number: int) -> str:
    return f"s{number:02d}"


def run_name(number: int) -> str:
    return f"f{number:02d}"


def reply_tokens(number: int, tokens: int, last: bool) -> list[str]:
    """Marker words for the thought, then the cell: it stores its start time and prints."""
    name = step_name(number)
    code = f'_bench_started["{name}"] = time.time()\nprint("ran", "{name}")'
    if last:
        code += "\nfinal_answer('done')"
    return [f"{name}t{j:02d} " for j in range(tokens)] + [f"\n```python\n{code}\n```"]


def first_token_reply(number: int, tokens: int) -> list[str]:
    """Marker words, then a cell that prints and ends the run."""
    name = run_name(number)
    code = f'print("ran", "{name}")\nfinal_answer("{name}")'
    return [f"{name}t{j:02d} " for j in range(tokens)] + [f"\n```python\n{code}\n```"]


def run(ctx: Any) -> Measure:
    from tests.support.lab import chromium, running_lab

    config = ctx.config
    steps = config.browser_repeats + 1  # step 0 warms up
    runs = config.browser_repeats
    home = ctx.directory("browser")
    with PacedModelServer(config.browser_token_interval) as paced:
        paced.script(
            *(reply_tokens(n, config.browser_tokens, n == steps - 1) for n in range(steps))
        )
        paced.script(*(first_token_reply(n, config.browser_tokens) for n in range(runs)))
        with running_lab(home, kernel_env(paced.base_url, home)) as lab:
            with chromium() as browser:
                page = browser.new_page(viewport={"width": 1280, "height": 1100})
                offset = _clock_offset(page)
                seen = _drive(ctx, page, lab, steps, runs)
                browser_version = browser.version
            started = json.loads((lab.root / TIMES_FILE).read_text())
        sent = list(paced.sent)
    return _report(seen, started, sent, offset, steps, browser_version, config)


def _drive(ctx: Any, page: Any, lab: Any, steps: int, runs: int) -> dict[str, Any]:
    from playwright.sync_api import expect

    from tests.support.notebooks import write_python_notebook

    agent = f"%agent --max-steps {steps} Run the timing cells."
    timed_runs = [FIRST_TOKEN_CELL.format(name=run_name(n)) for n in range(runs)]
    write_python_notebook(lab.root / NOTEBOOK, [SETUP, agent, DUMP, *timed_runs])
    lab.start_session(NOTEBOOK)
    page.goto(lab.notebook_url(NOTEBOOK))
    page.wait_for_function(
        """() => {
            const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
            const context = panel && panel.sessionContext;
            const kernel = context && context.session && context.session.kernel;
            return Boolean(context && context.isReady && kernel
                && kernel.connectionStatus === 'connected' && kernel.status === 'idle');
        }""",
        timeout=90_000,
    )
    page.evaluate(INSTRUMENT)
    # The first three cells (set-up, the approval run, the dump of the kernel's times).
    page.evaluate(
        """() => {
            window.jupyterapp.shell.currentWidget.content.activeCellIndex = 3;
            window.jupyterapp.commands.execute('notebook:run-all-above');
        }"""
    )
    approve = page.locator(".jupyter-agents button.widget-button:visible").filter(
        has_text=re.compile(r"^\s*Approve\s*$")
    )
    pending = page.locator(".jp-Notebook .jp-Cell.jp-agents-pending")
    for number in range(steps):
        name = step_name(number)
        expect(pending).to_contain_text(f'"{name}"', timeout=90_000)
        expect(approve).to_be_enabled(timeout=30_000)
        page.wait_for_timeout(HUMAN_PAUSE_MS)
        page.evaluate(f"() => {{ window.__bench.step = {name!r}; }}")
        approve.click()
        page.wait_for_function(
            f"() => (window.__bench.seen['ran {name}'] || {{}}).frame", timeout=30_000
        )
        ctx.log(f"browser: step {number + 1}/{steps}")
    deadline = time.monotonic() + 60
    while not (lab.root / TIMES_FILE).exists():
        if time.monotonic() > deadline:
            raise RuntimeError("the kernel never wrote its timings (did the run end?)")
        time.sleep(0.1)
    _wait_idle(page)
    for number in range(runs):
        _timed_run(page, run_name(number), timed_runs[number])
        ctx.log(f"browser: run {number + 1}/{runs}")
    return page.evaluate("() => window.__bench")


def _wait_idle(page: Any) -> None:
    """Until the kernel is idle and no cell of the notebook is queued or running."""
    page.wait_for_function(
        """() => {
            const panel = window.jupyterapp.shell.currentWidget;
            const kernel = panel.sessionContext.session.kernel;
            const busy = Array.from(panel.content.model.cells)
                .some(cell => cell.type === 'code' && cell.executionState === 'running');
            return kernel.status === 'idle' && !busy;
        }""",
        timeout=60_000,
    )


def _timed_run(page: Any, name: str, source: str) -> None:
    """Run the cell holding ``source`` as Ctrl+Enter does; wait for its output."""
    page.evaluate(
        """async (source) => {
            const notebook = window.jupyterapp.shell.currentWidget.content;
            const index = Array.from(notebook.model.cells)
                .findIndex(cell => cell.sharedModel.getSource() === source);
            if (index < 0) throw new Error('no cell holds ' + source);
            notebook.activeCellIndex = index;
            notebook.deselectAll();
            await notebook.scrollToItem(index, 'start');
        }""",
        source,
    )
    page.wait_for_timeout(HUMAN_PAUSE_MS)
    page.evaluate(
        """(name) => {
            window.__bench.runs[name] = Date.now();
            window.jupyterapp.commands.execute('notebook:run-cell');
        }""",
        name,
    )
    page.wait_for_function(
        f"() => (window.__bench.seen['ran {name}'] || {{}}).frame", timeout=30_000
    )
    _wait_idle(page)


def _clock_offset(page: Any) -> dict[str, float]:
    """The page's Date.now() minus Python's time.time(), in ms, from the tightest of 10 reads."""
    best = None
    for _ in range(10):
        before = time.time() * 1000
        browser = page.evaluate("() => Date.now()")
        after = time.time() * 1000
        reading = {
            "offset_ms": browser - (before + after) / 2,
            "uncertainty_ms": (after - before) / 2,
        }
        if best is None or reading["uncertainty_ms"] < best["uncertainty_ms"]:
            best = reading
    return best


def _report(
    seen: dict[str, Any],
    started: dict[str, float],
    sent: list[tuple[str, float]],
    offset: dict[str, float],
    steps: int,
    browser_version: str,
    config: Any,
) -> Measure:
    shift = offset["offset_ms"]  # Python time (ms) + shift = page time (ms)
    start_latency, output_latency, token_latency, token_dom_latency = [], [], [], []
    first_token = []
    for name, ran in seen["runs"].items():
        entry = seen["seen"].get(f"{name}t00")
        if entry is None or entry["frame"] is None:
            raise RuntimeError(f"the first streamed token of run {name} never became visible")
        first_token.append((entry["frame"] - ran) / 1000)
    for number in range(1, steps):
        name = step_name(number)
        click = seen["clicks"][name]
        start_latency.append((started[name] * 1000 + shift - click) / 1000)
        output_latency.append((seen["seen"][f"ran {name}"]["frame"] - click) / 1000)
    for token, stamp in sent:
        marker = token.strip()
        if not re.fullmatch(r"s\d\dt\d\d", marker) or marker.startswith(step_name(0)):
            continue
        entry = seen["seen"].get(marker)
        if entry is None or entry["frame"] is None:
            raise RuntimeError(f"streamed token {marker!r} never became visible")
        token_latency.append((entry["frame"] - (stamp * 1000 + shift)) / 1000)
        token_dom_latency.append((entry["dom"] - (stamp * 1000 + shift)) / 1000)
    rows = []
    for label, samples in (
        ("Approve click → cell starts running in the kernel", start_latency),
        ("Approve click → cell's first output visible", output_latency),
        ("streamed token arrives → visible", token_latency),
        ("streamed token arrives → in the DOM", token_dom_latency),
        ("run `%agent` (Ctrl+Enter) → first streamed token visible, instant model", first_token),
    ):
        rows.append(
            [
                label,
                str(len(samples)),
                ms(stats.percentile(samples, 0.5)),
                ms(stats.percentile(samples, 0.95)),
            ]
        )
    table = Table(
        ["", "samples", "p50", "p95"],
        rows,
        caption=f"JupyterLab with the jupyter-agents extension, Chromium {browser_version} "
        f"(headless), {steps - 1} approvals after a warm-up; {config.browser_tokens} tokens per "
        f"reply, {config.browser_token_interval * 1000:.0f} ms apart.",
    )
    notes = [
        "smolagents has no notebook interface to compare with; these are absolute numbers.",
        "Visible = the next animation frame after a MutationObserver saw the text inserted "
        "into the page (the frame in which the browser can paint it; JupyterLab may skip "
        "painting cells scrolled out of view). Clock offset page − Python: "
        f"{offset['offset_ms']:.1f} ms ± {offset['uncertainty_ms']:.1f} ms (applied).",
        "Streamed text is shown by the widget, which refreshes at most every 50 ms: a token "
        "waits up to that long by design.",
        f"The click comes {HUMAN_PAUSE_MS} ms after the Approve button is enabled.",
    ]
    data = {
        "click_to_start": stats.summary(start_latency),
        "click_to_output_visible": stats.summary(output_latency),
        "token_to_visible": stats.summary(token_latency),
        "token_to_dom": stats.summary(token_dom_latency),
        "run_to_first_token_visible": stats.summary(first_token),
        "clock_offset": offset,
        "chromium": browser_version,
    }
    return Measure("browser", "Browser latency (JupyterLab + Chromium)", [table], notes, data)
