/* COpenBLAS: CBLAS from OpenBLAS plus the few Fortran LAPACK routines Regula calls.
 * LAPACK is declared here directly (OpenBLAS exports the Fortran symbols), so no LAPACKE is needed. */
#ifndef REGULA_COPENBLAS_SHIM_H
#define REGULA_COPENBLAS_SHIM_H
#include <cblas.h>

/* Singular value decomposition, divide and conquer. */
void dgesdd_(const char *jobz, const int *m, const int *n, double *a, const int *lda, double *s,
             double *u, const int *ldu, double *vt, const int *ldvt, double *work,
             const int *lwork, int *iwork, int *info);
/* Symmetric eigendecomposition, divide and conquer. */
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
             double *work, const int *lwork, int *iwork, const int *liwork, int *info);
/* Cholesky factorisation and solve. */
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);
void dpotrs_(const char *uplo, const int *n, const int *nrhs, const double *a, const int *lda,
             double *b, const int *ldb, int *info);
/* General solve (LU). */
void dgesv_(const int *n, const int *nrhs, double *a, const int *lda, int *ipiv, double *b,
            const int *ldb, int *info);
#endif
