"""The shared personal-data module of the care apps.

Done once for all of them: identity traits as the national identity-vigilance rules (RNIV)
define them, contact, consent (:mod:`.models`); encryption of free-text health fields with keys
kept outside the database (:mod:`.crypto`); the audit of every read and write (:mod:`.audit`);
the one object-level check (:mod:`.permissions`); retention, access requests and erasure
(:mod:`.retention`); the guard of every care page, login + role + second factor (:mod:`.views`).
"""
