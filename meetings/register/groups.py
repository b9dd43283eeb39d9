"""Sites listed by cluster. Register order keeps a cluster's sites together, and every
list by cluster (the register, a session's invited sites, the live board) groups them so."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar


class InCluster(Protocol):
    """A site, or a site's state in a session, that names its cluster."""

    @property
    def cluster_id(self) -> int | None: ...

    @property
    def cluster_name(self) -> str | None: ...


T = TypeVar("T", bound=InCluster)


@dataclass
class ClusterGroup(Generic[T]):
    """One cluster's items (None: the sites without a cluster)."""

    cluster_id: int | None
    name: str | None
    sites: list[T] = field(default_factory=list)
    #: How many sites the whole cluster has, when a page lists only part of it.
    count: int | None = None
    #: How many of them are on the pages before this one, and on the pages after it.
    earlier: int = 0
    later: int = 0


def by_cluster(
    items: Iterable[T], *, sizes: Mapping[int | None, int] | None = None
) -> list[ClusterGroup[T]]:
    """`items` in their order, a group for each run of one cluster; with `sizes`, each group
    also says how many sites its whole cluster has."""
    groups: list[ClusterGroup[T]] = []
    for item in items:
        if not groups or groups[-1].cluster_id != item.cluster_id:
            count = sizes.get(item.cluster_id, 0) if sizes is not None else None
            groups.append(ClusterGroup(item.cluster_id, item.cluster_name, count=count))
        groups[-1].sites.append(item)
    return groups


def page_groups(
    items: Sequence[T], *, counts: Sequence[tuple[int | None, int]], offset: int
) -> list[ClusterGroup[T]]:
    """One page of a list in register order, by cluster: each group counts its whole
    cluster (`counts`, in the list's order) and how many of it the other pages hold, so a
    cluster split across pages says so instead of counting sites the page does not show."""
    starts: dict[int | None, tuple[int, int]] = {}
    position = 0
    for cluster_id, count in counts:
        starts[cluster_id] = (position, count)
        position += count
    groups = by_cluster(items, sizes=dict(counts))
    index = offset
    for group in groups:
        start, count = starts.get(group.cluster_id, (index, len(group.sites)))
        group.earlier = max(0, index - start)
        group.later = max(0, start + count - index - len(group.sites))
        index += len(group.sites)
    return groups
