"""Directory imports. All go through :func:`maillage.imports.run_import`: the file is read and
validated completely, then written in one transaction keyed on FINESS / RPPS numbers, so
re-running is idempotent."""
