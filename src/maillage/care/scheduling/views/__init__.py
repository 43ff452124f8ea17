"""Pages and files of the scheduling app (the booking pages, the operator's screen and the
nurse's day come later; the iCalendar exports are here)."""
