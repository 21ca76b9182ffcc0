"""Sphinx directive ``markdown-report``: show a generated Markdown report, if present.

The benchmark scripts write their results as Markdown (``benchmarks/studies/quality.md``)
and the documentation has no Markdown parser, so this directive converts the
little Markdown they use (headings, paragraphs, pipe tables, inline code) to
reStructuredText. When the file does not exist, the directive logs a Sphinx
warning naming the path (so ``sphinx-build -W`` fails: a moved or renamed
report is caught, not silently replaced) and shows its own content instead, so
that a build without ``-W`` still renders the page::

    .. markdown-report:: ../benchmarks/studies/quality.md
       :images: quality_roc.png quality_confusion.png

       Not generated yet: run ``python -m benchmarks.studies.quality``.

``:images:`` names pictures beside the Markdown file that are shown after it
when they exist. ``:sections:`` makes the report's ``##`` and deeper headings
sections of the page, which then appear in its on-page navigation, and its
``#`` title a plain paragraph (the page has a title of its own); without it
every heading is a rubric, outside the page's table of contents.
"""

import re
from pathlib import Path
from typing import ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

_CODE_SPAN = re.compile(r"(`[^`]+`)")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)]+)\)")


def _inline(text):
    """Markdown inline markup (code spans, links) to reStructuredText.

    Outside code spans, ``|`` (a substitution in reStructuredText) and a lone
    ``*`` (the start of emphasis) are escaped.
    """
    parts = _CODE_SPAN.split(text)
    for i, part in enumerate(parts):
        if i % 2:
            parts[i] = f"`{part}`"
        else:
            part = (
                part.replace("\\", "\\\\").replace("|", "\\|").replace(" * ", " \\* ")
            )
            parts[i] = _LINK.sub(lambda m: f"`{m.group(1)} <{m.group(2)}>`__", part)
    return "".join(parts)


def _table(rows):
    cells = [
        [_inline(cell.strip()) for cell in row.strip().strip("|").split("|")]
        for row in rows
        if not re.fullmatch(r"\|?[\s:|-]+\|?", row.strip())  # the |---| line
    ]
    width = max(len(row) for row in cells)
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in cells:
        row = row + [""] * (width - len(row))
        lines.append(f"   * - {row[0]}".rstrip())
        lines += [f"     - {cell}".rstrip() for cell in row[1:]]
    return [*lines, ""]


# Underlines of the sections made of ``##``, ``###``, ... headings
_UNDERLINES = "-~^\"'"


def _heading(line, sections):
    level = len(line) - len(line.lstrip("#"))
    title = _inline(line.lstrip("#").strip())
    if not sections:
        return [f".. rubric:: {title}", ""]
    if level == 1:
        return [title, ""]
    return [title, _UNDERLINES[min(level, len(_UNDERLINES) + 1) - 2] * len(title), ""]


def markdown_to_rst(text, sections=False):
    r"""Convert headings, paragraphs, pipe tables and inline code.

    A heading becomes a rubric, so that the report does not add sections to
    the page's table of contents; with ``sections=True`` a ``#`` heading
    becomes a paragraph and deeper ones become sections, ``##`` the highest.
    Fenced code blocks become literal blocks.

    >>> print(markdown_to_rst("# Title\n\nRun `x`.\n\n| a | b |\n| --- | --- |\n| 1 | |"))
    .. rubric:: Title
    <BLANKLINE>
    Run ``x``.
    <BLANKLINE>
    .. list-table::
       :header-rows: 1
    <BLANKLINE>
       * - a
         - b
       * - 1
         -
    <BLANKLINE>
    >>> print(markdown_to_rst("# Card\n\n## Use `x`\n\nText.\n\n### Figures", True))
    Card
    <BLANKLINE>
    Use ``x``
    ---------
    <BLANKLINE>
    Text.
    <BLANKLINE>
    Figures
    ~~~~~~~
    <BLANKLINE>
    """
    out, table, fence = [], [], None
    for line in text.splitlines():
        if fence is not None:
            if line.strip().startswith("```"):
                out += ["::", ""] + [f"   {code}" for code in fence] + [""]
                fence = None
            else:
                fence.append(line)
            continue
        if line.strip().startswith("|"):
            table.append(line)
            continue
        if table:
            out += _table(table)
            table = []
        if line.strip().startswith("```"):
            fence = []
        elif line.startswith("#"):
            out += _heading(line, sections)
        else:
            out.append(_inline(line))
    if table:
        out += _table(table)
    lines = []
    for line in out:  # one blank line at most between blocks
        if line.strip() or (lines and lines[-1].strip()):
            lines.append(line)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines) + "\n"


class MarkdownReport(SphinxDirective):
    """Include a Markdown report converted to reStructuredText.

    A missing file is a warning (an error under ``-W``); the directive's
    content, or a one-line note without it, stands in for the report.
    """

    required_arguments = 1
    has_content = True
    option_spec: ClassVar[dict] = {
        "images": directives.unchanged,
        "sections": directives.flag,
    }

    def run(self):
        """Return the report's nodes, or warn and return the fallback when it is absent."""
        _, absolute = self.env.relfn2path(self.arguments[0])
        path = Path(absolute)
        if not path.is_file():
            logger.warning(
                "markdown-report: %s not found (resolved to %s)",
                self.arguments[0],
                path.resolve(),
                location=self.get_location(),
                type="markdown_report",
                subtype="missing",
            )
            if self.content:
                return self.parse_content_to_nodes()
            return [nodes.paragraph(text=f"Report not found: {self.arguments[0]}")]
        self.env.note_dependency(absolute)
        sections = "sections" in self.options
        text = markdown_to_rst(path.read_text(encoding="utf-8"), sections)
        folder = Path(self.arguments[0]).parent
        for name in (self.options.get("images") or "").split():
            if (path.parent / name).is_file():
                text += f"\n.. image:: {(folder / name).as_posix()}\n   :width: 45%\n"
        return self.parse_text_to_nodes(text, allow_section_headings=sections)


def setup(app):
    """Register the ``markdown-report`` directive with Sphinx."""
    app.add_directive("markdown-report", MarkdownReport)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
