"""The Chinese edition: one source notebook, two languages (docs/translating.md).

`source` reads and writes the Chinese text kept in a source notebook's markdown cells;
`prose` tells a markdown cell's sentences from its code, formulas, links and comments;
`glossary` checks a translation against i18n/glossary.zh-CN.csv and the English names it
allows; `report` is what `python -m autograder translations` prints; `edition` writes the
Chinese release of a notebook from the English one.
"""
