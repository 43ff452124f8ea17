"""Patients without a médecin traitant: the waiting list, GPs' capacities and the matching
(issue 10, item 1). Personal data only through :mod:`maillage.care.people`."""
