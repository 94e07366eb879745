"""The fast fold and sampler: block-sparse product, float32 error, streams by index."""

import numpy as np
import pytest
from conftest import tutorial_parameters as tutorial_values

import specdsl
from specdsl.fold import BlockLayout, FoldedModel
from specdsl.runtime import sampling
from specdsl.runtime.fakeit import Simulator
from specdsl.runtime.sampling import poisson_counts, spectrum_generator

MODEL = "tbabs*(powerlaw+bbodyrad)"


@pytest.fixture(scope="module")
def pn(pn_dir):
    return specdsl.Observation.from_pha(pn_dir / "PN_spectrum_grp20.fits")


@pytest.fixture(scope="module")
def folded(pn):
    return FoldedModel(specdsl.compile(MODEL), pn)


def _float64_reference(folded, values):
    """Flux in float64 times the dense float64 response: no blocks, no float32."""
    model = folded.model
    flux = np.stack(
        [
            np.asarray(
                model(
                    folded.observation.energy_edges,
                    {k: v[i] for k, v in values.items()},
                )
            )
            for i in range(len(next(iter(values.values()))))
        ]
    )
    return flux @ folded._response_matrix()


def test_block_sparse_fold_matches_dense_float64_within_float32_error(folded):
    values = tutorial_values(12)

    ours = folded.expected_counts(values)
    reference = _float64_reference(folded, values)

    counted = reference > 1e-3
    assert counted.sum() > 12 * 1000
    relative = np.abs(np.asarray(ours)[counted] / reference[counted] - 1)
    assert relative.max() < 1e-5
    assert np.median(relative) < 1e-6
    assert np.all(np.asarray(ours)[reference == 0] == 0)


def test_blocks_keep_every_nonzero_and_little_else(folded):
    matrix = folded._response_matrix()
    layout = folded.layout

    rebuilt = np.zeros_like(matrix)
    for (r0, r1), (c0, c1) in zip(layout.rows, layout.columns, strict=True):
        rebuilt[r0:r1, c0:c1] = matrix[r0:r1, c0:c1]
    np.testing.assert_array_equal(rebuilt, matrix)
    assert folded.span == (0, 3343)
    assert layout.fill < 0.2 * matrix.size


def test_layout_of_an_empty_matrix_is_one_zero_bin():
    layout = BlockLayout.from_matrix(np.zeros((3, 5)), 2)

    assert (layout.first, layout.stop) == (0, 1)


def test_grouped_fold_sums_the_channels(folded, pn):
    grouped = FoldedModel(folded.model, pn, grouped=True)
    values = tutorial_values(3)

    full = np.asarray(folded.expected_counts(values))
    summed = np.asarray(grouped.expected_counts(values))

    np.testing.assert_allclose(summed, full @ pn.group_matrix().T, rtol=2e-5)


def test_counts_do_not_depend_on_batch_size_or_first_index(pn, folded):
    values = tutorial_values(40, seed=1)

    def run(batch, rows_per_device, first):
        fold = FoldedModel(folded.model, pn, rows_per_device=rows_per_device)
        simulator = Simulator(fold, seed=5, batch_size=batch)
        blocks = simulator.blocks(
            lambda a, b: {k: v[a - first : b - first] for k, v in values.items()},
            first,
            first + 40,
        )
        return np.concatenate([block for _, block, _ in blocks])

    reference = run(64, 256, 1000)
    np.testing.assert_array_equal(run(7, 256, 1000), reference)
    np.testing.assert_array_equal(run(3, 256, 1000), reference)
    shifted = run(64, 256, 1001)
    assert (shifted != reference).any()  # spectrum i's stream is tied to index i


def test_each_spectrum_draws_from_its_own_indexed_stream():
    expected = np.random.default_rng(0).uniform(0, 50, (6, 30))
    expected[:, :5] = 0

    counts = poisson_counts(11, 100, expected, threads=3)

    for row in range(6):
        alone = spectrum_generator(11, 100 + row).poisson(expected[row])
        np.testing.assert_array_equal(counts[row], alone)
    assert (counts[:, :5] == 0).all()
    np.testing.assert_array_equal(poisson_counts(11, 100, expected, threads=1), counts)


def test_short_rows_are_drawn_in_one_thread(monkeypatch):
    monkeypatch.delenv("SPECDSL_THREADS", raising=False)
    monkeypatch.setattr(sampling.os, "cpu_count", lambda: 4)

    assert sampling._threads(None, 10_000, 114) == 1  # the PN groups
    assert sampling._threads(None, 10_000, 3343) == 4  # the PN channels
    assert sampling._threads(2, 10_000, 114) == 2  # asked for
    monkeypatch.setenv("SPECDSL_THREADS", "3")
    assert sampling._threads(None, 10_000, 114) == 3


def test_zero_expectation_consumes_no_random_numbers():
    mu = np.array([3.0, 0.0, 0.0, 12.0, 0.0, 7.5])

    with_zeros = spectrum_generator(2, 9).poisson(mu)
    without = spectrum_generator(2, 9).poisson(mu[mu > 0])

    np.testing.assert_array_equal(with_zeros[mu > 0], without)


def test_overflowing_expected_counts_name_the_spectrum(pn, folded):
    values = tutorial_values(5)
    values["powerlaw_1.norm"][3] = 1e9  # over 2^31 counts in the brightest channel

    with pytest.raises(specdsl.ParameterError, match=r"spectrum 4 \(index 3\)"):
        specdsl.fakeit(pn, folded.model, values, batch_size=2)
