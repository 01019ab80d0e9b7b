"""Monthly scheduling (项目调度): annual plans, monthly reports and their review, and which
projects must report a month and have not. The aggregate over them, investment against
time progress, is ``app.services.stats.investment``."""
