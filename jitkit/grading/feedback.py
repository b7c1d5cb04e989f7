"""What an instructor keeps from a grading run: a CSV of the class and a page per notebook.

Takes a `Report`; writes one CSV row per student and exercise (when a student handed in two
copies of a chapter, the better one counts and the row names it) and one HTML page per
notebook with each test's result and why it failed, for handing back.
"""

from __future__ import annotations

import csv
import html
from pathlib import Path

from jitkit.grading.grade import Graded, Report

CSV_FIELDS = (
    "student",
    "assignment",
    "chapter",
    "exercise",
    "points",
    "max_points",
    "passed",
    "message",
    "notebook",
)


def best_per_chapter(report: Report) -> list[Graded]:
    """One graded notebook per (student, chapter): the highest score, then the first path."""
    best: dict[tuple[str, str], Graded] = {}
    for graded in sorted(report.notebooks, key=lambda g: str(g.submission.path)):
        key = (graded.submission.student, graded.chapter)
        if key not in best or graded.points > best[key].points:
            best[key] = graded
    return [best[key] for key in sorted(best)]


def write_csv(report: Report, path: Path) -> None:
    """The class's scores: one row per student and exercise."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, CSV_FIELDS)
        writer.writeheader()
        for graded in best_per_chapter(report):
            for e in graded.exercises:
                writer.writerow(
                    {
                        "student": graded.submission.student,
                        "assignment": graded.submission.assignment,
                        "chapter": graded.chapter,
                        "exercise": e.id,
                        "points": f"{e.points:g}",
                        "max_points": f"{e.max_points:g}",
                        "passed": "yes" if e.passed else "no",
                        "message": e.message,
                        "notebook": e.notebook,
                    }
                )


def feedback_path(folder: Path, graded: Graded) -> Path:
    """folder/STUDENT/NOTEBOOK.html (folder/NOTEBOOK.html when the student is unknown)."""
    student = graded.submission.student
    base = folder / student if student else folder
    return base / f"{graded.submission.path.stem}.html"


def write_feedback(report: Report, folder: Path) -> list[Path]:
    """One HTML page per graded notebook; returns the files written."""
    written = []
    for graded in report.notebooks:
        target = feedback_path(folder, graded)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(page(graded), encoding="utf-8")
        written.append(target)
    return written


def page(graded: Graded) -> str:
    """A self-contained HTML page: the score, a row per test, and what stopped the run."""
    e = html.escape
    sub = graded.submission
    rows = "\n".join(
        f'<tr class="{"pass" if x.passed else "fail"}"><td>{e(x.id)}</td>'
        f"<td>{x.points:g}/{x.max_points:g}</td><td>{'passed' if x.passed else 'failed'}</td>"
        f"<td><code>{e(x.message)}</code></td></tr>"
        for x in graded.exercises
    )
    broken = [c for c in graded.cells if c.status != "ok"]
    cells = "\n".join(
        f"<li>cell {c.index + 1}: {e(c.status)}{': ' + e(c.message) if c.message else ''}</li>"
        for c in broken
    )
    notes = "\n".join(f"<li>{e(n)}</li>" for n in graded.notes)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{e(sub.path.name)}: feedback</title>
<style>
body {{ font-family: sans-serif; max-width: 900px; margin: 2em auto; }}
table {{ border-collapse: collapse; width: 100%; }}
td, th {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }}
tr.pass td:nth-child(3) {{ color: #186a18; }} tr.fail td:nth-child(3) {{ color: #a11; }}
code {{ white-space: pre-wrap; }}
</style></head>
<body>
<h1>{e(sub.path.name)}</h1>
<p>Student: <b>{e(sub.student or "-")}</b> &middot; chapter: {e(graded.chapter)} &middot;
score: <b>{graded.points:g}/{graded.max_points:g}</b></p>
<table><tr><th>test</th><th>points</th><th>result</th><th>why</th></tr>
{rows}
</table>
{f"<h2>Cells that did not run cleanly (counting from 1)</h2><ul>{cells}</ul>" if broken else ""}
{f"<h2>Grader notes</h2><ul>{notes}</ul>" if graded.notes else ""}
</body></html>
"""
