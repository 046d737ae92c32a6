"""The results browser's pages at a million comparisons: counted up to a bound, rows fetched by id first.

A page of `result_rows` is found in two steps: the ids of the page (cut from the filtered ids, no vote
counts computed for the rows skipped), then those rows with their counts and votes. The count of
matches stops at `COUNT_BOUND` + 1 (`FILTERED_COUNT_BOUND` + 1 under a filter): past it the page says
"more than" and pages on without a last page (a full page has a next one), so no request counts a
million rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db.models import QuerySet

from annotate.models import Comparison

COUNT_BOUND = 10_000
# Under a filter the matches are found by walking the campaign in id order until the bound: a lower
# bound stops the walk sooner when matches are sparse (a rater's items among a million).
FILTERED_COUNT_BOUND = 1_000


class BoundedPage(Page):
    """A page that knows whether a row follows it (fetched one row past its end)."""

    def __init__(self, object_list: Sequence[Any], number: int, paginator: BoundedPaginator, more: bool):
        super().__init__(object_list, number, paginator)
        self.more = more

    def has_next(self) -> bool:
        return self.more


class BoundedPaginator(Paginator):
    """Pages of a comparisons queryset with a bounded count; `capped` when more than `COUNT_BOUND` match.

    The count reads the ids of the first `COUNT_BOUND` + 1 matches (one pass of the filters), and the
    pages within them are cut from those ids; `fetch` turns a page's ids into its rows (the rows with
    their votes, without the filters again).
    """

    def __init__(
        self,
        rows: QuerySet[Comparison],
        per_page: int,
        fetch: Callable[[list[int]], QuerySet[Comparison]],
        filtered: bool = False,
    ) -> None:
        super().__init__(rows, per_page)
        self.rows = rows
        self.fetch = fetch
        self.bound = FILTERED_COUNT_BOUND if filtered else COUNT_BOUND

    @cached_property
    def head(self) -> list[int]:
        return list(self.rows.values_list("pk", flat=True)[: self.bound + 1])

    @cached_property
    def count(self) -> int:  # type: ignore[override]
        return len(self.head)

    @property
    def capped(self) -> bool:
        return self.count > self.bound

    def validate_number(self, number: Any) -> int:
        try:
            value = int(number)
        except (TypeError, ValueError) as exc:
            raise PageNotAnInteger("That page number is not an integer") from exc
        if value < 1:
            raise EmptyPage("That page number is less than 1")
        if not self.capped and value > self.num_pages:
            raise EmptyPage("That page contains no results")
        return value

    def get_page(self, number: Any) -> BoundedPage:
        try:
            number = self.validate_number(number)
        except PageNotAnInteger:
            number = 1
        except EmptyPage:
            number = self.num_pages
        page = self.page(number)
        if not page.object_list and number > 1:
            # Past the end of a capped list (a page number typed in): its last page, counted this once.
            total = self.rows.values("pk").count()
            page = self.page(max(1, -(-total // self.per_page)))
        return page

    def page(self, number: Any) -> BoundedPage:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        end = bottom + self.per_page + 1
        if end <= len(self.head) or not self.capped:
            ids = self.head[bottom:end]
        else:  # past the counted matches: this page's ids only (and one more)
            ids = list(self.rows.values_list("pk", flat=True)[bottom:end])
        rows = list(self.fetch(ids[: self.per_page]))
        return BoundedPage(rows, number, self, more=len(ids) > self.per_page)
