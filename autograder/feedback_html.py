"""The HTML of a feedback report: a notebook rendered by nbconvert so that a student can read it
offline, with nothing that could run in the reader's browser.

- Markdown and HTML outputs are cleaned by `clean_html` with an allowlist of ordinary document
  tags (headings, paragraphs, tables, lists, code, images, MathML), where nbconvert's own
  `sanitize_html` escapes headings, paragraphs and table headers into visible `<h1>` text.
- Math (`$...$`, `$$...$$`) in markdown becomes MathML (latex2mathml), which browsers draw
  without MathJax; the page loads no script (no MathJax or Mermaid from a CDN).
- Plots are the notebook's image/png outputs, embedded as data URIs by nbconvert.
"""

from __future__ import annotations

import html
import re

import bleach
from jinja2 import DictLoader
from nbconvert import HTMLExporter
from nbconvert.exporters.html import contextfilter

TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block notebook_css -%}{{ super() }}<style>math { font-size: 1.15em; }</style>{%- endblock notebook_css -%}
"""

MATHML_TAGS = ["math", "semantics", "annotation", "mrow", "mi", "mo", "mn", "ms", "mtext",
               "mspace", "msup", "msub", "msubsup", "mfrac", "msqrt", "mroot", "mover", "munder",
               "munderover", "mtable", "mtr", "mtd", "mstyle", "mpadded", "mphantom", "menclose",
               "mfenced"]
TAGS = sorted({*bleach.ALLOWED_TAGS, "h1", "h2", "h3", "h4", "h5", "h6", "p", "div", "span", "pre",
               "code", "table", "thead", "tbody", "tr", "th", "td", "br", "hr", "img", "sup", "sub",
               "del", "details", "summary", "dl", "dt", "dd", "figure", "figcaption", *MATHML_TAGS})
ATTRIBUTES = {"*": ["class", "id", "title"], "a": ["href", "title"],
              "img": ["src", "alt", "width", "height"], "th": ["colspan", "rowspan", "align"],
              "td": ["colspan", "rowspan", "align"], "math": ["display", "xmlns"],
              **{t: ["mathvariant", "stretchy", "fence", "separator", "lspace", "rspace", "accent",
                     "accentunder", "displaystyle", "scriptlevel", "width", "columnalign",
                     "movablelimits", "minsize", "maxsize", "symmetric", "largeop", "form",
                     "linethickness", "notation", "encoding"] for t in MATHML_TAGS if t != "math"}}

_PROTECTED_RE = re.compile(r"(<pre\b.*?</pre>|<code\b.*?</code>)", re.S)
_MATH_RE = re.compile(r"\$\$(.+?)\$\$|\$([^$\n]+?)\$", re.S)


def clean_html(text) -> str:
    """The HTML with only allowlisted tags and attributes; anything else is escaped."""
    text = text.decode() if isinstance(text, bytes) else str(text)
    return bleach.clean(text, tags=TAGS, attributes=ATTRIBUTES, protocols=["http", "https", "mailto"])


def _to_mathml(latex: str, display: bool) -> str:
    from latex2mathml.converter import convert

    source = html.unescape(latex).strip()
    try:
        return convert(source, display="block" if display else "inline")
    except Exception:  # math latex2mathml cannot read stays readable as its LaTeX
        return f"<code>{html.escape(source)}</code>"


def math_to_mathml(rendered: str) -> str:
    """Rendered markdown with its $...$ and $$...$$ math turned into MathML (code is left alone)."""
    parts = _PROTECTED_RE.split(rendered)
    for i in range(0, len(parts), 2):
        parts[i] = _MATH_RE.sub(lambda m: _to_mathml(m[1] or m[2], display=m[1] is not None),
                                parts[i])
    return "".join(parts)


class FeedbackExporter(HTMLExporter):
    """nbconvert's lab HTML exporter with MathML math, allowlist cleaning and no scripts."""

    @contextfilter
    def markdown2html(self, context, source):
        return math_to_mathml(super().markdown2html(context, source))


def exporter() -> FeedbackExporter:
    """The exporter feedback reports are written with."""
    ex = FeedbackExporter(template_name="lab", sanitize_html=True,
                          extra_loaders=[DictLoader({"feedback.html.j2": TEMPLATE})],
                          template_file="feedback.html.j2")
    ex.register_filter("clean_html", clean_html)
    return ex
