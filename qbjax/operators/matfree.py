"""Matrix-free H @ psi for Pauli sums: one strided pass per flip-mask group.

A Pauli string P_k flips the bits `flip_k` of a basis state s and multiplies it by
i^{y_k} (-1)^{|s & zmask_k|} (see `terms.pauli_masks`). Terms with the same flip mask f form
a group g, and

    (H psi)[t] = sum_g  w_g(t ^ f_g) psi[t ^ f_g],    w_g(s) = sum_{k in g} c_k i^{y_k} (-1)^{|s & z_k|}.

So each group is an elementwise product with a weight followed by the permutation
s -> s ^ f_g. On psi reshaped to (2,)*N the permutation is a reversal of the flipped
site axes (`jnp.flip`: strided, no gather), and w_g depends only on the bits of the
group's support S_g (its flipped and sign sites), so it is a tiny (2,)*|S_g| tensor
broadcast over the other axes instead of a 2^N vector: a nearest-neighbour chain has
about 2N groups and needs O(N) numbers of weights, not O(N 2^N). The diagonal group
(f = 0, sigma^z products) is kept the same way, one tiny tensor per term, and summed
where it is used: never a 2^N vector in memory or in the program. XLA fuses the groups'
products, reversals and sums into loops over the state (one read of psi per group when the
state is larger than the caches). On the CPU the groups are fused CPU_FUSED_GROUPS at a
time, each piece added into the result: one loop over all 39 groups of an N = 20 chain took
62 ms on this 2-core machine, two loops 36 ms (N = 18: 1.33x, N = 22: 1.10x, single
precision at N = 20: 1.50x; benchmarks/RESULTS.md). Accelerators keep one loop, which reads
psi once per group and writes once.

A state split over D devices by its leading qubits (`matfree(h, leading=log2 D)`,
`operators.sharding`) takes `MatFreeH._sharded`: each device applies every group to its own
block, and the groups that flip the same leading qubits move between devices together.

Shapes: psi (2**N,) complex128 or complex64; the result has psi's dtype.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import PartitionSpec
from jaxtyping import Array, Complex, Float

from .. import _checks
from ..precision import matmul
from .sharding import AXIS, state_sharding
from .terms import PauliSum, Term, pauli_masks

CPU_FUSED_GROUPS = 20  # flip-mask groups per fused loop on the CPU (see the module docstring)


class _Layout(NamedTuple):
    """How one group acts on psi viewed as an array of shape `dims` (hashable, static)."""

    dims: tuple[int, ...]  # psi reshaped: the support sites get an axis of 2, gaps are merged
    flip_axes: tuple[int, ...]  # axes of `dims` reversed by the flip mask
    weight_shape: tuple[int, ...]  # the weight tensor broadcast against `dims` (1 on gap axes)


class _GroupTables(NamedTuple):
    layouts: tuple[_Layout, ...]
    term_index: tuple[np.ndarray, ...]  # (K_g,) which coefficients belong to each group
    signs: tuple[np.ndarray, ...]  # (K_g, 2^|S_g|) i^{y} (-1)^{|s & z|} on the support's configurations
    complex_group: tuple[bool, ...]  # group has a term with an odd number of Y's
    diag_terms: tuple[np.ndarray, ...]  # per diagonal term: (index, support layout, sign table)
    supports: tuple[tuple[int, ...], ...]  # each group's sites, ascending (its weight's axes)
    flips: tuple[int, ...]  # each group's flip mask
    diag_supports: tuple[tuple[int, ...], ...]  # each diagonal term's sites


def _layout(n_sites: int, support: tuple[int, ...], flipped: tuple[int, ...]) -> _Layout:
    dims, weight_shape, flip_axes = [], [], []
    previous = -1
    for site in support:
        gap = site - previous - 1
        if gap:
            dims.append(2**gap)
            weight_shape.append(1)
        if site in flipped:
            flip_axes.append(len(dims))
        dims.append(2)
        weight_shape.append(2)
        previous = site
    if n_sites - 1 - previous:
        dims.append(2 ** (n_sites - 1 - previous))
        weight_shape.append(1)
    return _Layout(tuple(dims), tuple(flip_axes), tuple(weight_shape))


def _local_signs(term: Term, support: tuple[int, ...]) -> np.ndarray:
    """i^{y} (-1)^{number of Z/Y sites whose bit is 1} on each of the 2^|S| configurations of S."""
    configs = np.arange(2 ** len(support))
    parity = np.zeros_like(configs)
    y_count = 0
    for site, letter in term:
        bit = len(support) - 1 - support.index(site)  # support[0] is the most significant bit
        if letter in "ZY":
            parity ^= (configs >> bit) & 1
        y_count += letter == "Y"
    return (1.0 - 2.0 * parity) * (1j**y_count)


@functools.lru_cache(maxsize=64)
def _group_tables(n_sites: int, terms: tuple[Term, ...]) -> _GroupTables:
    """Static grouping by flip mask; O(K 2^{max |S_g|}) work, never touches the 2^N basis."""
    masks = pauli_masks(n_sites, terms)
    by_flip: dict[int, list[int]] = {}
    for k, flip in enumerate(masks.flip):
        by_flip.setdefault(int(flip), []).append(k)
    layouts, term_index, signs, complex_group, diag_terms = [], [], [], [], []
    supports, flips, diag_supports = [], [], []
    for flip, members in by_flip.items():
        if flip == 0:
            for k in members:
                support = tuple(sorted(site for site, _ in terms[k]))
                table = np.real(_local_signs(terms[k], support))
                diag_terms.append((k, _layout(n_sites, support, ()), table))
                diag_supports.append(support)
            continue
        support = tuple(sorted({site for k in members for site, _ in terms[k]}))
        flipped = tuple(site for site in support if flip >> (n_sites - 1 - site) & 1)
        layouts.append(_layout(n_sites, support, flipped))
        supports.append(support)
        flips.append(flip)
        term_index.append(np.array(members))
        signs.append(np.stack([_local_signs(terms[k], support) for k in members]))
        complex_group.append(bool(np.any(masks.y_count[members] % 2 == 1)))
    return _GroupTables(
        tuple(layouts),
        tuple(term_index),
        tuple(signs),
        tuple(complex_group),
        tuple(diag_terms),
        tuple(supports),
        tuple(flips),
        tuple(diag_supports),
    )


class _BlockTables(NamedTuple):
    """The groups on one device's block of a split state (`_block_tables`)."""

    layouts: tuple[_Layout, ...]
    leading_sites: tuple[tuple[int, ...], ...]  # support sites among the leading qubits
    patterns: tuple[int, ...]  # flips of the leading qubits, as a device offset
    diag_layouts: tuple[_Layout, ...]
    diag_leading: tuple[tuple[int, ...], ...]


def _group_product(psi: Array, layout: _Layout, weight: Array) -> Array:
    """One flip-mask group on psi (flat): its weight at each source s, then s -> s ^ f."""
    x = psi.reshape(layout.dims)
    w = weight.reshape(layout.weight_shape)
    if jnp.iscomplexobj(w):
        x = x * w.astype(psi.dtype)
    else:
        x = _times_real(x, w.astype(jnp.real(psi).dtype))
    # P_k moves the amplitude of s to t = s ^ f: reversing the flipped axes does that
    return jnp.flip(x, axis=layout.flip_axes).reshape(psi.shape[-1])


def _times_real(psi: Array, weight: Array) -> Array:
    """psi * weight for a real weight, without promoting the weight to complex (fewer flops)."""
    return jax.lax.complex(jnp.real(psi) * weight, jnp.imag(psi) * weight)


class MatFreeH(eqx.Module):
    """A Pauli sum ready for matrix-free products: `op(psi) = H @ psi`.

    Attributes:
        n_sites: N; states have shape (2**N,).
        layouts: static per-group layouts (flip-mask groups without the diagonal).
        weights: per group, the (2,)*|S_g| weight tensor w_g (real or complex).
        diag_layouts: static layouts of the diagonal terms (sigma^z products).
        diag_weights: per diagonal term, its real (2,)*|S_k| tensor c_k (-1)^{bits}.
    """

    n_sites: int = eqx.field(static=True)
    layouts: tuple[_Layout, ...] = eqx.field(static=True)
    weights: tuple[Array, ...]
    diag_layouts: tuple[_Layout, ...] = eqx.field(static=True)
    diag_weights: tuple[Array, ...]
    # a state split over 2^leading devices by its leading qubits (`operators.sharding`):
    # how each group acts on one device's block (`_sharded`)
    leading: int = eqx.field(static=True, default=0)
    split: _BlockTables | None = eqx.field(static=True, default=None)

    def diagonal(self, dtype=None) -> Float[Array, " d"] | None:
        """The diagonal of H (2^N real values, summed from the terms' tensors; None when H has
        no diagonal terms). Inside `__call__` XLA fuses it into the product, never stored."""
        if not self.diag_weights:
            return None
        d = 2**self.n_sites
        total = None
        for layout, weight in zip(self.diag_layouts, self.diag_weights, strict=True):
            w = weight.astype(dtype or weight.dtype).reshape(layout.weight_shape)
            term = jnp.broadcast_to(w, layout.dims).reshape(d)
            total = term if total is None else total + term
        return total

    def __call__(self, psi: Complex[Array, " d"]) -> Complex[Array, " d"]:
        # Reverse mode keeps only psi and the weights of each product, and recomputes the
        # product: it would otherwise keep each group's weighted copy of psi, a state per
        # group per product (an N = 16 gradient held 13 times the forward pass's memory)
        return jax.checkpoint(MatFreeH._product)(self, psi)

    def _product(self, psi: Array) -> Array:
        if self.leading:
            return self._sharded(psi)
        real_dtype = jnp.real(psi).dtype
        diag = self.diagonal(real_dtype)
        out = jnp.zeros_like(psi) if diag is None else _times_real(psi, diag)
        groups = list(zip(self.layouts, self.weights, strict=True))
        # read while tracing: a process's programs run on its default backend
        piece = CPU_FUSED_GROUPS if jax.default_backend() == "cpu" else max(len(groups), 1)
        for start in range(0, len(groups), piece):
            part = None
            for layout, weight in groups[start : start + piece]:
                y = _group_product(psi, layout, weight)
                part = y if part is None else part + y
            out = out + part
            if start + piece < len(groups):  # the barrier ends the loop: XLA would fuse them all
                out = jax.lax.optimization_barrier(out)
        return out

    def _sharded(self, psi: Array) -> Array:
        """H @ psi on a state split over 2^leading devices by its leading qubits.

        Each device works on its own block (`shard_map`), where a group with flip f = h ^ l
        (h on the leading qubits, l on the rest) applies its weight, at the device's leading
        bits, and l. The groups with the same h are summed there, and each sum moves to
        device j ^ h in one exchange (`ppermute`): at most D - 1 blocks per product, not one
        per group.
        """
        spec = PartitionSpec(AXIS)
        local = jax.shard_map(
            self._block_product,
            mesh=state_sharding(2**self.leading).mesh,
            in_specs=(spec, PartitionSpec(), PartitionSpec()),
            out_specs=spec,
        )
        return local(psi, self.weights, self.diag_weights)

    def _block_product(self, block: Array, weights, diag_weights) -> Array:
        """One device's part of H @ psi (inside `shard_map`)."""
        split = self.split
        device = jax.lax.axis_index(AXIS)
        bits = [(device >> (self.leading - 1 - i)) & 1 for i in range(self.leading)]
        d = block.shape[-1]
        real_dtype = jnp.real(block).dtype

        def at_device(weight, sites):  # the weight at this device's bits of its leading sites
            if not sites:
                return weight
            return weight.reshape((2,) * len(sites) + (-1,))[tuple(bits[site] for site in sites)]

        out = jnp.zeros_like(block)
        for layout, sites, weight in zip(split.diag_layouts, split.diag_leading, diag_weights, strict=True):
            w = at_device(weight, sites).astype(real_dtype).reshape(layout.weight_shape)
            out = out + _times_real(block.reshape(layout.dims), w).reshape(d)
        sums: dict[int, Array] = {}
        groups = zip(split.layouts, split.leading_sites, split.patterns, weights, strict=True)
        for layout, sites, pattern, weight in groups:
            y = _group_product(block, layout, at_device(weight, sites))
            sums[pattern] = y if pattern not in sums else sums[pattern] + y
        out = out + sums.pop(0, jnp.zeros_like(block))
        devices = 2**self.leading
        for pattern, moved in sums.items():
            out = out + jax.lax.ppermute(moved, AXIS, [(j, j ^ pattern) for j in range(devices)])
        return out

    @property
    def n_groups(self) -> int:
        """Off-diagonal flip-mask groups (each one pass over psi)."""
        return len(self.layouts)


def matfree(h: PauliSum, *, leading: int = 0) -> MatFreeH:
    """Prepare H for matrix-free products: group the terms by flip mask, sum the diagonal once.

    Args:
        h: Pauli sum with coefficients of shape (K,) (batch with `vmap`, not a leading axis).
        leading: the state is split over 2^leading devices by its leading qubits
            (`operators.sharding`): flips of those qubits are gathered per pattern.

    Returns:
        A `MatFreeH`; calling it on psi of shape (2**N,) gives H @ psi in psi's dtype.
        Differentiable in h's coefficients.
    """
    if h.coeffs.ndim != 1:
        raise _checks.ArgumentError(
            "h", f"coefficients must have shape (K,), got {h.coeffs.shape}; batch with vmap"
        )
    tables = _group_tables(h.n_sites, h.terms)
    real = h.coeffs.dtype
    cdtype = np.dtype(np.complex128 if np.dtype(real) == np.float64 else np.complex64)
    weights = []
    for index, signs, is_complex in zip(tables.term_index, tables.signs, tables.complex_group, strict=True):
        c = h.coeffs[index]
        if is_complex:
            weights.append(matmul(c.astype(cdtype), jnp.asarray(signs, cdtype)))
        else:
            # an even number of Y's: i^y is +-1 and the weight is real
            weights.append(matmul(c, jnp.asarray(np.real(signs), real)))
    diag_layouts = tuple(layout for _, layout, _ in tables.diag_terms)
    diag_weights = tuple(h.coeffs[k] * jnp.asarray(table, real) for k, _, table in tables.diag_terms)
    split = _block_tables(h.n_sites, h.terms, leading) if leading else None
    return MatFreeH(h.n_sites, tables.layouts, tuple(weights), diag_layouts, diag_weights, leading, split)


@functools.lru_cache(maxsize=64)
def _block_tables(n_sites: int, terms: tuple[Term, ...], leading: int) -> _BlockTables:
    """How each group acts on one device's block of 2^(N - leading) amplitudes: its layout
    over the other qubits with only their flips, its support sites among the leading qubits
    (the first axes of its weight, fixed at the device's bits), and its flips of the
    leading qubits as a pattern (the device its sum moves to)."""
    tables = _group_tables(n_sites, terms)
    local_sites = n_sites - leading

    def local_layout(support, flipped):
        inside = tuple(site - leading for site in support if site >= leading)
        return _layout(local_sites, inside, tuple(site - leading for site in flipped if site >= leading))

    layouts, leading_sites, patterns = [], [], []
    for support, flip in zip(tables.supports, tables.flips, strict=True):
        flipped = tuple(site for site in support if flip >> (n_sites - 1 - site) & 1)
        layouts.append(local_layout(support, flipped))
        leading_sites.append(tuple(site for site in support if site < leading))
        patterns.append(flip >> local_sites)
    diag_layouts, diag_leading = [], []
    for support in tables.diag_supports:
        diag_layouts.append(local_layout(support, ()))
        diag_leading.append(tuple(site for site in support if site < leading))
    return _BlockTables(
        tuple(layouts), tuple(leading_sites), tuple(patterns), tuple(diag_layouts), tuple(diag_leading)
    )


def matvec_bytes(h: PauliSum, dtype=np.complex128) -> int:
    """Bytes one H @ psi moves when each flip-mask group reads psi from memory once.

    Each off-diagonal group reads psi; the diagonal terms read psi once (their values come
    from the index bits, no stored diagonal); the result is written once:
    (groups + 2) * d * itemsize. A fused loop whose reads hit the caches moves less, down to
    2 d * itemsize (one read, one write) when the state fits in them.
    """
    tables = _group_tables(h.n_sites, h.terms)
    n_reads = len(tables.layouts) + (1 if tables.diag_terms else 0)
    return (n_reads + 1) * 2**h.n_sites * np.dtype(dtype).itemsize
