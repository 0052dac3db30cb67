# Eval of CONCATENATION and PAD: int8 blocks placed into a larger output.
import micropython

# Parameter words: fill byte (256 for none), output size, rank, run (contiguous bytes),
# base offset in the output, then per leading dimension (input size, output stride),
# then the index counters.
FILL, SIZE, RANK, RUN, BASE, DIMS = range(6)


@micropython.viper
def _place(x: ptr8, out: ptr8, p: ptr32):
    fill = p[0]
    if fill < 256:
        for i in range(p[1]):
            out[i] = fill
    rank = p[2]
    run = p[3]
    idx = ptr32(uint(p) + uint(4 * (5 + 2 * rank)))
    for d in range(rank):
        idx[d] = 0
    o = p[4]
    i = 0
    while True:
        for k in range(run):
            out[o + k] = x[i + k]
        i += run
        d = rank - 1
        while d >= 0:
            idx[d] += 1
            o += p[6 + 2 * d]
            if idx[d] < p[5 + 2 * d]:
                break
            o -= p[6 + 2 * d] * idx[d]
            idx[d] = 0
            d -= 1
        if d < 0:
            break


class Place:
    def __init__(self, pieces, out):
        self.args = (pieces, out)

    def bind(self, scratch):
        pieces, out = self.args
        self.args = tuple((x.buf, out.buf, p) for x, p in pieces)

    def run(self):
        for a in self.args:
            _place(a[0], a[1], a[2])
