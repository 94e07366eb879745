"""Responses too large to hold dense: read, folded and faked through their non-zeros.

The grating and calorimeter sets (Chandra LETG, Hitomi SXS, XRISM Resolve) fake
end to end in test_datasets.py. Here the sparse path is checked against a known
answer: a small response forced sparse (by lowering MAX_DENSE_ELEMENTS) must
read to the same matrix and fold to the same expected counts as the dense path.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from astropy.io import fits

import specdsl
from specdsl import fold
from specdsl.cli import main
from specdsl.errors import OGIPError, SpecdslError
from specdsl.fold import BlockLayout, FoldedModel
from specdsl.response import Observation, ogip, read_arf, read_rmf
from specdsl.response.ogip import SparseResponse

MODEL = "tbabs*powerlaw"


@pytest.fixture
def force_sparse(monkeypatch):
    """Every response above 1000 elements is held sparse, as a grating one is."""
    monkeypatch.setattr(ogip, "MAX_DENSE_ELEMENTS", 1000)


@pytest.fixture(scope="module")
def model():
    return specdsl.compile(MODEL)


def _values(count: int) -> dict:
    rng = np.random.default_rng(7)
    return {
        "tbabs_1.nH": rng.uniform(0.01, 0.5, count),
        "powerlaw_1.PhoIndex": rng.uniform(1.0, 3.0, count),
        "powerlaw_1.norm": rng.uniform(0.5, 2.0, count),
    }


# ------------------------------------------------------------------ reading


@pytest.mark.parametrize(
    "relpath",
    [
        "chandra-acis-3c273/3c273.rmf",  # variable-length groups, channels from 1
        "swift-xrt-pc/swxpc0to12s6_20130101v014.rmf.gz",  # fixed width, from 0
        "rosat-pspc-rsp/pspcc_gain1_256.rsp",  # full response, zero-width bins
    ],
)
def test_sparse_read_holds_exactly_the_dense_matrix(monkeypatch, shared_data, relpath):
    dense = read_rmf(shared_data / relpath)
    monkeypatch.setattr(ogip, "MAX_DENSE_ELEMENTS", 1000)
    sparse = read_rmf(shared_data / relpath)

    assert isinstance(sparse.matrix, SparseResponse)
    assert sparse.matrix.shape == dense.matrix.shape
    assert sparse.matrix.nnz == np.count_nonzero(dense.matrix)
    np.testing.assert_array_equal(sparse.matrix.toarray(), dense.matrix)
    assert sparse.is_full_response == dense.is_full_response
    assert sparse.first_channel == dense.first_channel


def test_a_large_diagonal_is_sparse_and_never_densified(shared_data):
    arf = read_arf(shared_data / "hitomi-sxs-no-rmf" / "ah100040040sxs.arf.gz")
    rmf = ogip.diagonal_redistribution(arf, first_channel=0)

    assert isinstance(rmf.matrix, SparseResponse)
    assert rmf.matrix.shape == (32768, 32768) and rmf.matrix.nnz == 32768
    np.testing.assert_array_equal(rmf.matrix.row_sums(), 1.0)
    np.testing.assert_array_equal(rmf.matrix.csr.indices, np.arange(32768))
    with pytest.raises(SpecdslError) as refused:
        np.asarray(rmf.matrix)
    assert "32768 x 32768" in str(refused.value) and "8.0 GiB" in str(refused.value)


def test_too_many_nonzeros_are_refused_with_the_numbers(
    monkeypatch, force_sparse, shared_data
):
    monkeypatch.setattr(ogip, "MAX_SPARSE_ELEMENTS", 10_000)
    with pytest.raises(OGIPError) as refused:
        read_rmf(shared_data / "chandra-acis-3c273" / "3c273.rmf")

    message = str(refused.value)
    assert refused.value.field == "MATRIX"
    assert "1090 x 1024" in message and "non-zero elements" in message
    assert "limit of 10000 non-zeros" in message


def test_a_sparse_observation_shares_one_read_only_matrix(force_sparse, shared_data):
    obs = Observation.from_pha(shared_data / "chandra-acis-3c273" / "3c273.pi")

    assert isinstance(obs.redistribution, SparseResponse)
    assert obs.background.redistribution is obs.redistribution
    with pytest.raises(ValueError):
        obs.redistribution.csr.data[0] = 2.0


# ------------------------------------------------------------------ folding


@pytest.fixture(scope="module")
def acis_pair(shared_data):
    """The 3C 273 ACIS observation held dense and the same read held sparse."""
    path = shared_data / "chandra-acis-3c273" / "3c273.pi"
    dense = Observation.from_pha(path)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ogip, "MAX_DENSE_ELEMENTS", 1000)
        sparse = Observation.from_pha(path)
    # Per-channel AREASCAL, so that the channel factor is checked too.
    areascal = np.linspace(0.8, 1.2, dense.n_channels)
    return (
        dataclasses.replace(dense, areascal=areascal),
        dataclasses.replace(sparse, areascal=areascal),
    )


@pytest.mark.parametrize("grouped", [False, True])
def test_sparse_fold_gives_the_dense_fold_expected_counts(acis_pair, model, grouped):
    dense_obs, sparse_obs = acis_pair
    dense = FoldedModel(model, dense_obs, grouped=grouped)
    sparse = FoldedModel(model, sparse_obs, grouped=grouped)

    assert isinstance(dense._response_matrix(), np.ndarray)
    assert not isinstance(sparse._response_matrix(), np.ndarray)
    assert (sparse.layout.rows, sparse.span) == (dense.layout.rows, dense.span)

    values = _values(5)
    expected = np.asarray(dense.expected_counts(values))
    ours = np.asarray(sparse.expected_counts(values))
    assert expected.shape == ours.shape == (5, dense.n_bins) and expected.max() > 10
    np.testing.assert_allclose(ours, expected, rtol=2e-6, atol=1e-6 * expected.max())
    assert np.array_equal(ours == 0, expected == 0)


def test_sparse_response_product_has_the_dense_elements(acis_pair, model):
    dense_obs, sparse_obs = acis_pair
    dense = FoldedModel(model, dense_obs)._response_matrix()
    sparse = FoldedModel(model, sparse_obs)._response_matrix()

    np.testing.assert_array_equal(sparse.toarray(), dense)
    layout = BlockLayout.from_matrix(sparse, 64)
    assert layout.rows == BlockLayout.from_matrix(dense, 64).rows


@pytest.mark.parametrize("held", ["dense", "sparse"])
def test_grouped_response_sums_the_good_channels_of_each_group(acis_pair, model, held):
    obs = acis_pair[held == "sparse"]
    quality = np.zeros(obs.n_channels, dtype=np.int64)
    quality[[0, 5, 500, 1023]] = 2
    obs = dataclasses.replace(obs, quality=quality)

    full = np.asarray(FoldedModel(model, obs).response, np.float64)
    grouped = np.asarray(FoldedModel(model, obs, grouped=True).response)

    starts = np.flatnonzero(obs.grouping != -1)
    sums = [
        full[:, a:b][:, quality[a:b] == 0].sum(axis=1)
        for a, b in zip(starts, [*starts[1:], obs.n_channels], strict=True)
        if (quality[a:b] == 0).any()
    ]
    assert 1 < grouped.shape[1] == len(sums) < obs.n_channels
    np.testing.assert_allclose(grouped, np.stack(sums, axis=1), rtol=1e-5, atol=1e-3)


def test_stacked_blocks_rebuild_the_matrix(acis_pair, model):
    matrix = FoldedModel(model, acis_pair[1], grouped=True)._response_matrix()
    layout = BlockLayout.from_matrix(matrix, 8)
    heights = layout.padded_heights(matrix.shape[0])

    assert len(set(heights.tolist())) > 1  # several heights, several loops
    rebuilt = np.zeros(matrix.shape)
    for height, (starts, blocks) in zip(
        sorted(set(heights.tolist())), layout.stacks(matrix, np.float64), strict=True
    ):
        members = np.flatnonzero(heights == height)
        for tile, start, block in zip(members, starts, blocks, strict=True):
            c0, c1 = layout.columns[tile]
            rebuilt[start : start + height, c0:c1] += block[:, : c1 - c0]
    np.testing.assert_array_equal(rebuilt, matrix.toarray())


def test_blocks_too_large_are_refused_with_the_numbers(monkeypatch, acis_pair, model):
    monkeypatch.setattr(fold, "MAX_BLOCK_ELEMENTS", 1000)
    with pytest.raises(SpecdslError) as refused:
        FoldedModel(model, acis_pair[1])
    assert "1090 x 1024 response" in str(refused.value)
    assert "limit of 1000" in str(refused.value)


# ---------------------------------------------------------------- end to end


def test_hitomi_grouped_fake_through_the_command_line(shared_data, tmp_path):
    pha = shared_data / "hitomi-sxs-no-rmf" / "ah100040040sxs_src_grp.pha.gz"
    output = tmp_path / "sxs.pha"
    status = main(
        [
            "fakeit",
            str(pha),
            "--rmf",
            "diagonal",
            "--grouped",
            "--model",
            MODEL,
            "--count",
            "2",
            "--output",
            str(output),
        ]
    )

    assert status in (0, None)
    with fits.open(pha) as source:
        table = source["SPECTRUM"].data
        good = table["QUALITY"] == 0
        n_groups = np.unique(np.cumsum(table["GROUPING"] != -1)[good]).size
    with fits.open(output) as written:
        counts = written["SPECTRUM"].data["COUNTS"]
        assert counts.shape == (2, n_groups)
        assert counts.sum() > 0
