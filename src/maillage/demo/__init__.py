"""The demonstration: what ``maillage demo`` loads on top of the shipped open data.

It sits above the directory and the observatory (it reads both), so that neither of them
depends on demonstration code:

* :mod:`maillage.demo.synthetic` — synthetic practitioners calibrated on the observatory's
  real aggregates (INSEE, CartoSanté);
* :mod:`maillage.demo.directory` — the dispositifs, perimeters and Actions stated by the seed
  documents, read from the data files in ``maillage/demo/data/``;
* :mod:`maillage.demo.accounts` — the demo login accounts.

Only ``bootstrap``, ``cli``, management commands and tests import this package.
"""
