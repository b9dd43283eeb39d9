"""The job store's table, declared here so migrations create it and schema checks know it.

APScheduler's SQLAlchemyJobStore defines the same table and creates it only when it is
missing; the columns below are its own (APScheduler 3.x).
"""

from __future__ import annotations

from sqlalchemy import Column, Float, LargeBinary, Table, Unicode
from sqlmodel import SQLModel

JOBS_TABLE = "apscheduler_jobs"

jobs = Table(
    JOBS_TABLE,
    SQLModel.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)
