"""Planning: everything decided before the first step, as pure functions of shapes, settings,
a memory budget and a device (the scales, their step caps and costs, the tiles, bf16)."""
