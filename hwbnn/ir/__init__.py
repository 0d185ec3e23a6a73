"""The typed hardware IR (types), its serialization and the folding (PE/SIMD per layer)."""
