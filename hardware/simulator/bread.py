"""Bread types: what a slice is made of, how it browns, and what colour it starts.

Sources (see hardware/README.md, "Scenario distribution"): crumb density and diffusivity
from Zanoni, Peri & Gianotti 1995 (rho = 979 - 9.90*eps, alpha = exp(0.01*eps - 15.25));
slice mass and water ~32 g / ~35 % and DIN EN 60442 test slices (toaster-physics.md);
untoasted colour L* 80, a* -0.5, b* 18 (toaster-physics.md). Per-type densities, water
ranges, colours and browning factors are [EST] from typical retail breads; the fruit loaf's
factor 2 is the issue's "browns about twice as fast".
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class BreadType:
    name: str
    density_kg_m3: tuple        # (low, high) of the sampled range
    water: tuple                # wet-basis water fraction (low, high)
    thickness_mm: tuple         # (low, high)
    browning_factor: float      # multiplies the Zanoni rate constant (sugars, milk, malt)
    lab0: tuple                 # untoasted surface colour, CIE L*a*b* (D65)
    weight: float               # share in the scenario sampler


TYPES = {
    t.name: t for t in (
        BreadType("white", (240.0, 300.0), (0.34, 0.38), (10.0, 16.0), 1.0, (80.0, -0.5, 18.0), 0.40),
        BreadType("wholemeal", (330.0, 400.0), (0.37, 0.41), (10.0, 16.0), 1.1, (66.0, 4.0, 21.0), 0.20),
        BreadType("sourdough", (300.0, 380.0), (0.36, 0.42), (12.0, 22.0), 0.9, (76.0, 1.0, 17.0), 0.15),
        BreadType("brioche", (200.0, 250.0), (0.28, 0.33), (12.0, 20.0), 1.6, (78.0, 1.5, 28.0), 0.08),
        BreadType("fruit_loaf", (300.0, 360.0), (0.30, 0.35), (10.0, 16.0), 2.0, (70.0, 5.0, 24.0), 0.07),
        BreadType("thick_white", (240.0, 300.0), (0.34, 0.38), (18.0, 25.0), 1.0, (80.0, -0.5, 18.0), 0.07),
        BreadType("thin_sandwich", (250.0, 300.0), (0.33, 0.37), (8.0, 10.0), 1.0, (81.0, -0.5, 17.0), 0.03),
    )
}

# One face of a slice: DIN EN 60442's 110 x 110 mm test slice less its rounded top.
FACE_AREA_M2 = 0.0115
