"""Heat, water and browning in the toaster: one code path for one toaster or N at once.

Nodes: the element (nichrome ribbons on mica), the chamber (reflector walls and inner
frame: the NTC sits here), the housing (base, frame and shell: the thermal fuse sits here)
and three layers of bread per slice face (surface, sub-surface, core; a slice is
symmetric, so one face stands for both). Heat moves by radiation (element to bread and to
the reflectors, linearised each step), convection, the chimney draught through the slots,
and conduction through the crumb.

Integration is exponential Euler: over a step h every node relaxes exactly towards the
equilibrium its neighbours' start-of-step temperatures set, T' = Teq + (T - Teq) e^(-G h/C).
Each update is a convex mix of old temperatures plus the heater's input, so the scheme is
unconditionally stable and monotone and the thermal step can be coarse (STEP_MS) while
pins and sensors keep 1 ms resolution (the caller integrates the heater's on-time).
Phase changes are enthalpy clamps after each update: a layer holding ice stays at 0 C and
a wet layer at 100 C while the surplus energy melts or evaporates water. Water leaves a
layer from the outside in, so the dry crust thickens and the surface climbs steadily.
Browning is Zanoni 1995's first-order kinetics on the surface layer, integrated exactly for
the step's mean temperature, with an onset ramp over 105-115 C (Broyart 1998).

State and parameters are Python floats for one toaster and numpy arrays of shape (N,) for
a batch; the arithmetic is the same code, and exp() always goes through numpy, so toaster
i of a batch is bit-identical to the same scenario run alone.
"""

import numpy as np

from hardware.simulator.bread import FACE_AREA_M2
from hardware.simulator.ops import Arrays as _Arrays, Floats as _Floats  # noqa: N814

STEP_MS = 250
WARM_UP_STEP_S = 1.0            # previous batches are replayed in coarser steps

SIGMA = 5.670374419e-8          # W/m2K4
KELVIN = 273.15
R_GAS = 8.314462618
LATENT_VAPOUR = 2.26e6          # J/kg (Zanoni, Peri & Pierucci 1993)
LATENT_FUSION = 3.34e5          # J/kg
CP_WATER, CP_ICE, CP_DRY = 4180.0, 2100.0, 1600.0   # J/kgK; dry crumb [EST]
FREEZABLE = 0.85                # share of a frozen slice's water that is ice [EST]

# Zanoni, Peri & Bruno 1995, bread crumb 140-250 C.
K0_PER_S = 42000.0
EA_J_MOL = 64151.0
DE_INF = 52.0
ONSET_C = (105.0, 115.0)

SURFACE_MM = 0.5                # the crust-forming layer [EST]
SUBSURFACE_MM = 1.5             # where the evaporation front recedes to [EST]
DRY_CONDUCTIVITY = 0.2          # dried crumb conducts this share of moist crumb's k [EST]
BREAD_EMISSIVITY = 0.9
ROOM_W_PER_M2K = 20.0           # a popped-up slice in room air: convection + radiation [EST]
FRONT_FROM_C = 75.0            # a layer this hot starts boiling at the crust boundary [EST]
CRUMB_K_SCALE = 0.5


def browning_rate(surface_k, factor, ops=_Arrays):
    """Zanoni's k (1/s) at a surface temperature in kelvin, times the bread's factor,
    ramped in over the onset range."""
    onset = ops.clip((surface_k - (KELVIN + ONSET_C[0])) / (ONSET_C[1] - ONSET_C[0]), 0.0, 1.0)
    return factor * K0_PER_S * ops.exp(-EA_J_MOL / (R_GAS * surface_k)) * onset


def browning_step(de, surface_k, factor, dt, ops=_Arrays):
    """DE after dt seconds at a constant surface temperature (exact for first order)."""
    return DE_INF - (DE_INF - de) * ops.exp(-browning_rate(surface_k, factor, ops) * dt)


class Thermal:
    """The thermal state of one toaster (floats) or N toasters (arrays) and what drives it.

    Public state: te, tc, th (element, chamber, housing, C), tn (NTC body, C), t0, t1, t2
    (bread layers, C), w0..w2 and i0..i2 (water and ice per layer and face, kg), de
    (surface browning), fuse_open, and mains_v (V; set it for sags and surges).
    """

    def __init__(self, scenarios, parts, batch=None):
        n = len(scenarios)
        self.n = n
        self.ops = _Arrays if (batch if batch is not None else n > 1) else _Floats
        self._parts = parts
        heater, chamber, housing = parts["heater"], parts["chamber"], parts["housing"]
        col = self._column
        self.ambient = col([s.ambient_c for s in scenarios])
        self.rated_w = col([s.heater_w for s in scenarios])
        self.rated_v = col([s.rated_v for s in scenarios])
        self.mains_v = col([s.supply_v for s in scenarios])

        # A quarter of the ribbon area faces each slot side; the rest of its radiation
        # goes to the polished reflectors, which hand most of it back. Elements of other
        # ratings are the reference element scaled: same ribbon temperature at rated power.
        size = self.rated_w / heater["rated_w"]
        area = heater["radiating_area_m2"]
        eps_e = heater["emissivity"]
        eps_bread = 1.0 / (1.0 / eps_e + 1.0 / BREAD_EMISSIVITY - 1.0)
        eps_wall = 1.0 / (1.0 / eps_e + 1.0 / chamber["wall_emissivity"] - 1.0)
        view = heater["bread_view_factor"]
        self.rad_eb = SIGMA * eps_bread * area / 4.0 * view * size          # per face, W/K4
        self.rad_ec = SIGMA * eps_wall * area * (1.0 - view) * size
        self.c_e = heater["heat_capacity_j_per_k"] * size
        self.conv_e = heater["convection_w_per_k"] * size
        self.g_ea = heater["exhaust_w_per_k"] * size
        self.g_eh = heater["mount_conductance_w_per_k"] * size
        self.c_c = chamber["heat_capacity_j_per_k"]
        self.g_chim = chamber["chimney_w_per_k"]
        self.g_ch = chamber["to_housing_w_per_k"]
        self.g_cb = chamber["bread_convection_w_per_m2k"] * FACE_AREA_M2
        self.c_h = housing["heat_capacity_j_per_k"]
        self.g_ha = housing["to_ambient_w_per_k"]
        self.fuse_c = parts["thermal_fuse"]["functioning_c"]
        self.ntc_decay = float(np.exp(-STEP_MS / 1000.0 / parts["ntc"]["time_constant_s"]))

        self.te = self.tc = self.th = self.tn = self.ambient
        self.fuse_open = col([False] * n, bool)
        warm = [i for i, s in enumerate(scenarios) if s.batch > 1]
        if warm and self.ops is _Arrays and len(warm) < n:
            # Only the warm toasters replay their previous batches (the same arithmetic).
            sub = Thermal([scenarios[i] for i in warm], parts, batch=True)
            for name in ("te", "tc", "th", "tn", "fuse_open"):
                value = np.array(getattr(self, name), copy=True)
                value[warm] = getattr(sub, name)
                setattr(self, name, value)
        elif warm:
            self._warm_up(scenarios)
        self.load(scenarios)

    def _column(self, values, dtype=float):
        a = np.array(values, dtype=dtype)
        return a if self.ops is _Arrays else a[0].item()

    # -- bread -------------------------------------------------------------------------

    def load(self, scenarios):
        """Put fresh slices of each scenario's bread in."""
        a = lambda values: np.array(values, dtype=float)
        faces = 2.0 * a([s.slices for s in scenarios])
        rho = a([s.density_kg_m3 for s in scenarios])
        w = a([s.water for s in scenarios])
        half = a([s.thickness_mm for s in scenarios]) / 2000.0                      # m
        d0 = np.minimum(SURFACE_MM / 1000.0, half / 4.0)
        d1 = np.minimum(SUBSURFACE_MM / 1000.0, (half - d0) / 2.0)
        d2 = half - d0 - d1
        start = a([s.initial_temp_c for s in scenarios])
        # Zanoni, Peri & Gianotti 1995: porosity from density, then diffusivity.
        porosity = np.clip((979.0 - rho) / 9.90, 40.0, 90.0)
        alpha = np.exp(0.01 * porosity - 15.25)
        values = {
            "faces": faces, "loaded": (faces > 0).astype(float), "d0": d0, "d1": d1, "d2": d2,
            "k_wet": alpha * rho * ((1.0 - w) * CP_DRY + w * CP_WATER) * CRUMB_K_SCALE,
            "factor": a([s.browning for s in scenarios]), "de": np.zeros(len(scenarios)),
            "t0": start, "t1": start, "t2": start,
        }
        for i, d in enumerate((d0, d1, d2)):
            mass = rho * FACE_AREA_M2 * d
            water = mass * w
            ice = np.where(start < 0.0, water * FREEZABLE, 0.0)
            values.update({"dry%d" % i: mass * (1.0 - w), "w%d" % i: water - ice,
                           "i%d" % i: ice, "water%d" % i: water})
        for name, value in values.items():
            setattr(self, name, value if self.ops is _Arrays else value[0].item())

    def unload(self, where=True):
        """Take the bread out where `where` holds (all by default)."""
        self.faces = self.faces * (1.0 - where)
        self.loaded = self.loaded * (1.0 - where)

    # -- time ---------------------------------------------------------------------------

    def heater_w(self, on_fraction):
        """Mean electrical power over a step for the given share of the step powered."""
        v = self.mains_v / self.rated_v
        return self.rated_w * v * v * on_fraction

    def step(self, power_w, dt=STEP_MS / 1000.0, in_slot=1.0):
        """Advance dt seconds with the given mean heater power (W). in_slot: 1 while the
        bread is down in the slots, 0 once it has popped up into the room's air."""
        ops = self.ops
        te, tc, th, ta = self.te, self.tc, self.th, self.ambient
        t0, t1, t2 = self.t0, self.t1, self.t2
        loaded = self.loaded * in_slot
        nf = self.faces * in_slot
        te_k, t0_k, tc_k = te + KELVIN, t0 + KELVIN, tc + KELVIN
        g_eb = self.rad_eb * (te_k * te_k + t0_k * t0_k) * (te_k + t0_k) * loaded
        g_ec = self.rad_ec * (te_k * te_k + tc_k * tc_k) * (te_k + tc_k) + self.conv_e
        g_cb = self.g_cb * loaded
        g_room = ROOM_W_PER_M2K * FACE_AREA_M2 * (1.0 - in_slot)
        g01, g12 = self._crumb_conductances()
        c0 = self.dry0 * CP_DRY + self.w0 * CP_WATER + self.i0 * CP_ICE
        c1 = self.dry1 * CP_DRY + self.w1 * CP_WATER + self.i1 * CP_ICE
        c2 = self.dry2 * CP_DRY + self.w2 * CP_WATER + self.i2 * CP_ICE

        def relax(t, num, g, c):
            t_eq = num / g
            return t_eq + (t - t_eq) * ops.exp(-g * (dt / c))

        bread_e, bread_c = nf * g_eb, nf * g_cb
        self.te = relax(te, power_w + bread_e * t0 + g_ec * tc + self.g_eh * th + self.g_ea * ta,
                        bread_e + g_ec + self.g_eh + self.g_ea, self.c_e)
        self.tc = relax(tc, g_ec * te + bread_c * t0 + self.g_chim * ta + self.g_ch * th,
                        g_ec + bread_c + self.g_chim + self.g_ch, self.c_c)
        self.th = relax(th, self.g_ch * tc + self.g_eh * te + self.g_ha * ta,
                        self.g_ch + self.g_eh + self.g_ha, self.c_h)
        n0 = relax(t0, g_eb * te + g_cb * tc + g_room * ta + g01 * t1, g_eb + g_cb + g_room + g01, c0)
        n1 = relax(t1, g01 * t0 + g12 * t2, g01 + g12, c1)
        n2 = relax(t2, g12 * t1, g12, c2)

        # Melt ice at 0 C, then boil water at 100 C, with the energy above each plateau.
        n0, self.i0, self.w0 = self._plateau(n0, c0, self.i0, self.w0)
        n1, self.i1, self.w1 = self._plateau(n1, c1, self.i1, self.w1)
        n2, self.i2, self.w2 = self._plateau(n2, c2, self.i2, self.w2)

        mean_k = 0.5 * (t0 + n0) + KELVIN
        self.de = browning_step(self.de, mean_k, self.factor, dt, ops) * self.loaded
        self.t0, self.t1, self.t2 = n0, n1, n2
        self.tn = self.tc + (self.tn - self.tc) * self.ntc_decay
        self.fuse_open = self.fuse_open | (self.th >= self.fuse_c)

    def _plateau(self, t, c, ice, water):
        ops = self.ops
        melt = ops.minimum(ice, ops.maximum(t, 0.0) * c / LATENT_FUSION)
        t = t - melt * LATENT_FUSION / c
        water = water + melt
        boil = ops.minimum(water, ops.maximum(t - 100.0, 0.0) * c / LATENT_VAPOUR)
        return t - boil * LATENT_VAPOUR / c, ice - melt, water - boil

    def _crumb_conductances(self):
        """Surface-to-sub-surface and sub-surface-to-core conductances per face (W/K).
        The dried part of a layer conducts like crust, the rest like moist crumb."""
        ops = self.ops
        k_wet = self.k_wet
        k_dry = k_wet * DRY_CONDUCTIVITY
        m0 = (self.w0 + self.i0) / ops.maximum(self.water0, 1e-12)
        m1 = (self.w1 + self.i1) / ops.maximum(self.water1, 1e-12)
        m2 = (self.w2 + self.i2) / ops.maximum(self.water2, 1e-12)
        d0, d1, d2 = self.d0, self.d1, self.d2
        # Once a layer boils, heat evaporates water where the dry crust meets it: its wet
        # half no longer stands between the crust and the front.
        wet1 = 1.0 - ops.clip((self.t1 - FRONT_FROM_C) / (100.0 - FRONT_FROM_C), 0.0, 1.0)
        wet2 = 1.0 - ops.clip((self.t2 - FRONT_FROM_C) / (100.0 - FRONT_FROM_C), 0.0, 1.0)
        r01 = 0.5 * d0 / (k_dry + (k_wet - k_dry) * m0) + (1.0 - m1) * d1 / k_dry + m1 * 0.5 * d1 / k_wet * wet1
        r12 = 0.5 * d1 / (k_dry + (k_wet - k_dry) * m1) + (1.0 - m2) * d2 / k_dry + m2 * 0.5 * d2 / k_wet * wet2
        return FACE_AREA_M2 / r01, FACE_AREA_M2 / r12

    def _warm_up(self, scenarios):
        """Toasters with batch > 1 start warm: simulate their previous batches (same bread,
        toasted to the previous level's DE or for prev_heat_s, then gap_s to reload),
        ending right before this toast. Each toaster runs on its own clock from step 0 and
        keeps its state from the step its round ends, so its history does not depend on
        its batch-mates."""
        batches = np.array([s.batch for s in scenarios])
        rounds = int(batches.max()) - 1
        if rounds <= 0:
            return
        dt = WARM_UP_STEP_S
        col = self._column
        ops = self.ops
        # A previous batch heats for a fixed time, or until its level's DE (capped at 600 s).
        fixed = col([s.prev_heat_s is not None for s in scenarios], bool)
        heat = col([(s.prev_heat_s if s.prev_heat_s is not None else 600.0) / dt for s in scenarios])
        target = col([s.prev_target_de for s in scenarios])
        gap = col([s.gap_s / dt for s in scenarios])
        kept = ("te", "tc", "th", "tn", "fuse_open")
        for r in range(rounds):
            active = col(batches - 1 >= rounds - r, bool)
            self.load(scenarios)
            saved = {name: getattr(self, name) for name in kept}
            stopped = heat * 0.0 + 1e9              # step at which heating stopped
            finished = col([False] * self.n, bool)
            k = 0
            while not np.all(finished):
                done_heating = ((active == 0) | (k >= heat)
                                | ((fixed == 0) & (self.de >= target)))
                stopped = ops.where(done_heating & (stopped > k), float(k), stopped)
                self.unload(k >= stopped)
                on = ops.where(fixed, ops.clip(heat - k, 0.0, 1.0), 1.0) * (k < stopped)
                self.step(self.heater_w(on * active), dt, on > 0.0)
                k += 1
                end = k >= stopped + gap
                for name in kept:
                    saved[name] = ops.where(end > finished, getattr(self, name), saved[name])
                finished = finished | end
            for name in kept:
                setattr(self, name, ops.where(active, saved[name], self.ambient if name != "fuse_open" else False))

    # -- what the sensors and the evaluation see ----------------------------------------

    @property
    def water_lost(self):
        """Share of the slice's water evaporated so far."""
        left = self.w0 + self.w1 + self.w2 + self.i0 + self.i1 + self.i2
        return 1.0 - left / self.ops.maximum(self.water0 + self.water1 + self.water2, 1e-12)
