"""An independent reference for fragment lighting: plain numpy over arrays of fragments, from
the registers as a command list leaves them (a dict of register -> value) and the uploaded LUT
words, written from 3dbrew's register descriptions and Azahar's sw_lighting.cpp rather than
from hlemu/gpu/lighting.py.

    shade = Lighting(regs, lut_words)
    primary, secondary = shade(quaternions, views)   # (N, 4) and (N, 3) in, (N, 4) uint8 each out
    primary, secondary = shade(quaternions, views, {0: colours})  # with texture 0's (N, 4) colours

Bump and tangent mapping (CONFIG0 0x1C3 bits 22-23 the texture, 28-29 the mode, 30 no z
recomputed; 3dbrew, citro3d's C3D_LightEnvBumpMode/BumpSel, Azahar's ComputeFragmentsColors):
the selected texture's colour, 0..255 onto -1..1, replaces the surface normal (mode 1) or the
surface tangent (mode 2) that the quaternion turns; a texture not given reads 0, 0, 0, 0.

Shadows (CONFIG0 bit 0 on, bits 24-25 the texture, 16 primary, 17 secondary, 18 inverted, 19
alpha; CONFIG1 bit n: light n unshadowed; Azahar's sw_lighting.cpp): the texture's colour in
0..1 (one minus it inverted) scales each shadowed light's diffuse term (not its ambient) and
its specular, and its alpha the alphas Fresnel writes (CONFIG0 bits 2-3).
"""

from __future__ import annotations

import numpy as np

# LUT ids (GPU_LIGHTLUTID in citro3d's naming) and their 4-bit field in LUTINPUT_ABS/SELECT/SCALE
FIELD = {"D0": 0, "D1": 1, "SP": 2, "FR": 3, "RB": 4, "RG": 5, "RR": 6}
TABLE = {"D0": 0, "D1": 1, "FR": 3, "RB": 4, "RG": 5, "RR": 6}  # SP: 8 + light, DA: 16 + light
DISABLE_BIT = {"D0": 16, "D1": 17, "FR": 19, "RR": 20, "RG": 21, "RB": 22}
# the LUTs each layer configuration has (citro3d's layer table and Azahar's; 7 is 8)
LAYERS = {0: "D0 RR SP DA", 1: "FR RR SP DA", 2: "D0 D1 RR DA", 3: "D0 D1 FR DA", 4: "D0 D1 RR RG RB SP DA",
          5: "D0 RR RG RB FR SP DA", 6: "D0 D1 RR FR SP DA", 8: "D0 D1 RR RG RB FR SP DA"}
SCALE = {0: 1, 1: 2, 2: 4, 3: 8, 6: 0.25, 7: 0.5}


def rgb10(word: int) -> np.ndarray:
    return np.array([(word >> 20) & 1023, (word >> 10) & 1023, word & 1023], np.float64) / 255


def half(raw: int) -> float:
    return float(np.array([raw & 0xFFFF], np.uint16).view(np.float16)[0])


def float20(raw: int) -> float:
    """1 sign, 7 exponent (bias 63), 12 mantissa bits."""
    sign, exp, man = (raw >> 19) & 1, (raw >> 12) & 127, raw & 4095
    value = man / 4096 * 2.0 ** -62 if exp == 0 else (1 + man / 4096) * 2.0 ** (exp - 63)
    return -value if sign else value


def s13(v: int) -> int:
    v &= 0x1FFF
    return v - 8192 if v >= 4096 else v


def rotate(q: np.ndarray, v) -> np.ndarray:
    """Rotate ``v`` (3 or (N, 3)) by the quaternions ``q`` (N, 4: x, y, z, w), as the matrix of a
    unit quaternion."""
    x, y, z, w = q.T
    m = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                  [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                  [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])
    return np.einsum("ijn,nj->ni", m, np.broadcast_to(np.asarray(v, np.float64), (len(q), 3)))


def unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.divide(v, n, out=v.copy(), where=n > 0)


def dot(a, b) -> np.ndarray:
    return (a * b).sum(axis=-1)


class Lighting:
    def __init__(self, regs: dict[int, int], lut_words) -> None:
        self.r = lambda reg: int(regs.get(reg, 0))
        words = np.asarray(lut_words, np.int64)
        diff = ((words >> 12) & 2047) / 2047
        self.value, self.diff = (words & 4095) / 4095, np.where((words >> 23) & 1, -diff, diff)
        c0, c1 = self.r(0x1C3), self.r(0x1C4)
        layer = LAYERS.get((c0 >> 4) & 15, "").split()
        self.has = {name: name in layer and not (name in DISABLE_BIT and (c1 >> DISABLE_BIT[name]) & 1)
                    for name in FIELD}
        self.c0, self.c1 = c0, c1

    def lut(self, table: int, x: np.ndarray, absolute: bool, two_sided: bool) -> np.ndarray:
        if absolute:
            x = np.abs(x) if two_sided else np.maximum(x, 0)
            i = np.clip(np.floor(x * 256), 0, 255)
            frac, entry = x * 256 - i, i.astype(np.int64)
        else:
            i = np.clip(np.floor(x * 128), -128, 127)
            frac, entry = x * 128 - i, i.astype(np.int64) % 256
        return self.value[table][entry] + self.diff[table][entry] * frac

    def surface(self, textures: dict, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The surface normal and tangent before the rotation: +z and +x, or the bump texture's
        colour as one of them (mode 3, undefined, leaves both zero, as Azahar does)."""
        normal, tangent = np.tile([0.0, 0.0, 1.0], (n, 1)), np.tile([1.0, 0.0, 0.0], (n, 1))
        mode, selector = (self.c0 >> 28) & 3, (self.c0 >> 22) & 3
        if mode == 0:
            return normal, tangent
        colour = np.asarray(textures.get(selector, np.zeros((n, 4))), np.float64)[:, :3]
        bent = colour * (2 / 255) - 1
        if mode == 1:
            if not (self.c0 >> 30) & 1:  # z from x and y: the normal's length is 1
                bent[:, 2] = np.sqrt(np.maximum(1 - bent[:, 0] ** 2 - bent[:, 1] ** 2, 0))
            return bent, tangent
        if mode == 2:
            return normal, bent
        return normal * 0, tangent * 0

    def shadow(self, textures: dict, n: int) -> np.ndarray:
        """(n, 4) shadow factors: ones unless CONFIG0 bit 0 turns shadows on."""
        if not self.c0 & 1:
            return np.ones((n, 4))
        colour = np.asarray(textures.get((self.c0 >> 24) & 3, np.zeros((n, 4))), np.float64) / 255
        return 1 - colour if (self.c0 >> 18) & 1 else colour

    def __call__(self, quats, views, textures=None) -> tuple[np.ndarray, np.ndarray]:
        q = unit(np.asarray(quats, np.float64))
        view = np.asarray(views, np.float64)
        n = len(q)
        shadow = self.shadow(textures or {}, n)
        surface_normal, surface_tangent = self.surface(textures or {}, n)
        normal, tangent = rotate(q, surface_normal), rotate(q, surface_tangent)
        v = unit(view)
        diffuse, specular = np.zeros((n, 3)), np.zeros((n, 3))
        alpha1, alpha2 = np.ones(n), np.ones(n)
        count = (self.r(0x1C2) & 7) + 1
        for slot in range(count):
            num = (self.r(0x1D9) >> (4 * slot)) & 7
            base = 0x140 + 16 * num
            xy, cfg = self.r(base + 4), self.r(base + 9)
            position = np.array([half(xy), half(xy >> 16), half(self.r(base + 5))])
            two_sided = bool(cfg & 2)
            to_light = np.broadcast_to(position, (n, 3)) if cfg & 1 else position + view
            distance = np.linalg.norm(to_light, axis=1)
            light = unit(np.array(to_light, np.float64))
            halfway = v + light
            h = unit(halfway.copy())
            spot = np.array([s13(self.r(base + 6)), s13(self.r(base + 6) >> 16), s13(self.r(base + 7))]) / 2047
            inputs = [dot(normal, h), dot(v, h), dot(normal, v), dot(light, normal), dot(light, spot),
                      dot(h - normal * dot(normal, h)[:, None], tangent) if (self.c0 >> 4) & 15 == 8 else np.zeros(n)]

            def factor(name: str, table: int, inputs=inputs, two_sided=two_sided) -> np.ndarray:
                k = FIELD[name]
                select = (self.r(0x1D1) >> (4 * k)) & 7
                absolute = not (self.r(0x1D0) >> (4 * k + 1)) & 1
                x = inputs[select] if select < 6 else np.zeros(n)
                return SCALE.get((self.r(0x1D2) >> (4 * k)) & 7, 0) * self.lut(table, x, absolute, two_sided)

            ones = np.ones(n)
            dist = ones
            if not (self.c1 >> (24 + num)) & 1:
                loc = np.clip(float20(self.r(base + 11)) * distance + float20(self.r(base + 10)), 0, 1)
                dist = self.lut(16 + num, loc, True, False)
            spot_f = factor("SP", 8 + num) if self.has["SP"] and not (self.c1 >> (8 + num)) & 1 else ones
            d0 = factor("D0", 0) if self.has["D0"] else ones
            d1 = factor("D1", 1) if self.has["D1"] else ones
            red = factor("RR", 6) if self.has["RR"] else ones
            reflect = np.stack([red, factor("RG", 5) if self.has["RG"] else red,
                                factor("RB", 4) if self.has["RB"] else red], axis=1)
            if slot == count - 1 and self.has["FR"]:
                fresnel = factor("FR", 3)
                alpha1 = fresnel if self.c0 & 4 else alpha1
                alpha2 = fresnel if self.c0 & 8 else alpha2
            ln = dot(light, normal)
            ln = np.abs(ln) if two_sided else np.maximum(ln, 0)
            h2 = dot(halfway, halfway)
            geometric = np.where(h2 == 0, 0, np.minimum(ln / np.where(h2 == 0, 1, h2), 1))
            spec0 = d0[:, None] * rgb10(self.r(base)) * (geometric[:, None] if cfg & 4 else 1)
            spec1 = (d1[:, None] * reflect * rgb10(self.r(base + 1))) * (geometric[:, None] if cfg & 8 else 1)
            highlight = np.where(ln == 0, 0, 1) if (self.c0 >> 27) & 1 else ones
            atten = (dist * spot_f)[:, None]
            shadowed = not (self.c1 >> num) & 1
            on_diffuse = shadow[:, :3] if shadowed and (self.c0 >> 16) & 1 else 1
            on_specular = shadow[:, :3] if shadowed and (self.c0 >> 17) & 1 else 1
            diffuse += (rgb10(self.r(base + 2)) * ln[:, None] * on_diffuse + rgb10(self.r(base + 3))) * atten
            specular += (spec0 + spec1) * highlight[:, None] * atten * on_specular
        if (self.c0 >> 19) & 1:
            alpha1 = alpha1 * shadow[:, 3] if self.c0 & 4 else alpha1
            alpha2 = alpha2 * shadow[:, 3] if self.c0 & 8 else alpha2
        diffuse += rgb10(self.r(0x1C0))

        def to8(rgb, a):
            return (np.clip(np.concatenate([rgb, a[:, None]], axis=1), 0, 1) * 255).astype(np.uint8)

        return to8(diffuse, alpha1), to8(specular, alpha2)
