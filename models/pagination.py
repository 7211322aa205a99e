"""The one pagination helper: lists, board columns and tabs all page with it."""
import math
from dataclasses import dataclass


@dataclass
class Page:
    items: list
    number: int
    per_page: int
    total: int

    @property
    def pages(self):
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_previous(self):
        return self.number > 1

    @property
    def has_next(self):
        return self.number < self.pages

    @property
    def first_index(self):
        return 0 if not self.total else (self.number - 1) * self.per_page + 1

    @property
    def last_index(self):
        return min(self.total, self.number * self.per_page)


def paginate(query, number=1, per_page=25):
    """Run `query` for one page (1-based, clamped to the last page) plus its count."""
    total = query.order_by().count()
    number = min(max(1, number), max(1, math.ceil(total / per_page)))
    items = list(query.paginate(number, per_page))
    return Page(items, number, per_page, total)
