// Filled in by the random work.
