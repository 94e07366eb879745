"""Damaged copies of good OGIP files for tests: rewrite one extension of a file
with an edit (set or delete keywords, change or drop a column)."""

from __future__ import annotations

import os
import shutil

from astropy.io import fits

# The Chandra ACIS 3C 273 set: spectrum, RMF, ARF and background side by side,
# so the header links resolve.
ACIS_SET = ("3c273.pi", "3c273.rmf", "3c273.arf", "3c273_bg.pi")


def copy_acis(shared_data, folder):
    """A private copy of the 3C 273 set in ``folder``: edits never touch the data."""
    for name in ACIS_SET:
        shutil.copy(shared_data / "chandra-acis-3c273" / name, folder / name)
    return folder


def table_copy(hdu, without=()):
    """A table rebuilt from its column values (astropy miscopies unread VLA heaps)."""
    columns = [
        fits.Column(name=c.name, format=c.format, unit=c.unit, array=hdu.data[c.name])
        for c in hdu.columns
        if c.name.upper() not in without
    ]
    return fits.BinTableHDU.from_columns(columns, header=hdu.header, name=hdu.name)


def edit(path, extname, change):
    """Rewrite one extension of `path` in place: `change(table)` returns the new HDU."""
    with fits.open(path) as hdul:
        hdus = [h.copy() if i == 0 else h for i, h in enumerate(hdul)]
        index = next(i for i, h in enumerate(hdus) if h.name == extname)
        hdus[index] = change(table_copy(hdus[index]))
        for i, h in enumerate(hdus):
            if i != index and isinstance(h, fits.BinTableHDU):
                hdus[i] = table_copy(h)
        fits.HDUList(hdus).writeto(path.with_suffix(".tmp"), overwrite=True)
    os.replace(path.with_suffix(".tmp"), path)
    return path


def without(name):
    """An edit that drops one column."""
    return lambda hdu: table_copy(hdu, without=(name,))


def header(**keywords):
    """An edit that sets (value) or deletes (None) header keywords."""

    def change(hdu):
        for key, value in keywords.items():
            if value is None:
                del hdu.header[key]
            else:
                hdu.header[key] = value
        return hdu

    return change


def column(name, change):
    """An edit that changes one column's values in place."""

    def apply(hdu):
        change(hdu.data[name])
        return hdu

    return apply
