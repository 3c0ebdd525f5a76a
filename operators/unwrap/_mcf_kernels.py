"""numba kernels of the minimum-cost-flow unwrapper (see :mod:`.mcf`).

The network is implicit. Node ``v < n_loops`` is the 2 x 2 loop
``(v // C, v % C)`` of an ``M x N`` image (``R = M-1`` loop rows,
``C = N-1`` loop columns); node ``n_loops`` is the earth; nodes above it
are holes (collapsed regions of invalid pixels) whose arcs are stored in a
CSR table. Arc flows live on the primal edges: edge ``e < (M-1) N`` is the
row gradient ``dr`` at ``e`` (row-major), the others the column gradients
``dc`` at ``e - (M-1) N``. Sending one unit from loop ``(i, j)`` to its
neighbour changes the edge correction by ``sign``::

    up    (i-1, j)  kc[i, j]     -1
    down  (i+1, j)  kc[i+1, j]   +1
    left  (i, j-1)  kr[i, j]     +1
    right (i, j+1)  kr[i, j+1]   -1

(derived from the loop condition in :mod:`.residues`: a loop's net outflow
equals its residue). The solver is successive shortest paths with
Dijkstra on reduced costs; each search stops at the first deficit node, and
only the nodes it settled change potential (``pi -= D - d``), so a search
costs what it touched, not the image size.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(nogil=True, cache=True)
def loop_nodes(regions: np.ndarray) -> np.ndarray:
    """Node of every loop: itself, or ``n_loops + region`` if it touches an invalid pixel."""
    m, n = regions.shape
    c = n - 1
    n_loops = (m - 1) * c
    out = np.empty(n_loops, np.int64)
    for i in range(m - 1):
        for j in range(c):
            r = max(max(regions[i, j], regions[i, j + 1]),
                    max(regions[i + 1, j], regions[i + 1, j + 1]))
            out[i * c + j] = i * c + j if r < 0 else n_loops + r
    return out


@njit(nogil=True, cache=True, inline="always")
def _neighbour(v, d, nodes, m, n):
    """(node, edge, sign) of direction ``d`` of the plain loop node ``v``."""
    c = n - 1
    i = v // c
    j = v - i * c
    earth = (m - 1) * c
    off = (m - 1) * n
    if d == 0:
        nb = nodes[v - c] if i > 0 else earth
        return nb, off + i * c + j, -1
    if d == 1:
        nb = nodes[v + c] if i < m - 2 else earth
        return nb, off + (i + 1) * c + j, 1
    if d == 2:
        nb = nodes[v - 1] if j > 0 else earth
        return nb, i * n + j, 1
    nb = nodes[v + 1] if j < c - 1 else earth
    return nb, i * n + j + 1, -1


@njit(nogil=True, cache=True)
def hole_arcs(nodes: np.ndarray, m: int, n: int, n_holes: int):
    """CSR arc table of the hole nodes: ``ptr``, ``nbr``, ``edge``, ``sign``."""
    n_loops = (m - 1) * (n - 1)
    count = np.zeros(n_holes + 1, np.int64)
    for v in range(n_loops):
        h = nodes[v] - n_loops
        if h >= 1:
            for d in range(4):
                nb, e, s = _neighbour(v, d, nodes, m, n)
                if nb != nodes[v]:
                    count[h] += 1
    ptr = np.zeros(n_holes + 2, np.int64)
    for h in range(1, n_holes + 1):
        ptr[h + 1] = ptr[h] + count[h]
    nbr = np.empty(ptr[-1], np.int64)
    edge = np.empty(ptr[-1], np.int64)
    sign = np.empty(ptr[-1], np.int8)
    fill = ptr[:-1].copy()
    for v in range(n_loops):
        h = nodes[v] - n_loops
        if h >= 1:
            for d in range(4):
                nb, e, s = _neighbour(v, d, nodes, m, n)
                if nb != nodes[v]:
                    a = fill[h]
                    nbr[a] = nb
                    edge[a] = e
                    sign[a] = s
                    fill[h] += 1
    return ptr, nbr, edge, sign


@njit(nogil=True, cache=True, inline="always")
def _marginal(k, cp, cm, s):
    """Cost of changing a correction ``k`` by ``s`` under costs ``cp|k+|, cm|k-|``."""
    if s > 0:
        return cp if k >= 0 else -cm
    return cm if k <= 0 else -cp


@njit(nogil=True, cache=True)
def _push(hk, hv, size, key, val):
    """Push onto a binary min-heap (arrays grow by doubling); returns the arrays."""
    if size == hk.size:
        nk = np.empty(2 * hk.size, hk.dtype)
        nv = np.empty(2 * hv.size, hv.dtype)
        nk[:size] = hk[:size]
        nv[:size] = hv[:size]
        hk, hv = nk, nv
    i = size
    while i > 0:
        p = (i - 1) >> 1
        if hk[p] <= key:
            break
        hk[i] = hk[p]
        hv[i] = hv[p]
        i = p
    hk[i] = key
    hv[i] = val
    return hk, hv


@njit(nogil=True, cache=True)
def _pop(hk, hv, size):
    """Remove the minimum of a heap of ``size`` entries; returns (key, value)."""
    key = hk[0]
    val = hv[0]
    size -= 1
    lk = hk[size]
    lv = hv[size]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and hk[c + 1] < hk[c]:
            c += 1
        if hk[c] >= lk:
            break
        hk[i] = hk[c]
        hv[i] = hv[c]
        i = c
    if size > 0:
        hk[i] = lk
        hv[i] = lv
    return key, val


@njit(nogil=True, cache=True)
def solve_flow(nodes, m, n, excess, cp, cm, ptr, nbr, edge, sign):
    """Minimum-cost flow by successive shortest paths; returns corrections ``k``.

    Parameters
    ----------
    nodes : int64 array, one per loop
        From :func:`loop_nodes`.
    m, n : int
        Image shape.
    excess : int64 array, one per node
        Supply (the loop residues, summed over collapsed regions); modified.
    cp, cm : int64 arrays, one per edge
        Cost per unit of positive / negative correction (all >= 0).
    ptr, nbr, edge, sign : arrays
        Hole arc table from :func:`hole_arcs`.

    Returns
    -------
    k : int32 array, one per edge
        Integer corrections; the loop condition holds on every plain loop.
    stats : int64 array
        ``[searches, settled nodes in all searches]``.
    """
    n_loops = (m - 1) * (n - 1)
    earth = n_loops
    n_nodes = excess.size
    k = np.zeros(cp.size, np.int32)
    pot = np.zeros(n_nodes, np.int64)
    dist = np.zeros(n_nodes, np.int64)
    seen = np.zeros(n_nodes, np.int32)      # search id that set dist
    done = np.zeros(n_nodes, np.int32)      # search id that settled the node
    pred = np.zeros(n_nodes, np.int64)
    pred_e = np.zeros(n_nodes, np.int64)
    pred_s = np.zeros(n_nodes, np.int8)
    settled = np.empty(1024, np.int64)
    hk = np.empty(1024, np.int64)
    hv = np.empty(1024, np.int64)
    sid = 0
    touched = 0
    for phase in range(2):
        forward = phase == 0
        for src in range(n_nodes):
            if src == earth:
                continue
            while (forward and excess[src] > 0) or (not forward and excess[src] < 0):
                sid += 1
                seen[src] = sid
                dist[src] = 0
                size = 0
                hk, hv = _push(hk, hv, size, 0, src)
                size += 1
                n_set = 0
                target = -1
                big_d = 0
                while size > 0:
                    du, u = _pop(hk, hv, size)
                    size -= 1
                    if done[u] == sid or du != dist[u]:
                        continue
                    done[u] = sid
                    if u != src and (u == earth or (forward and excess[u] < 0)
                                     or (not forward and excess[u] > 0)):
                        target = u
                        big_d = du
                        break
                    if n_set == settled.size:
                        grown = np.empty(2 * settled.size, np.int64)
                        grown[:n_set] = settled[:n_set]
                        settled = grown
                    settled[n_set] = u
                    n_set += 1
                    if u < n_loops:
                        lo, hi = 0, 4
                    else:
                        lo, hi = ptr[u - n_loops], ptr[u - n_loops + 1]
                    for a in range(lo, hi):
                        if u < n_loops:
                            v, e, s = _neighbour(u, a, nodes, m, n)
                        else:
                            v, e, s = nbr[a], edge[a], sign[a]
                        if v == u or done[v] == sid:
                            continue
                        if forward:
                            rc = _marginal(k[e], cp[e], cm[e], s) + pot[u] - pot[v]
                        else:
                            rc = _marginal(k[e], cp[e], cm[e], -s) + pot[v] - pot[u]
                        nd = du + rc
                        if seen[v] != sid or nd < dist[v]:
                            seen[v] = sid
                            dist[v] = nd
                            pred[v] = u
                            pred_e[v] = e
                            pred_s[v] = s
                            hk, hv = _push(hk, hv, size, nd, v)
                            size += 1
                touched += n_set
                # potentials of the nodes settled closer than the target
                for q in range(n_set):
                    v = settled[q]
                    if forward:
                        pot[v] -= big_d - dist[v]
                    else:
                        pot[v] += big_d - dist[v]
                # augment one unit along the tree path target -> src
                x = target
                while x != src:
                    if forward:
                        k[pred_e[x]] += pred_s[x]
                    else:
                        k[pred_e[x]] -= pred_s[x]
                    x = pred[x]
                if forward:
                    excess[src] -= 1
                    excess[target] += 1
                else:
                    excess[src] += 1
                    excess[target] -= 1
    stats = np.array([sid, touched], np.int64)
    return k, stats
