from django.dispatch import Signal

# Sent after commit when a new notice version is published (kwargs: notice_id).
# dataops listens, to tell people who consented under an earlier version.
notice_published = Signal()
