"""The care apps: coordination of care around people (scheduling, referral, registers…).

Personal data lives only here, through :mod:`maillage.care.people`.
"""
