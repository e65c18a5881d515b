"""IR passes, each a small module: resolve -> infer -> validate -> lower (stencil, ring) -> fission (CPU)."""
