"""Schedule, Slot and Appointment on the FHIR server (``/fhir/``)."""
