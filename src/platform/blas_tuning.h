// Fast BLAS by default. The build links Intel MKL when it is installed (cmake/NtkBlas.cmake), else Debian's
// OpenBLAS. Debian 12's OpenBLAS 0.3.21 does not know recent Xeons and falls back to the generic
// "Prescott" kernel (8x slower dgemm). OpenBLAS reads OPENBLAS_CORETYPE when the shared library is loaded,
// i.e. before main(), so a front end that finds it unset on a CPU with AVX-512 or AVX2 sets it and
// re-executes itself once. A value set by the user is always respected.
#pragma once

namespace ntk::platform {

// The OpenBLAS core type that suits this CPU ("SkylakeX", "Haswell"), or nullptr when no override is needed.
const char* recommended_openblas_coretype();

// CLI: set OPENBLAS_CORETYPE and re-exec argv when it is unset and recommended_openblas_coretype() is not
// null (OpenBLAS builds only).
void ensure_fast_blas(int argc, char** argv);

// The BLAS/LAPACK this build links: "MKL" or "OpenBLAS" (for benchmark records).
const char* blas_vendor();

}  // namespace ntk::platform
