"""Sites listed by cluster. Register order keeps a cluster's sites together, and every
list by cluster (the register, a session's invited sites, the live board) groups them so."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from meetings.register.models import ClusterPublic


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


def cluster_sizes(clusters: Sequence[ClusterPublic], register_size: int) -> dict[int | None, int]:
    """How many sites each cluster has; None counts the sites without a cluster."""
    sizes: dict[int | None, int] = {c.id: c.site_count for c in clusters}
    sizes[None] = register_size - sum(c.site_count for c in clusters)
    return sizes
