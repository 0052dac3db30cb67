# Tensor placement in one arena: TFLM's greedy planner. Buffers are placed largest first,
# each at the lowest offset where it overlaps no already placed buffer alive at the same
# time.


def plan(buffers):
    # buffers: [(size, first_step, last_step)]; returns (offsets, arena size).
    order = sorted(range(len(buffers)), key=lambda i: -buffers[i][0])
    offsets = [0] * len(buffers)
    placed = []
    for i in order:
        size, first, last = buffers[i]
        busy = sorted((offsets[j], offsets[j] + buffers[j][0]) for j in placed
                      if buffers[j][1] <= last and first <= buffers[j][2])
        at = 0
        for start, end in busy:
            if at + size <= start:
                break
            at = max(at, end)
        offsets[i] = at
        placed.append(i)
    size = max([offsets[i] + buffers[i][0] for i in placed] or [0])
    return offsets, size
