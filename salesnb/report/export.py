"""Executed notebook -> a self-contained HTML page (code hidden, charts inline, nothing
fetched from the network)."""

from __future__ import annotations

import contextlib
import re
import threading
from pathlib import Path

from salesnb.i18n import gettext, language
from salesnb.report.kernels import KERNEL_NAME, _register_engine, study_exporter_class

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


_EXPORTERS = threading.local()


def _exporter():
    """One HTML exporter per thread: building one compiles the templates (~0.2 s), and
    exporters are not shared across threads.

    nbconvert's HTMLExporter re-parses the page it rendered with BeautifulSoup (the inlined
    JupyterLab CSS and every chart included) only to add a generic alt text to images and
    tabindex attributes: about 40% of the export's CPU. The study template writes the chart
    titles as alt text itself, so the page is taken as rendered.
    """
    exporter = getattr(_EXPORTERS, "html", None)
    if exporter is None:
        StudyExporter = study_exporter_class()
        exporter = _EXPORTERS.html = StudyExporter(
            template_name="lab",
            extra_template_paths=[str(TEMPLATES_DIR)],
            template_file="study.html.j2",
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
            embed_images=True,
        )
    return exporter


def _export_html(
    nb_path: Path, html_path: Path, title: str, banner: str, summary: str = ""
) -> None:
    """Self-contained HTML of an executed notebook: code hidden, images inline, nothing fetched."""
    import nbformat

    nb = nbformat.read(str(nb_path), as_version=4)
    nb.metadata["title"] = title
    translate_markdown(nb)
    nb.metadata.pop("widgets", None)  # widget state would pull the widget manager from a CDN
    exporter = _exporter()
    exporter.language_code = language().split("-")[0]  # ISO 639-1: <html lang="zh">
    body, _ = exporter.from_notebook_node(
        nb, resources={"salesnb_banner": banner, "salesnb_summary": summary}
    )
    html_path.write_text(strip_network_refs(body), encoding="utf-8")


def translate_markdown(nb) -> None:
    """Each markdown cell of ``nb`` in the language of the run: a cell is one message of the
    catalogs (:func:`salesnb.i18n.extract_notebook`), kept as written when not translated."""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.strip():
            text = gettext(cell.source.strip())
            if text != cell.source.strip():
                cell.source = text


def _prewarm() -> None:
    """Import papermill / nbconvert while the first kernels start, not after the first study;
    then export a tiny notebook: the first export imports the Markdown and highlighting stack
    (~0.5 s of CPU, better spent while the kernel server is still importing than later,
    when every core runs a study)."""
    with contextlib.suppress(Exception):
        import nbconvert  # noqa: F401
        import papermill  # noqa: F401

        _register_engine()

        import nbformat

        v4 = nbformat.v4
        table = "<table><tr><th>a&nbsp;b</th></tr><tr><td>1&amp;2</td></tr></table>"
        cell = v4.new_code_cell(
            "x",
            outputs=[
                v4.new_output("stream", name="stdout", text="x\n"),
                v4.new_output("display_data", {"text/markdown": "**x**", "text/plain": "x"}),
                v4.new_output("execute_result", {"text/html": table, "text/plain": "x"}),
            ],
        )
        nb = v4.new_notebook(cells=[v4.new_markdown_cell("# x\n\n*x* `x`"), cell])
        nb.metadata["kernelspec"] = {
            "name": KERNEL_NAME,
            "display_name": "Python 3",
            "language": "python",
        }
        _exporter().from_notebook_node(nb, resources={"salesnb_banner": ""})


_NETWORK_REF = re.compile(
    r"<(script|link|img|iframe)\b[^>]*\b(src|href)\s*=\s*[\"']?(https?:)?//[^>]*>(\s*</\1>)?", re.I
)


def strip_network_refs(text: str) -> str:
    """Remove any element that would fetch a script, stylesheet or image from the network."""
    return _NETWORK_REF.sub("", text)
