"""Background topic-model jobs (fits, K sweeps) for the topic-map page.

LDA is not a torch :class:`unsup.models.base.Model`, so these jobs run as "work" jobs of the
shared runner (:meth:`unsup.jobs.ThreadRunner.submit_work`): the same queue, the same limits, the
same survival across refreshes (the page keeps the job id in ``st.query_params``).
"""

from __future__ import annotations

from unsup.jobs import JobSnapshot, Work, get_runner

TopicJob = JobSnapshot


def submit(title: str, work: Work) -> str:
    """Start ``work(progress, should_stop)`` in the background; returns the job id."""
    return get_runner().submit_work(title, work)


def get(job_id: str | None) -> TopicJob | None:
    """A copy of the job's state (the result object itself is shared, not copied)."""
    return get_runner().get(job_id)


def stop(job_id: str) -> None:
    get_runner().stop(job_id)


def wait(job_id: str, timeout: float = 600.0) -> TopicJob:
    return get_runner().wait(job_id, timeout)
