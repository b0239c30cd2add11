"""The drill cycle: due dates, reminders, the daily keyless check, and the APScheduler service that runs them.

`reminder_job` and `keyless_job` are re-exported here because job stores written before the package
existed hold the text references `drill.schedule:reminder_job` and `drill.schedule:keyless_job`.
"""

from drill.schedule.scheduler import keyless_job, reminder_job

__all__ = ["keyless_job", "reminder_job"]
