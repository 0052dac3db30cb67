"""What the colour sensor sees: browning DE -> CIE L*a*b* -> XYZ (D65) -> linear sRGB ->
TCS34725 clear, red, green, blue counts at the configured gain and integration time.

The colour path from the untoasted surface runs through a commercial crust (L* 52.2,
a* 14.7, b* 18.5) to a dark crust (L* ~30), parametrised by its length so that the
distance travelled is DE (toaster-physics.md; L* ~ L*0 - DE, roughly). Elementwise on
floats or arrays (ops.py), so one toaster and a batch give the same bits.
"""

import math

import numpy as np

from hardware.simulator import noise
from hardware.simulator.ops import Floats, ops_for

UNTOASTED = (80.0, -0.5, 18.0)
CRUST = (52.2, 14.7, 18.5)
DARK = (30.0, 9.0, 10.0)                 # [EST] dark crust: L* ~25-30, towards brown-grey
EMPTY_SLOT = (45.0, 0.0, 2.0)            # [EST] the far reflector seen through an empty slot
_SEG1 = tuple(c - u for c, u in zip(CRUST, UNTOASTED))
_SEG2 = tuple(d - c for d, c in zip(DARK, CRUST))
_LEN1 = math.dist(CRUST, UNTOASTED)
_LEN2 = math.dist(DARK, CRUST)

_WHITE = (95.047, 100.0, 108.883)        # D65
_XYZ_TO_RGB = ((3.2406, -1.5372, -0.4986),
               (-0.9689, 1.8758, 0.0415),
               (0.0557, -0.2040, 1.0570))
_C2 = 0.014388                           # m K, Planck's second radiation constant
_GLOW_M = (615e-9, 525e-9, 465e-9)       # red, green, blue channel peak wavelengths
_GLOW_REF_K = 1073.15                    # element at 800 C
_STREAMS = (noise.CLEAR, noise.RED, noise.GREEN, noise.BLUE)


def lab(de, lab0=UNTOASTED):
    """(L*, a*, b*) of a surface browned by DE from the bread's own colour lab0."""
    ops = ops_for(de)
    along1 = ops.clip(de / _LEN1, 0.0, 1.0)
    along2 = ops.clip((de - _LEN1) / _LEN2, 0.0, 1.0)
    return tuple(l0 + s1 * along1 + s2 * along2 for l0, s1, s2 in zip(lab0, _SEG1, _SEG2))


def linear_rgb(L, a, b):
    """Linear sRGB (0..1) of an L*a*b* colour (D65)."""
    ops = ops_for(L)
    fy = (L + 16.0) / 116.0
    xyz = []
    for f, white in zip((fy + a / 500.0, fy, fy - b / 200.0), _WHITE):
        cube = ops.where(f > 6.0 / 29.0, f * f * f, 3.0 * (6.0 / 29.0) ** 2 * (f - 4.0 / 29.0))
        xyz.append(cube * white / 100.0)
    return tuple(ops.clip(m[0] * xyz[0] + m[1] * xyz[1] + m[2] * xyz[2], 0.0, 1.0) for m in _XYZ_TO_RGB)


def glow(element_c):
    """Light of the glowing element in the red, green and blue channels, relative to the
    red channel at 800 C (Wien's approximation at each channel's peak wavelength)."""
    ops = ops_for(element_c)
    t = element_c + 273.15
    return tuple((_GLOW_M[0] / lam) ** 5 * ops.exp(_C2 / (_GLOW_M[0] * _GLOW_REF_K) - _C2 / (lam * t))
                 for lam in _GLOW_M)


def counts(de, lab0, element_c, gain, atime_ms, cycles, seed, index, sensor):
    """[clear, red, green, blue] counts of the TCS34725 integration keyed by `index`.

    de, element_c (and seed, index) are floats/ints for one toaster or arrays for a batch;
    lab0 is a colour or a tuple of three arrays. gain: 1, 4, 16 or 60; atime_ms: the
    integration time; cycles: 256 - ATIME (it sets where the counts saturate)."""
    ops = ops_for(de)
    rgb = linear_rgb(*lab(de, lab0))
    scale = sensor["counts_per_ms_at_1x"] * gain * atime_ms
    lit = sensor["glow_counts_per_ms_at_1x"] * gain * atime_ms
    g = glow(element_c)
    m, w = sensor["channel_matrix_rgb"], sensor["clear_weights"]
    channels = [(w[0] * rgb[0] + w[1] * rgb[1] + w[2] * rgb[2]) * scale + (g[0] + g[1] + g[2]) * lit]
    channels += [(row[0] * rgb[0] + row[1] * rgb[1] + row[2] * rgb[2]) * scale + gc * lit
                 for row, gc in zip(m, g)]
    dark = sensor["dark_counts_per_ms"] * atime_ms
    top = min(65535, 1024 * int(cycles))
    if ops is Floats:
        z = [noise.gaussian(seed, stream, index) for stream in _STREAMS]
    else:
        z = noise.gaussian(np.asarray(seed)[None, ...], np.array(_STREAMS).reshape((4,) + (1,) * np.ndim(seed)), index)
    out = []
    for signal, zc in zip(channels, z):
        signal = signal + dark
        # Shot noise: at a higher gain each count stands for fewer photons.
        sigma = ops.sqrt(signal * gain / sensor["photons_per_count_at_1x"] + sensor["read_noise_counts"] ** 2)
        value = ops.clip(ops.rint(signal + sigma * zc), 0.0, float(top))
        out.append(int(value) if isinstance(value, float) else value.astype(np.int64))
    return out
