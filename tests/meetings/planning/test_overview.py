"""The session page's tallies of the sites' answers, per cluster and in total."""

from __future__ import annotations

from meetings.planning.models import ParticipationPublic, Rsvp
from meetings.planning.overview import tally_answers


def _invited(
    site_id: int, cluster: int | None, rsvp: Rsvp, delegates: int | None
) -> ParticipationPublic:
    return ParticipationPublic(
        site_id=site_id,
        site_code=f"S{site_id}",
        site_name=f"Site {site_id}",
        cluster_id=cluster,
        cluster_name=f"Cụm {cluster}" if cluster else None,
        is_host=False,
        is_cluster_leader=False,
        rsvp=rsvp,
        expected_delegates=delegates,
        endpoint="",
        timezone="Asia/Ho_Chi_Minh",
        local_starts_at="2030-04-19T08:00:00+07:00",
        local_ends_at="2030-04-19T11:00:00+07:00",
    )


def test_answers_are_counted_per_cluster_and_declined_sites_bring_no_delegates():
    invited = [
        _invited(1, 1, Rsvp.accepted, 10),
        _invited(2, 1, Rsvp.declined, 7),  # said 7 before declining: not counted
        _invited(3, 1, Rsvp.tentative, 4),
        _invited(4, 2, Rsvp.accepted, 12),
        _invited(5, None, Rsvp.needs_action, None),
    ]
    answers = tally_answers(invited)
    assert [(c.cluster_id, c.name, len(c.sites)) for c in answers.clusters] == [
        (1, "Cụm 1", 3),
        (2, "Cụm 2", 1),
        (None, None, 1),
    ]
    assert [(c.accepted, c.delegates) for c in answers.clusters] == [(1, 14), (1, 12), (0, 0)]
    assert answers.counts == {"accepted": 2, "declined": 1, "tentative": 1, "needs_action": 1}
    assert answers.delegates == 26


def test_a_session_without_invited_sites_tallies_to_nothing():
    answers = tally_answers([])
    assert answers.clusters == [] and answers.delegates == 0
    assert set(answers.counts.values()) == {0}
