"""Pure array maths under every runtime: row bands, resampling, tiling, the flat guard, image analysis."""
