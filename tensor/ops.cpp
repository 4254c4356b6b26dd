// Filled in by the ops work.
