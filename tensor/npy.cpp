// Filled in by the npy work.
