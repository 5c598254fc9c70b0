"""The status page: plain HTML rendered on the server, readable without JavaScript.

Pipeline position: called by ``web`` with the agent's ``StackStatus`` values. ``index`` is a
table of every stack (state, commit, last sync, reason, last plan's summary) with the last diff
folded under a ``<details>`` element; each stack's name links to ``detail`` (its last plan with
the field-level diff, and its revision history). Every value is escaped; plans carry no secret
value (they are masked before they get here).
"""

from __future__ import annotations

from html import escape

from stackup.agent.status import StackStatus

COLOURS = {"synced": "#1a7f37", "syncing": "#0969da", "waiting-approval": "#9a6700",
           "failed": "#cf222e", "rolled-back": "#cf222e", "drifted": "#9a6700",
           "error": "#cf222e"}

STYLE = """
body { font-family: sans-serif; margin: 2em; color: #1f2328; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .4em .6em; border-bottom: 1px solid #d0d7de;
         vertical-align: top; }
.state { color: #fff; padding: .1em .5em; border-radius: 1em; font-weight: bold;
         white-space: nowrap; }
pre { background: #f6f8fa; padding: .6em; overflow-x: auto; }
code { font-size: 95%; }
"""


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta http-equiv=\"refresh\" content=\"10\">"
            f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
            f"<body>{body}</body></html>")


def badge(state: str) -> str:
    return (f"<span class=\"state\" style=\"background:{COLOURS.get(state, '#57606a')}\">"
            f"{escape(state)}</span>")


def _commit(status: StackStatus) -> str:
    if not status.commit:
        return "-"
    title = f"{status.message} ({status.author})" if status.message else status.commit
    return f"<code title=\"{escape(title)}\">{escape(status.commit[:12])}</code>"


def index(stacks: list[StackStatus]) -> str:
    rows = []
    for s in stacks:
        diff = ""
        if s.plan is not None:
            diff = (f"<details><summary>{escape(s.plan.summary or 'plan')}</summary>"
                    f"<pre>{escape(s.plan.text)}</pre></details>")
        last = (f"{escape(s.last_start or '-')}<br>{escape(s.last_result or '-')}"
                f"{f' in {s.last_duration:.1f} s' if s.last_duration is not None else ''}")
        rows.append(
            f"<tr><td><a href=\"/stacks/{escape(s.name)}\">{escape(s.name)}</a></td>"
            f"<td>{badge(s.state)}</td><td>{_commit(s)}<br>{escape(s.message)}</td>"
            f"<td>{last}</td><td>{escape(s.reason)}</td><td>{diff}</td></tr>")
    table = ("<table><thead><tr><th>Stack</th><th>State</th><th>Commit</th><th>Last sync "
             "(UTC)</th><th>Reason</th><th>Last plan</th></tr></thead><tbody>"
             + "".join(rows) + "</tbody></table>")
    return _page("stackup agent", f"<h1>stackup agent</h1>{table}"
                 "<p><a href=\"/api/stacks\">JSON</a> · <a href=\"/metrics\">metrics</a></p>")


def detail(s: StackStatus) -> str:
    plan = (f"<h2>Last plan: {escape(s.plan.summary)}</h2><pre>{escape(s.plan.text)}</pre>"
            if s.plan is not None else "<p>No plan yet.</p>")
    rows = "".join(
        f"<tr><td>{r.get('number')}</td><td>{escape(str(r.get('time')))}</td>"
        f"<td><code>{escape(str(r.get('commit') or '-')[:12])}</code> "
        f"{escape(str(r.get('message') or ''))}</td>"
        f"<td>{escape(str(r.get('outcome')))}</td><td>{escape(str(r.get('command')))}</td>"
        f"<td>{escape(str(r.get('reason') or ''))}</td></tr>"
        for r in reversed(s.history))
    history = ("<h2>Revisions (newest first)</h2><table><thead><tr><th>#</th><th>Time "
               "(UTC)</th><th>Commit</th><th>Outcome</th><th>Command</th><th>Reason</th>"
               f"</tr></thead><tbody>{rows}</tbody></table>")
    head = (f"<p><a href=\"/\">← all stacks</a></p><h1>{escape(s.name)} {badge(s.state)}</h1>"
            f"<p>Project <code>{escape(s.project)}</code>, commit {_commit(s)} "
            f"{escape(s.message)} {escape(s.author)}</p>"
            + (f"<p>{escape(s.reason)}</p>" if s.reason else "")
            + (f"<p>Target {escape(s.target)}: {escape(s.drift_scope)}</p>"
               if s.drift_scope else ""))
    return _page(f"{s.name}: {s.state}", head + plan + history)


def not_found(name: str) -> str:
    return _page("not found", f"<p>No stack named {escape(name)}. <a href=\"/\">All "
                              f"stacks</a></p>")
