"""The researchers' results browser: every comparison of a campaign with its votes, and one comparison's detail.

Researcher-only pages (raters get 403). Votes by excluded raters are listed, marked, but do not count
towards a comparison's majority or disagreement, as in the report.
"""
