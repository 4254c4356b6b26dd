// Filled in by the gemm work.
