"""The crew's parts that need no kernel: the spec, the manager's replies, the summaries."""

from __future__ import annotations

import pytest

from jupyter_agents.crew.manager import ManagerReplyError, parse_manager_reply
from jupyter_agents.crew.role_instructions import (
    SectionSummary,
    role_system_prompt,
    summarize_sections,
)
from jupyter_agents.crew.spec import CrewSpecError, build_crew_spec, parse_crew_text

SPEC = """
task: Find what drives revenue in sales.csv and write it up
process: sequential            # or: hierarchical
agents:
  - role: Data engineer
    goal: Load sales.csv and leave a clean DataFrame named sales
    section: Data preparation
  - role: Analyst
    goal: Find the three strongest drivers of revenue, with evidence
    section: Analysis
  - role: Writer
    goal: Summarize the findings for a manager, in markdown
    section: Report
    model: anthropic/claude-sonnet-4-5
    max_steps: 4
    tools: [fetch_targets]
"""


def spec_from(text: str):
    return build_crew_spec(parse_crew_text(text))


def test_the_issue_example_parses():
    spec = spec_from(SPEC)
    assert spec.task == "Find what drives revenue in sales.csv and write it up"
    assert spec.process == "sequential"
    assert [r.role for r in spec.roles] == ["Data engineer", "Analyst", "Writer"]
    assert [r.section_title for r in spec.roles] == ["Data preparation", "Analysis", "Report"]
    writer = spec.roles[2]
    assert (writer.model, writer.max_steps, writer.tools) == (
        "anthropic/claude-sonnet-4-5",
        4,
        ("fetch_targets",),
    )
    assert spec.handoff_limit == 9
    assert spec.role("analyst").role == "Analyst"


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("task: [unclosed", "not valid YAML (line 1)"),
        ("- just a list", "must be YAML with `task:`"),
        ("agents: []\ntask: t", "must be a list of roles"),
        ("task: t\nagents:\n  - role: A\n    goals: typo", "unknown key 'goals'"),
        ("task: t\nagents:\n  - role: A", "has no `goal:`"),
        (
            "task: t\nprocess: parallel\nagents:\n  - {role: A, goal: g}",
            "'sequential' or 'hierarchical'",
        ),
        ("agents:\n  - {role: A, goal: g}", "the crew has no task"),
        (
            "task: t\nagents:\n"
            "  - {role: A, goal: g, section: S}\n  - {role: B, goal: h, section: s}",
            "'A' and 'B' both own the section 's'",
        ),
        (
            "task: t\nagents:\n  - {role: A, goal: g}\n  - {role: a, goal: h}",
            "two agents have the role",
        ),
        ("task: t\nmax_handoffs: 0\nagents:\n  - {role: A, goal: g}", "max_handoffs must be"),
        (
            "task: t\nagents:\n  - {role: A, goal: g, tools: [1, 2]}",
            "must be a list of function names",
        ),
        ("task: t\nagents:\n  - {role: [1, 2], goal: g}", "`role:` of agent 1 must be text"),
    ],
)
def test_a_bad_spec_is_one_clear_line(text, fragment):
    with pytest.raises(CrewSpecError) as caught:
        spec_from(text)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def test_a_role_without_a_section_owns_one_named_after_it():
    spec = spec_from("task: t\nagents:\n  - {role: Analyst, goal: g}\n  - {role: Writer, goal: h}")
    assert [r.section_title for r in spec.roles] == ["Analyst", "Writer"]


def test_manager_replies():
    roles = ("Data engineer", "Analyst")
    delegate = parse_manager_reply(
        'First the data.\n```json\n{"action": "delegate", "role": "data engineer", '
        '"instructions": "Load sales.csv"}\n```',
        roles,
    )
    assert (delegate.action, delegate.role, delegate.instructions) == (
        "delegate",
        "Data engineer",
        "Load sales.csv",
    )
    assert delegate.thought == "First the data."
    finish = parse_manager_reply('{"action": "finish", "answer": "Price drives revenue."}', roles)
    assert (finish.action, finish.answer) == ("finish", "Price drives revenue.")


@pytest.mark.parametrize(
    "reply, fragment",
    [
        ("I think we should start.", "no JSON object found"),
        (
            '```json\n{"action": "delegate", "role": "Intern", "instructions": "x"}\n```',
            "no role named 'Intern'",
        ),
        ('```json\n{"action": "delegate", "role": "Analyst"}\n```', 'needs "instructions"'),
        ('```json\n{"action": "finish"}\n```', 'needs an "answer"'),
        ('```json\n{"action": "celebrate"}\n```', 'must be "delegate" or "finish"'),
        ("```json\n{action: delegate}\n```", "does not parse"),
    ],
)
def test_unreadable_manager_replies_say_why(reply, fragment):
    with pytest.raises(ManagerReplyError) as caught:
        parse_manager_reply(reply, ("Data engineer", "Analyst"))
    assert fragment in str(caught.value)


def test_section_summaries_stay_short_however_long_the_section():
    long_cells = [f"step_{i} = compute({i})\n" + "more()\n" * 50 for i in range(40)]
    sections = [
        SectionSummary(f"Section {n}", f"Role {n}", notes=["n" * 5000], cells=long_cells)
        for n in range(10)
    ]
    text = summarize_sections(sections)
    assert len(text) < 6 * 1400  # a few lines per section, never the cells themselves
    assert "(34 older not listed)" in text and "more()" not in text
    assert text.splitlines()[0].startswith("## Section 0 (Role 0): nnn")  # older: one line


def test_the_role_prompt_says_who_it_is_and_how_to_hand_off():
    spec = spec_from(SPEC)
    prompt = role_system_prompt(spec, spec.roles[0])
    assert "You are the Data engineer" in prompt
    assert "Load sales.csv and leave a clean DataFrame named sales" in prompt
    assert 'handoff("<role>", note)' in prompt and "'Analyst'" in prompt
    assert "Analyst (Analysis)" in prompt and "Writer (Report)" in prompt


def test_the_python_api_refuses_bad_crews_and_settings_when_they_are_made():
    from jupyter_agents import Agent, Crew
    from jupyter_agents.core.errors import InvalidOption

    analyst = Agent(role="Analyst", goal="Find the drivers")
    with pytest.raises(InvalidOption, match="approve='bogus' is not valid"):
        Agent(approve="bogus")
    with pytest.raises(InvalidOption, match="at least one"):
        Crew([])
    with pytest.raises(CrewSpecError, match="'sequential' or 'hierarchical', not 'nope'"):
        Crew([analyst], process="nope")
    with pytest.raises(InvalidOption, match="max_steps=0 is not valid"):
        Crew([analyst], max_steps=0)
    with pytest.raises(InvalidOption, match="unknown setting"):
        Crew([analyst], max_stpes=3)
