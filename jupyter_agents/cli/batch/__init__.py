"""``jupyter agents batch``: many notebooks × parameter sets, each job a ``run`` on Dask.

Parameters are injected the papermill way; jobs run on Dask distributed workers, each in a
kernel of its own; outputs and a summary are written as jobs finish. Needs the ``batch``
extra (``pip install 'jupyter-agents[batch]'``): Dask and papermill are imported only here.
"""

from .engine import BatchRun, Cluster, SchedulerUnreachable, dask_client
from .job_run import JobOutcome, JobRequest, RunOptions, prepare, run_job
from .jobs import Job, plan_jobs, slug
from .parameter_sets import ParameterError, check_notebook_takes, read_parameter_sets
from .summary import JobRow, job_row, totals

__all__ = [
    "BatchRun",
    "Cluster",
    "Job",
    "JobOutcome",
    "JobRequest",
    "JobRow",
    "ParameterError",
    "RunOptions",
    "SchedulerUnreachable",
    "check_notebook_takes",
    "dask_client",
    "job_row",
    "plan_jobs",
    "prepare",
    "read_parameter_sets",
    "run_job",
    "slug",
    "totals",
]
