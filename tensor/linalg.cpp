// Filled in by the linalg work.
