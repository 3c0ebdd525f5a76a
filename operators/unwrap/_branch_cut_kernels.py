"""numba kernels of the branch-cut unwrapper (see :mod:`.branch_cut`).

Residue ``(i, j)`` is the loop with upper-left pixel ``(i, j)``; cuts are
drawn as 8-connected pixel lines between upper-left pixels, which block
every 4-connected integration path across them (Ghiglia & Pritt 1998,
section 4.2).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(nogil=True, cache=True)
def draw_cut(cut, a_i, a_j, b_i, b_j):
    """Mark the pixels of the digital line from ``(a_i, a_j)`` to ``(b_i, b_j)``."""
    m, n = cut.shape
    steps = max(abs(b_i - a_i), abs(b_j - a_j))
    for s in range(steps + 1):
        t = s / steps if steps > 0 else 0.0
        i = int(np.floor(a_i + (b_i - a_i) * t + 0.5))
        j = int(np.floor(a_j + (b_j - a_j) * t + 0.5))
        if 0 <= i < m and 0 <= j < n:
            cut[i, j] = True


@njit(nogil=True, cache=True)
def place_cuts(q, border, near_i, near_j, max_box, cut):
    """Goldstein's tree growing: connect residues by cuts until every tree is neutral.

    Parameters
    ----------
    q : int8 array (R, C)
        Residues.
    border : bool array (R, C)
        Loops touching an invalid pixel (the border; the image edge is one too).
    near_i, near_j : int arrays (M, N)
        Nearest border pixel of every pixel (for trees left charged).
    max_box : int
        Largest search box (odd).
    cut : bool array (M, N)
        Output: cut pixels (modified).

    Returns
    -------
    int
        Number of trees closed at the border after the largest box.
    """
    r, c = q.shape
    visited = np.zeros((r, c), np.bool_)
    active = np.zeros((r, c), np.bool_)
    list_i = np.empty(r * c, np.int64)
    list_j = np.empty(r * c, np.int64)
    forced = 0
    for si in range(r):
        for sj in range(c):
            if q[si, sj] == 0 or visited[si, sj] or border[si, sj]:
                continue
            visited[si, sj] = True
            active[si, sj] = True
            n_act = 1
            list_i[0] = si
            list_j[0] = sj
            charge = np.int64(q[si, sj])
            box = 3
            while charge != 0 and box <= max_box:
                h = box // 2
                a = 0
                while a < n_act and charge != 0:
                    ai = list_i[a]
                    aj = list_j[a]
                    a += 1
                    for ii in range(ai - h, ai + h + 1):
                        if charge == 0:
                            break
                        for jj in range(aj - h, aj + h + 1):
                            if ii < 0 or jj < 0 or ii >= r or jj >= c or border[ii, jj]:
                                draw_cut(cut, ai, aj, min(max(ii, 0), r), min(max(jj, 0), c))
                                charge = 0
                                break
                            if q[ii, jj] != 0 and not active[ii, jj]:
                                if not visited[ii, jj]:
                                    charge += q[ii, jj]
                                    visited[ii, jj] = True
                                active[ii, jj] = True
                                list_i[n_act] = ii
                                list_j[n_act] = jj
                                n_act += 1
                                draw_cut(cut, ai, aj, ii, jj)
                                if charge == 0:
                                    break
                box += 2
            if charge != 0:
                draw_cut(cut, si, sj, near_i[si, sj], near_j[si, sj])
                forced += 1
            for a in range(n_act):
                active[list_i[a], list_j[a]] = False
    return forced


@njit(nogil=True, cache=True)
def flood_fill(psi, valid, cut, seeds):
    """Unwrap by flood fill from ``seeds``: first around cuts, then into cut pixels.

    Parameters
    ----------
    psi : float64 array (M, N)
        Wrapped phase.
    valid : bool array (M, N)
        Pixels to unwrap.
    cut : bool array (M, N)
        Cut pixels (not crossed in the first pass).
    seeds : int64 array
        Flat indices of one seed per component.

    Returns
    -------
    float64 array (M, N)
        Unwrapped phase, NaN where not reached.
    """
    m, n = psi.shape
    out = np.full((m, n), np.nan)
    queue = np.empty(m * n, np.int64)
    tail = 0
    for s in seeds:
        out.flat[s] = psi.flat[s]
        queue[tail] = s
        tail += 1
    for sweep in range(2):
        head = 0
        if sweep == 1:  # restart from every unwrapped pixel, now crossing cuts
            tail = 0
            for p in range(m * n):
                if not np.isnan(out.flat[p]):
                    queue[tail] = p
                    tail += 1
        while head < tail:
            p = queue[head]
            head += 1
            i = p // n
            j = p - i * n
            for d in range(4):
                ii, jj = i, j
                if d == 0:
                    ii -= 1
                elif d == 1:
                    ii += 1
                elif d == 2:
                    jj -= 1
                else:
                    jj += 1
                if ii < 0 or jj < 0 or ii >= m or jj >= n:
                    continue
                if not valid[ii, jj] or not np.isnan(out[ii, jj]):
                    continue
                if sweep == 0 and cut[ii, jj]:
                    continue
                diff = psi[ii, jj] - psi[i, j]
                diff -= 2 * np.pi * np.floor(diff / (2 * np.pi) + 0.5)
                out[ii, jj] = out[i, j] + diff
                queue[tail] = ii * n + jj
                tail += 1
    return out
