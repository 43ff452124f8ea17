"""The care apps: coordination of care, one Django app per need (scheduling, referral,
registers, discharges), all holding personal data only through :mod:`maillage.care.people`."""
