// The few LAPACK routines the solvers call directly: Eigen's own eigensolver is unblocked (minutes at N =
// 5000), LAPACK's divide-and-conquer dsyevd and blocked dpotrf run on the linked OpenBLAS. Fortran ABI: the
// hidden string-length arguments are passed explicitly (gfortran appends them as size_t).
#pragma once

#include <cstddef>

extern "C" {
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info, size_t uplo_len);
void dpotrs_(const char* uplo, const int* n, const int* nrhs, const double* a, const int* lda, double* b,
             const int* ldb, int* info, size_t uplo_len);
void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w,
             double* work, const int* lwork, int* iwork, const int* liwork, int* info, size_t jobz_len,
             size_t uplo_len);
}
