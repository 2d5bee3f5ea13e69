"""Regenerates the I/O test fixtures in this folder (NumPy + Pillow). The C++ tests only read the outputs."""
import numpy as np
from PIL import Image

a = np.arange(24, dtype=np.float64).reshape(2, 3, 4) * 0.5 - 3
np.save("f64_c.npy", a)
np.save("f32_c.npy", a.astype(np.float32))
np.save("f64_fortran.npy", np.asfortranarray(a))
np.save("f64_be.npy", a.astype(">f8"))
np.save("f16.npy", a.astype(np.float16))
np.save("i8.npy", np.arange(-5, 5, dtype=np.int8))
np.save("u8.npy", np.arange(250, 256, dtype=np.uint8))
np.save("i64.npy", np.arange(6, dtype=np.int64).reshape(2, 3) * -1000000007)
np.save("u16.npy", np.arange(6, dtype=np.uint16).reshape(3, 2) * 1000)
np.save("bool.npy", np.array([True, False, True]))
np.save("scalar.npy", np.float64(2.5))
np.save("empty.npy", np.zeros((0, 3)))
with open("v2.npy", "wb") as f:
    np.lib.format.write_array(f, a, version=(2, 0))
np.save("nan.npy", np.array([[1.0, 2.0], [3.0, np.nan]]))
np.save("complex.npy", np.zeros(3, dtype=np.complex128))
np.save("structured.npy", np.zeros(3, dtype=[("a", "<f8"), ("b", "<i4")]))

# Images, with the pixels PIL decodes (the reference the C++ decoders must match exactly).
rng = np.random.default_rng(0)
Image.fromarray((rng.random((6, 8, 3)) * 255).astype(np.uint8)).save("rgb.jpg", quality=90)
np.save("rgb_jpg_pixels.npy", np.asarray(Image.open("rgb.jpg").convert("RGB")))
g = (rng.random((5, 7)) * 255).astype(np.uint8)
Image.fromarray(g).save("grey.jpg", quality=90)
np.save("grey_jpg_pixels.npy", np.asarray(Image.open("grey.jpg")))
rgba = (rng.random((4, 3, 4)) * 255).astype(np.uint8)
Image.fromarray(rgba, "RGBA").save("rgba.png")
np.save("rgba_png_pixels.npy", rgba)
Image.fromarray(g).save("grey.png")
rng = np.random.default_rng(1)
Image.fromarray((rng.random((5, 7, 3)) * 255).astype(np.uint8)).save("rgb_5x7.png")
