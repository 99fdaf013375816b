"""The risk review reads a cell as the live kernel will run it, and fails closed.

Each case is a way ``--approve risky`` let flagged code run without a person: an earlier cell,
itself unflagged or run by the user, changed how IPython reads the next one (``%autocall``,
``%alias``, ``%rehashx``, a ``__future__`` import, an input transformer, a stored wrapper), or
the cell was one the review could not read at all (too deep). Each is checked in a real
kernel: the agent's cell must wait for a person, and after Reject the harm must not be done.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.kernel import KernelHarness
from tests.support.llm_server import ScriptedLLMServer
from tests.support.replies import code

pytestmark = pytest.mark.kernel


def review_in_kernel(kernel: KernelHarness, cell: str) -> list[str]:
    """The flags the review gives ``cell`` in the kernel, on the kernel's namespace (the
    review then reads the cell with the running shell)."""
    run = kernel.execute(
        "import json as _j\nfrom jupyter_agents.safety.risk import review_cell as _r\n"
        f"print(_j.dumps([str(f) for f in _r({cell!r}, namespace=get_ipython().user_ns)]))"
    )
    assert run.status == "ok", run.error_text
    return json.loads(run.stdout.strip().splitlines()[-1])


def waits_then_rejected(kernel: KernelHarness, script: ScriptedLLMServer, cell: str) -> str:
    """Run an agent under --approve risky whose one cell is ``cell``: it must wait for a
    person (the Reject button comes up); reject it. Returns what the widgets showed."""
    script.script(code(cell, "Do it."), code("final_answer('done')"))
    run = kernel.start("%agent --approve risky Do the thing")
    kernel.button("Reject", timeout=20)  # only a cell that waits for a person has one
    html = kernel.html_text()
    kernel.click("Reject")
    kernel.wait_done(run)
    assert run.status == "ok", run.error_text
    return html


def exists(kernel: KernelHarness, name: str) -> bool:
    run = kernel.execute(f"import os as _os\nprint(_os.path.exists({name!r}))")
    return run.stdout.strip() == "True"


def setup(kernel: KernelHarness, cell: str) -> None:
    run = kernel.execute(cell)
    assert run.status == "ok", run.error_text


def test_autocall_makes_a_bare_call_wait(agent_kernel: KernelHarness, script: ScriptedLLMServer):
    setup(agent_kernel, "import os\n%autocall 2")
    try:
        html = waits_then_rejected(agent_kernel, script, 'os.system "touch pwned_autocall"')
        assert "runs a shell command" in html
        assert not exists(agent_kernel, "pwned_autocall")
    finally:
        setup(agent_kernel, "%autocall 0")


def test_an_alias_runs_a_program(agent_kernel: KernelHarness, script: ScriptedLLMServer):
    setup(agent_kernel, "import os\nos.makedirs('alias_victim', exist_ok=True)\n"
          "%alias nuke rm -rf")  # fmt: skip
    try:
        html = waits_then_rejected(agent_kernel, script, "nuke alias_victim")
        assert "runs the shell alias `rm -rf alias_victim`" in html
        assert exists(agent_kernel, "alias_victim")
    finally:
        setup(agent_kernel, "%unalias nuke")


def test_rehashx_makes_every_program_a_bare_word(agent_kernel: KernelHarness):
    setup(agent_kernel, "%rehashx")
    try:
        flags = review_in_kernel(agent_kernel, "touch pwned_rehashx")
        assert flags == ["line 1: %touch pwned_rehashx runs the shell alias `touch pwned_rehashx`"]
    finally:
        setup(agent_kernel, "get_ipython().alias_manager.init_aliases()")


def test_an_input_transformer_from_an_earlier_cell_is_applied(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    setup(
        agent_kernel,
        "def _swap(lines):\n"
        "    return [l.replace('tidy_up()', \"__import__('os').system('touch pwned_tr')\") "
        "for l in lines]\n"
        "get_ipython().input_transformers_cleanup.append(_swap)",
    )
    try:
        html = waits_then_rejected(agent_kernel, script, "tidy_up()")
        assert "runs a shell command" in html
        assert not exists(agent_kernel, "pwned_tr")
    finally:
        setup(agent_kernel, "get_ipython().input_transformers_cleanup.remove(_swap)")


def test_a_stored_wrapper_from_an_earlier_cell_is_followed(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    setup(agent_kernel, "import functools, os\n"
          "tidy = functools.partial(os.system, 'touch pwned_partial')\n"
          "sysm = get_ipython().system")  # fmt: skip
    html = waits_then_rejected(agent_kernel, script, "tidy()")
    assert "runs a shell command" in html
    assert not exists(agent_kernel, "pwned_partial")
    assert review_in_kernel(agent_kernel, "sysm('touch x')") == [
        "line 1: !touch x runs a shell command"
    ]


def test_a_cell_too_deep_to_read_is_flagged(agent_kernel: KernelHarness):
    """The review's own parser gives up (RecursionError) before the kernel's compiler might:
    that is no pass. (The agent's reply parser rejects such a cell too; the review must not
    rely on that.)"""
    deep = "x = " + "-" * 3000 + "1\n__import__('os').system('touch pwned_deep')"
    flags = review_in_kernel(agent_kernel, deep)
    assert [f for f in flags if "could not be analysed: it is nested too deeply" in f], flags


def test_future_grammar_is_read_with_the_kernels_flags(tmp_path: Path, llm: ScriptedLLMServer):
    """Last: the flag stays on in the kernel, so a kernel of its own."""
    from tests.conftest import start_kernel

    kernel = start_kernel(llm, tmp_path / "future", widget_frontend=False)
    try:
        cell = "import os\nassert 1 <> 2\nos.system('touch pwned_future')"
        assert any("could not be analysed" in f for f in review_in_kernel(kernel, cell))
        setup(kernel, "from __future__ import barry_as_FLUFL")
        flags = review_in_kernel(kernel, cell)
        assert flags == ["line 3: os.system('touch pwned_future') runs a shell command"]
    finally:
        kernel.shutdown()
