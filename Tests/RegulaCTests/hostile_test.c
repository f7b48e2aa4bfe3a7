/*
 * Hostile-input suite for the C ABI. Every case runs in a child process (fork), so a crash,
 * an abort or a hang (20 s alarm) is a failure of that case and the suite carries on.
 * Usage: hostile_test [PLUGIN_DIR]   (PLUGIN_DIR holds the bad-plugin fixtures of `make`)
 * Besides the named cases, every registered component gets one case of its own that feeds it
 * empty, NaN, huge, wrong-rank, strided and wrong-dtype inputs (status codes, never a crash).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "regula.h"
#include "regula_plugin.h"

#include "expect.h"

static const char *plugin_dir = NULL;

#define ARR(ptr, dt, nd, sh) ((rg_array){(ptr), (dt), (nd), (sh), NULL})

/* the message names the problem: non-empty, and containing `needle` when given */
static int names(const char *needle) { return rg_last_error()[0] != '\0' && (!needle || strstr(rg_last_error(), needle)); }
#define EXPECT_MSG(needle) EXPECT(names(needle), "message names %s", (needle) ? (needle) : "the problem")

static double W6[6] = {1, -2, 0.5, 0, 3, -1};
static int64_t S23[2] = {2, 3};

static rg_penalty *l1(void) {
    rg_penalty *p = NULL;
    if (rg_penalty_new("l1", "strength=1", &p) != RG_OK) { fprintf(stderr, "l1: %s\n", rg_last_error()); _exit(2); }
    return p;
}

/* ---------- registry, ids and parameter strings ---------------------------------------- */

static void c_unknown_id(void) {
    rg_penalty *p = NULL; rg_loss *l = NULL; rg_map *m = NULL; const char *j = NULL;
    EXPECT_STATUS(rg_penalty_new("no_such_penalty", NULL, &p), RG_ERR_UNKNOWN_ID); EXPECT_MSG("no_such_penalty");
    EXPECT_STATUS(rg_loss_new("", NULL, &l), RG_ERR_UNKNOWN_ID);
    EXPECT_STATUS(rg_map_new("sparsemax\n", NULL, &m), RG_ERR_UNKNOWN_ID);
    EXPECT_STATUS(rg_describe("L1", &j), RG_ERR_UNKNOWN_ID);
    EXPECT(p == NULL && l == NULL && m == NULL, "outs stay NULL");
}
static void c_long_id(void) {
    static char big[1 << 16];
    memset(big, 'a', sizeof big - 1);
    rg_penalty *p = NULL;
    EXPECT_STATUS(rg_penalty_new(big, NULL, &p), RG_ERR_UNKNOWN_ID);
}
static void c_wrong_kind(void) {
    rg_loss *l = NULL; rg_map *m = NULL; rg_penalty *p = NULL;
    EXPECT_STATUS(rg_loss_new("l1", NULL, &l), RG_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(rg_map_new("softmax_cross_entropy", NULL, &m), RG_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(rg_penalty_new("sparsemax", NULL, &p), RG_ERR_INVALID_ARGUMENT);
}
static void c_unknown_param(void) {
    rg_penalty *p = NULL;
    EXPECT_STATUS(rg_penalty_new("l1", "strenght=1", &p), RG_ERR_UNKNOWN_PARAMETER); EXPECT_MSG("strenght");
}
static void c_param_garbage(void) {
    const char *bad[] = {"strength=", "=1", ",", "strength==1", "strength=1,", ",strength=1", "strength=1e",
                         "strength=0x", "strength=1 2", "strength=--1", "strength=1e999", "strength=inf",
                         "strength=-inf", "strength=NaN", "strength=\x01", "strength=1;q=2", "\xff\xfe=1",
                         "strength=true", "strength=1,,q=2"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rg_penalty *p = NULL;
        rg_status s = rg_penalty_new("l1", bad[i], &p);
        EXPECT(s == RG_ERR_INVALID_ARGUMENT || s == RG_ERR_PARAMETER || s == RG_ERR_UNKNOWN_PARAMETER,
               "params \"%s\" gave %d", bad[i], s);
        EXPECT(p == NULL, "no handle for \"%s\"", bad[i]);
        EXPECT_MSG(NULL);
    }
}
static void c_param_huge_string(void) {
    size_t n = 1 << 20;
    char *s = malloc(n + 1);
    for (size_t i = 0; i < n; i++) s[i] = "strength=1,"[i % 11];
    s[n] = 0;
    rg_penalty *p = NULL;
    EXPECT(rg_penalty_new("l1", s, &p) != RG_OK, "a megabyte of repeated parameters is refused");
    free(s);
}
static void c_param_out_of_range(void) {
    rg_penalty *p = NULL; rg_loss *l = NULL; rg_map *m = NULL;
    EXPECT_STATUS(rg_penalty_new("l1", "strength=-1e-300", &p), RG_ERR_PARAMETER);
    EXPECT_STATUS(rg_penalty_new("l1", "strength=1e400", &p), RG_ERR_PARAMETER);
    EXPECT_STATUS(rg_loss_new("softmax_cross_entropy", "label_smoothing=1.5", &l), RG_ERR_PARAMETER); EXPECT_MSG("label_smoothing");
    EXPECT_STATUS(rg_loss_new("softmax_cross_entropy", "reduction=median", &l), RG_ERR_PARAMETER);
    EXPECT_STATUS(rg_map_new("gumbel_softmax", "seed=-1", &m), RG_ERR_PARAMETER);
    EXPECT_STATUS(rg_map_new("gumbel_softmax", "seed=1.5", &m), RG_ERR_PARAMETER);
    EXPECT_STATUS(rg_map_new("gumbel_softmax", "seed=99999999999999999999999", &m), RG_ERR_PARAMETER);
}
static void c_null_everything(void) {
    rg_penalty *p = NULL; rg_loss *l = NULL; rg_map *m = NULL; const char *s = NULL;
    EXPECT_STATUS(rg_penalty_new(NULL, NULL, &p), RG_ERR_NULL);
    EXPECT_STATUS(rg_loss_new(NULL, NULL, &l), RG_ERR_NULL);
    EXPECT_STATUS(rg_loss_new("softmax_cross_entropy", NULL, NULL), RG_ERR_NULL);
    EXPECT_STATUS(rg_map_new(NULL, NULL, &m), RG_ERR_NULL);
    EXPECT_STATUS(rg_map_new("sparsemax", NULL, NULL), RG_ERR_NULL);
    EXPECT_STATUS(rg_component_id(0, NULL), RG_ERR_NULL);
    EXPECT_STATUS(rg_describe("l1", NULL), RG_ERR_NULL);
    EXPECT_STATUS(rg_component_id(INT64_MIN, &s), RG_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(rg_component_id(INT64_MAX, &s), RG_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(rg_penalty_update(NULL, "step=1"), RG_ERR_NULL);
    EXPECT_STATUS(rg_loss_update(NULL, "epoch=1"), RG_ERR_NULL);
    EXPECT_STATUS(rg_loss_eval(NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL), RG_ERR_NULL);
    EXPECT_STATUS(rg_map_forward(NULL, NULL, NULL, 0, NULL), RG_ERR_NULL);
    EXPECT_STATUS(rg_map_vjp(NULL, NULL, NULL, NULL, 0, NULL), RG_ERR_NULL);
    EXPECT_STATUS(rg_loss_free(NULL), RG_OK);
    EXPECT_STATUS(rg_map_free(NULL), RG_OK);
}
static void c_new_with_bad_data(void) {
    rg_penalty *p = NULL;
    rg_named_array d[2] = {{"C", ARR(W6, RG_FLOAT64, 2, S23)}, {NULL, ARR(W6, RG_FLOAT64, 2, S23)}};
    EXPECT_STATUS(rg_penalty_new_with("l1", NULL, d, -1, &p), RG_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(rg_penalty_new_with("l1", NULL, NULL, 2, &p), RG_ERR_NULL);
    EXPECT_STATUS(rg_penalty_new_with("l1", NULL, &d[1], 1, &p), RG_ERR_NULL);
    EXPECT_STATUS(rg_penalty_new_with("l1", NULL, d, 1, &p), RG_ERR_UNKNOWN_PARAMETER);
    rg_loss *l = NULL; rg_map *m = NULL;
    EXPECT_STATUS(rg_loss_new_with("softmax_cross_entropy", NULL, d, 1, &l), RG_ERR_UNKNOWN_PARAMETER);
    EXPECT_STATUS(rg_map_new_with("sparsemax", NULL, d, 1, &m), RG_ERR_UNKNOWN_PARAMETER);
    EXPECT(p == NULL && l == NULL && m == NULL, "no handles");
}
static void c_bad_handles(void) {
    double v; int64_t junk[8] = {0};
    rg_array W = ARR(W6, RG_FLOAT64, 2, S23);
    EXPECT_STATUS(rg_penalty_eval((rg_penalty *)junk, &W, NULL, 0, &v, NULL), RG_ERR_INVALID_HANDLE);
    EXPECT_STATUS(rg_penalty_free((rg_penalty *)(uintptr_t)0x10), RG_ERR_INVALID_HANDLE);
    EXPECT_STATUS(rg_map_free((rg_map *)(uintptr_t)UINTPTR_MAX), RG_ERR_INVALID_HANDLE);
    EXPECT_STATUS(rg_optimizer_free((rg_optimizer *)junk), RG_ERR_INVALID_HANDLE);
    rg_penalty *p = l1();
    EXPECT_STATUS(rg_map_forward((rg_map *)p, &W, NULL, 0, &W), RG_ERR_INVALID_HANDLE);
    EXPECT_STATUS(rg_loss_update((rg_loss *)p, "epoch=1"), RG_ERR_INVALID_HANDLE);
    EXPECT_STATUS(rg_optimizer_step((rg_optimizer *)p, &W, &W, 1, NULL, NULL, NULL), RG_ERR_INVALID_HANDLE);
    EXPECT_STATUS(rg_graph_free((rg_graph *)junk), RG_ERR_INVALID_HANDLE);
    EXPECT_STATUS(rg_graph_feed((rg_graph *)p, 0, &W), RG_ERR_INVALID_HANDLE);
    EXPECT_STATUS(rg_penalty_free(p), RG_OK);
    EXPECT_STATUS(rg_penalty_update(p, "step=1"), RG_ERR_INVALID_HANDLE);
}
static void c_update_garbage(void) {
    rg_penalty *p = l1();
    EXPECT(rg_penalty_update(p, "step=1") != RG_OK, "stateless penalty");
    EXPECT(rg_penalty_update(p, NULL) != RG_OK || 1, "NULL state");
    rg_map *m = NULL;
    EXPECT_STATUS(rg_map_new("gumbel_softmax", "seed=1", &m), RG_OK);
    EXPECT(rg_map_update(m, "step=nan") != RG_OK, "step=nan");
    EXPECT(rg_map_update(m, "step=-5") != RG_OK, "step=-5");
    EXPECT(rg_map_update(m, "step=1e30") != RG_OK, "step=1e30");
    EXPECT(rg_map_update(m, "step") != RG_OK, "step without value");
    EXPECT(rg_map_update(m, "step=1,step=2") != RG_OK, "step twice");
    rg_map_free(m);
    rg_penalty_free(p);
}

/* ---------- arrays ----------------------------------------------------------------------- */

static void c_nan_index(void) {
    rg_penalty *p = l1(); double v;
    double w[6] = {0, 0, 0, 0, INFINITY, NAN};
    rg_array W = ARR(w, RG_FLOAT64, 2, S23);
    EXPECT_STATUS(rg_penalty_eval(p, &W, NULL, 0, &v, NULL), RG_ERR_NONFINITE); EXPECT_MSG("index 4");
    float f[6] = {0, 0, 0, -INFINITY, 0, 0};
    rg_array F = ARR(f, RG_FLOAT32, 2, S23);
    EXPECT_STATUS(rg_penalty_eval(p, &F, NULL, 0, &v, NULL), RG_ERR_NONFINITE); EXPECT_MSG("index 3");
    rg_penalty_free(p);
}
static void c_nan_strided_index(void) {
    rg_penalty *p = l1(); double v;
    double w[12] = {0, NAN, 0, 0, 0, 0, 0, 0, 0, NAN, 0, 0};   /* element (1,2) of the view is w[8]... */
    w[8] = NAN; w[1] = 0;                                          /* ...the only NaN the view sees */
    w[9] = NAN;                                                    /* outside the view: ignored */
    int64_t st[2] = {6, 2};
    rg_array W = {w, RG_FLOAT64, 2, S23, st};
    EXPECT_STATUS(rg_penalty_eval(p, &W, NULL, 0, &v, NULL), RG_ERR_NONFINITE); EXPECT_MSG("index 4");
    rg_penalty_free(p);
}
static void c_nan_in_prox_and_maps(void) {
    rg_penalty *p = l1(); double o[6];
    double w[6] = {0, NAN, 0, 0, 0, 0};
    rg_array W = ARR(w, RG_FLOAT64, 2, S23), O = ARR(o, RG_FLOAT64, 2, S23);
    EXPECT_STATUS(rg_penalty_prox(p, &W, 0.1, NULL, 0, &O), RG_ERR_NONFINITE); EXPECT_MSG("index 1");
    rg_map *m = NULL;
    EXPECT_STATUS(rg_map_new("sparsemax", NULL, &m), RG_OK);
    EXPECT_STATUS(rg_map_forward(m, &W, NULL, 0, &O), RG_ERR_NONFINITE);
    double c[6] = {0, 0, 0, 0, 0, INFINITY};
    rg_array C = ARR(c, RG_FLOAT64, 2, S23), X = ARR(W6, RG_FLOAT64, 2, S23);
    EXPECT_STATUS(rg_map_vjp(m, &X, &C, NULL, 0, &O), RG_ERR_NONFINITE); EXPECT_MSG("index 5");
    rg_map_free(m); rg_penalty_free(p);
}
static void c_nan_in_loss_target(void) {
    rg_loss *l = NULL; double v;
    double t[6] = {0.5, 0.5, 0, 0, NAN, 1};
    rg_array Z = ARR(W6, RG_FLOAT64, 2, S23), T = ARR(t, RG_FLOAT64, 2, S23);
    EXPECT_STATUS(rg_loss_new("softmax_cross_entropy", NULL, &l), RG_OK);
    EXPECT_STATUS(rg_loss_eval(l, &Z, &T, NULL, 0, &v, NULL, NULL), RG_ERR_NONFINITE); EXPECT_MSG("index 4");
    rg_loss_free(l);
}
static void c_empty_arrays(void) {
    rg_penalty *p = l1(); double v = -1;
    int64_t s0[2] = {0, 3}, s00[1] = {0};
    rg_array E = ARR(NULL, RG_FLOAT64, 2, s0), E1 = ARR(NULL, RG_FLOAT64, 1, s00);
    EXPECT_STATUS(rg_penalty_eval(p, &E, NULL, 0, &v, &E), RG_OK);
    EXPECT(v == 0, "sum over nothing is 0 (%g)", v);
    EXPECT_STATUS(rg_penalty_eval(p, &E1, NULL, 0, &v, NULL), RG_OK);
    EXPECT_STATUS(rg_penalty_prox(p, &E1, 0.1, NULL, 0, &E1), RG_OK);
    rg_loss *l = NULL;
    int32_t y = 0;
    rg_array Y = ARR(&y, RG_INT32, 1, s00);
    EXPECT_STATUS(rg_loss_new("softmax_cross_entropy", NULL, &l), RG_OK);
    EXPECT(rg_loss_eval(l, &E, &Y, NULL, 0, &v, NULL, NULL) != RG_OK, "mean over an empty batch is an error");
    EXPECT_MSG(NULL);
    rg_loss_free(l);
    EXPECT_STATUS(rg_loss_new("softmax_cross_entropy", "reduction=sum", &l), RG_OK);
    EXPECT_STATUS(rg_loss_eval(l, &E, &Y, NULL, 0, &v, NULL, &E), RG_OK);
    EXPECT(v == 0, "sum over an empty batch is 0");
    rg_loss_free(l);
    int64_t sc[2] = {2, 0};
    rg_array Zc = ARR(NULL, RG_FLOAT64, 2, sc);
    int32_t yy[2] = {0, 0}; int64_t s2[1] = {2};
    rg_array Y2 = ARR(yy, RG_INT32, 1, s2);
    EXPECT_STATUS(rg_loss_new("softmax_cross_entropy", "reduction=sum", &l), RG_OK);
    EXPECT(rg_loss_eval(l, &Zc, &Y2, NULL, 0, &v, NULL, NULL) != RG_OK, "zero classes with labels is an error");
    rg_loss_free(l);
    rg_map *m = NULL;
    EXPECT_STATUS(rg_map_new("sparsemax", NULL, &m), RG_OK);
    EXPECT(rg_map_forward(m, &Zc, NULL, 0, &Zc) == RG_OK || rg_last_error()[0], "softmax over zero classes");
    EXPECT_STATUS(rg_map_forward(m, &E, NULL, 0, &E), RG_OK);
    rg_map_free(m);
    rg_penalty_free(p);
}
static void c_rank(void) {
    rg_penalty *p = l1(); double v;
    int64_t s9[9] = {1, 1, 1, 1, 1, 1, 1, 1, 6}, s8[8] = {1, 1, 1, 1, 1, 1, 1, 6};
    rg_array W9 = ARR(W6, RG_FLOAT64, 9, s9), W8 = ARR(W6, RG_FLOAT64, 8, s8), Wn = ARR(W6, RG_FLOAT64, -1, s8);
    rg_array W0 = ARR(W6, RG_FLOAT64, 0, NULL), Wbig = ARR(W6, RG_FLOAT64, INT32_MAX, s8);
    EXPECT_STATUS(rg_penalty_eval(p, &W9, NULL, 0, &v, NULL), RG_ERR_SHAPE); EXPECT_MSG("rank");
    EXPECT_STATUS(rg_penalty_eval(p, &W8, NULL, 0, &v, NULL), RG_OK);
    EXPECT(v == 7.5, "rank 8 value %g", v);
    EXPECT_STATUS(rg_penalty_eval(p, &Wn, NULL, 0, &v, NULL), RG_ERR_SHAPE);
    EXPECT_STATUS(rg_penalty_eval(p, &Wbig, NULL, 0, &v, NULL), RG_ERR_SHAPE);
    EXPECT_STATUS(rg_penalty_eval(p, &W0, NULL, 0, &v, NULL), RG_OK);   /* a scalar */
    EXPECT(v == 1.0, "scalar l1 %g", v);
    rg_array Wns = ARR(W6, RG_FLOAT64, 2, NULL);
    EXPECT_STATUS(rg_penalty_eval(p, &Wns, NULL, 0, &v, NULL), RG_ERR_NULL);
    rg_penalty_free(p);
}
static void c_dtypes(void) {
    rg_penalty *p = l1(); double v;
    int32_t i32[6] = {1, 2, 3, 4, 5, 6}; int64_t i64[6] = {1, 2, 3, 4, 5, 6};
    uint16_t half[6] = {0x3c00, 0, 0, 0, 0, 0}; uint8_t b[6] = {1, 0, 1, 0, 1, 0};
    int dts[] = {RG_INT32, RG_INT64, 4, 5, -1, 255, INT32_MIN};
    void *ptrs[] = {i32, i64, half, b, b, b, b};
    for (int k = 0; k < 7; k++) {
        rg_array W = ARR(ptrs[k], dts[k], 2, S23);
        EXPECT_STATUS(rg_penalty_eval(p, &W, NULL, 0, &v, NULL), RG_ERR_DTYPE);
        EXPECT_MSG(NULL);
    }
    /* a float32 gradient for a float64 input, and an int32 gradient */
    float gf[6]; int32_t gi[6];
    rg_array W = ARR(W6, RG_FLOAT64, 2, S23), GF = ARR(gf, RG_FLOAT32, 2, S23), GI = ARR(gi, RG_INT32, 2, S23);
    EXPECT_STATUS(rg_penalty_eval(p, &W, NULL, 0, &v, &GF), RG_ERR_DTYPE);
    EXPECT_STATUS(rg_penalty_eval(p, &W, NULL, 0, &v, &GI), RG_ERR_DTYPE);
    rg_penalty_free(p);
}
static void c_overflow_shapes(void) {
    rg_penalty *p = l1(); double v;
    int64_t a[2] = {INT64_MAX, 2}, b[2] = {(int64_t)1 << 32, (int64_t)1 << 32}, c[3] = {0, INT64_MAX, INT64_MAX};
    int64_t d[2] = {(int64_t)1 << 61, 1}, e[2] = {INT64_MIN, 1};
    rg_array A = ARR(W6, RG_FLOAT64, 2, a), B = ARR(W6, RG_FLOAT64, 2, b), C = ARR(W6, RG_FLOAT64, 3, c);
    rg_array D = ARR(W6, RG_FLOAT64, 2, d), E = ARR(W6, RG_FLOAT64, 2, e);
    EXPECT_STATUS(rg_penalty_eval(p, &A, NULL, 0, &v, NULL), RG_ERR_SHAPE); EXPECT_MSG("overflow");
    EXPECT_STATUS(rg_penalty_eval(p, &B, NULL, 0, &v, NULL), RG_ERR_SHAPE);
    EXPECT_STATUS(rg_penalty_eval(p, &D, NULL, 0, &v, NULL), RG_ERR_SHAPE);   /* 2^61 * 8 bytes */
    EXPECT_STATUS(rg_penalty_eval(p, &E, NULL, 0, &v, NULL), RG_ERR_SHAPE);
    /* a zero dimension makes the count 0, whatever the other dimensions */
    EXPECT_STATUS(rg_penalty_eval(p, &C, NULL, 0, &v, NULL), RG_ERR_SHAPE);
    /* regression (fuzz_arrays): an empty array with 2^40 rows made group_lasso loop for hours,
     * and a loss allocate a per-row buffer of 2^40 doubles */
    int64_t er[2] = {(int64_t)1 << 40, 0}, ok[2] = {1 << 20, 0};
    rg_array ER = ARR(W6, RG_FLOAT64, 2, er), OK = ARR(NULL, RG_FLOAT64, 2, ok);
    rg_penalty *gl = NULL;
    EXPECT_STATUS(rg_penalty_new("group_lasso", NULL, &gl), RG_OK);
    EXPECT_STATUS(rg_penalty_eval(gl, &ER, NULL, 0, &v, NULL), RG_ERR_SHAPE); EXPECT_MSG("empty");
    EXPECT_STATUS(rg_penalty_eval(gl, &OK, NULL, 0, &v, &OK), RG_OK);
    rg_penalty_free(gl);
    rg_loss *ls = NULL;
    EXPECT_STATUS(rg_loss_new("softmax_cross_entropy", "reduction=sum", &ls), RG_OK);
    EXPECT_STATUS(rg_loss_eval(ls, &ER, &ER, NULL, 0, &v, NULL, NULL), RG_ERR_SHAPE);
    rg_loss_free(ls);
    /* strides whose span overflows */
    int64_t st[2] = {INT64_MAX / 2, 1}, stm[2] = {INT64_MIN, 1};
    rg_array S = {W6, RG_FLOAT64, 2, S23, st}, SM = {W6, RG_FLOAT64, 2, S23, stm};
    EXPECT_STATUS(rg_penalty_eval(p, &S, NULL, 0, &v, NULL), RG_ERR_SHAPE);
    EXPECT_STATUS(rg_penalty_eval(p, &SM, NULL, 0, &v, NULL), RG_ERR_SHAPE);
    rg_penalty_free(p);
}
static void c_strided_equals_contiguous(void) {
    rg_map *m = NULL;
    EXPECT_STATUS(rg_map_new("entmax15", NULL, &m), RG_OK);
    /* a transposed (3,2) view of W6 seen as (2,3) row-major storage: strides {1, 3} */
    int64_t s32[2] = {3, 2}, st[2] = {1, 3};
    double t[6] = {W6[0], W6[3], W6[1], W6[4], W6[2], W6[5]}, y1[6], y2[6], g1[6], g2[6];
    rg_array Xs = {W6, RG_FLOAT64, 2, s32, st}, Xc = ARR(t, RG_FLOAT64, 2, s32);
    rg_array Y1 = ARR(y1, RG_FLOAT64, 2, s32), Y2 = ARR(y2, RG_FLOAT64, 2, s32);
    rg_array G1 = ARR(g1, RG_FLOAT64, 2, s32), G2 = ARR(g2, RG_FLOAT64, 2, s32);
    EXPECT_STATUS(rg_map_forward(m, &Xs, NULL, 0, &Y1), RG_OK);
    EXPECT_STATUS(rg_map_forward(m, &Xc, NULL, 0, &Y2), RG_OK);
    EXPECT(memcmp(y1, y2, sizeof y1) == 0, "transposed view == contiguous copy");
    EXPECT_STATUS(rg_map_vjp(m, &Xs, &Xs, NULL, 0, &G1), RG_OK);
    EXPECT_STATUS(rg_map_vjp(m, &Xc, &Xc, NULL, 0, &G2), RG_OK);
    EXPECT(memcmp(g1, g2, sizeof g1) == 0, "transposed vjp == contiguous");
    /* zero strides (a broadcast row) equal the materialised copy */
    double row[3] = {0.3, -0.2, 1.5}, rep[6] = {0.3, -0.2, 1.5, 0.3, -0.2, 1.5};
    int64_t zst[2] = {0, 1};
    rg_array B = {row, RG_FLOAT64, 2, S23, zst}, R = ARR(rep, RG_FLOAT64, 2, S23);
    rg_array Y3 = ARR(y1, RG_FLOAT64, 2, S23), Y4 = ARR(y2, RG_FLOAT64, 2, S23);
    EXPECT_STATUS(rg_map_forward(m, &B, NULL, 0, &Y3), RG_OK);
    EXPECT_STATUS(rg_map_forward(m, &R, NULL, 0, &Y4), RG_OK);
    EXPECT(memcmp(y1, y2, sizeof y1) == 0, "zero-stride view == copy");
    rg_map_free(m);
}
static void c_negative_strides_loss(void) {
    rg_loss *l = NULL; double v1, v2, g1[6], g2[6];
    double rev[6] = {W6[5], W6[4], W6[3], W6[2], W6[1], W6[0]};
    int64_t st[2] = {-3, -1}, ys[1] = {2};
    int64_t y[2] = {2, 0};
    rg_array Zn = {rev + 5, RG_FLOAT64, 2, S23, st}, Zc = ARR(W6, RG_FLOAT64, 2, S23);
    rg_array Y = ARR(y, RG_INT64, 1, ys), G1 = ARR(g1, RG_FLOAT64, 2, S23), G2 = ARR(g2, RG_FLOAT64, 2, S23);
    EXPECT_STATUS(rg_loss_new("softmax_cross_entropy", "label_smoothing=0.1", &l), RG_OK);
    EXPECT_STATUS(rg_loss_eval(l, &Zn, &Y, NULL, 0, &v1, NULL, &G1), RG_OK);
    EXPECT_STATUS(rg_loss_eval(l, &Zc, &Y, NULL, 0, &v2, NULL, &G2), RG_OK);
    EXPECT(v1 == v2 && memcmp(g1, g2, sizeof g1) == 0, "negative strides == contiguous (%g vs %g)", v1, v2);
    /* labels given with a negative stride too */
    int64_t yr[2] = {0, 2}, ysn[1] = {-1};
    rg_array Yn = {yr + 1, RG_INT64, 1, ys, ysn};
    EXPECT_STATUS(rg_loss_eval(l, &Zc, &Yn, NULL, 0, &v1, NULL, &G1), RG_OK);
    EXPECT(v1 == v2, "strided labels");
    rg_loss_free(l);
}
static void c_misaligned(void) {
    rg_penalty *p = l1(); double v1, v2, g[6];
    unsigned char buf[6 * sizeof(double) + 1];
    memcpy(buf + 1, W6, sizeof W6);
    rg_array Wm = ARR(buf + 1, RG_FLOAT64, 2, S23), W = ARR(W6, RG_FLOAT64, 2, S23), G = ARR(g, RG_FLOAT64, 2, S23);
    EXPECT_STATUS(rg_penalty_eval(p, &Wm, NULL, 0, &v1, &G), RG_OK);
    EXPECT_STATUS(rg_penalty_eval(p, &W, NULL, 0, &v2, NULL), RG_OK);
    EXPECT(v1 == v2 && g[1] == -1, "misaligned input == aligned");
    /* a misaligned output buffer is refused, not written through a bad pointer */
    unsigned char ob[6 * sizeof(double) + 1];
    rg_array Gm = ARR(ob + 1, RG_FLOAT64, 2, S23);
    rg_status s = rg_penalty_eval(p, &W, NULL, 0, &v1, &Gm);
    EXPECT(s == RG_ERR_INVALID_ARGUMENT || s == RG_OK, "misaligned output gave %d", s);
    if (s == RG_OK) { memcpy(g, ob + 1, sizeof g); EXPECT(g[1] == -1, "misaligned output written"); }
    rg_penalty_free(p);
}
static void c_strided_output(void) {
    rg_penalty *p = l1(); double v, g[12];
    int64_t st[2] = {6, 2};
    rg_array W = ARR(W6, RG_FLOAT64, 2, S23), G = {g, RG_FLOAT64, 2, S23, st};
    EXPECT(rg_penalty_eval(p, &W, NULL, 0, &v, &G) != RG_OK, "strided output refused");
    EXPECT_MSG(NULL);
    rg_penalty_free(p);
}
static void c_aliasing(void) {
    rg_penalty *p = l1();
    double w[6]; memcpy(w, W6, sizeof w);
    rg_array W = ARR(w, RG_FLOAT64, 2, S23);
    EXPECT_STATUS(rg_penalty_prox(p, &W, 0.5, NULL, 0, &W), RG_OK);
    EXPECT(w[0] == 0.5 && w[1] == -1.5 && w[2] == 0 && w[4] == 2.5, "in-place prox");
    rg_penalty_free(p);
}
static void c_prox_step(void) {
    rg_penalty *p = l1(); double o[6];
    rg_array W = ARR(W6, RG_FLOAT64, 2, S23), O = ARR(o, RG_FLOAT64, 2, S23);
    EXPECT_STATUS(rg_penalty_prox(p, &W, -1e-300, NULL, 0, &O), RG_ERR_INVALID_ARGUMENT); EXPECT_MSG("step");
    EXPECT_STATUS(rg_penalty_prox(p, &W, -INFINITY, NULL, 0, &O), RG_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(rg_penalty_prox(p, &W, INFINITY, NULL, 0, &O), RG_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(rg_penalty_prox(p, &W, 0.0, NULL, 0, &O), RG_OK);
    EXPECT(memcmp(o, W6, sizeof o) == 0, "step 0 is the identity");
    EXPECT_STATUS(rg_penalty_prox(p, &W, 1e300, NULL, 0, &O), RG_OK);
    EXPECT(o[4] == 0, "a huge step zeroes");
    rg_penalty_free(p);
}
static void c_prox_unsupported(void) {
    int64_t n = 0; double o[6]; int found = 0;
    rg_array W = ARR(W6, RG_FLOAT64, 2, S23), O = ARR(o, RG_FLOAT64, 2, S23);
    rg_component_count(&n);
    for (int64_t i = 0; i < n; i++) {
        const char *id, *j; rg_penalty *p = NULL;
        rg_component_id(i, &id);
        if (rg_describe(id, &j) != RG_OK || !strstr(j, "\"has_prox\":false")) continue;
        if (rg_penalty_new(id, NULL, &p) != RG_OK) continue;
        rg_status s = rg_penalty_prox(p, &W, 0.1, NULL, 0, &O);
        EXPECT(s == RG_ERR_UNSUPPORTED || s == RG_ERR_SHAPE || s == RG_ERR_INVALID_ARGUMENT, "prox of %s gave %d", id, s);
        if (s == RG_ERR_UNSUPPORTED) found++;
        rg_penalty_free(p);
    }
    EXPECT(found > 3, "penalties without a prox report RG_ERR_UNSUPPORTED (%d)", found);
}
static void c_output_shape(void) {
    rg_penalty *p = l1(); double v, g[6];
    int64_t s6[1] = {6}, s32[2] = {3, 2};
    rg_array W = ARR(W6, RG_FLOAT64, 2, S23), G1 = ARR(g, RG_FLOAT64, 1, s6), G2 = ARR(g, RG_FLOAT64, 2, s32);
    rg_array Gn = ARR(NULL, RG_FLOAT64, 2, S23);
    EXPECT_STATUS(rg_penalty_eval(p, &W, NULL, 0, &v, &G1), RG_ERR_SHAPE); EXPECT_MSG(NULL);
    EXPECT_STATUS(rg_penalty_eval(p, &W, NULL, 0, &v, &G2), RG_ERR_SHAPE);
    EXPECT_STATUS(rg_penalty_eval(p, &W, NULL, 0, &v, &Gn), RG_ERR_NULL);
    rg_penalty_free(p);
}

/* ---------- losses: labels and targets ----------------------------------------------------- */

static rg_loss *ce(void) {
    rg_loss *l = NULL;
    if (rg_loss_new("softmax_cross_entropy", NULL, &l) != RG_OK) _exit(2);
    return l;
}
static void c_labels_out_of_range(void) {
    rg_loss *l = ce(); double v; int64_t ys[1] = {2};
    rg_array Z = ARR(W6, RG_FLOAT64, 2, S23);
    int32_t a[2] = {0, -1}, b[2] = {INT32_MAX, 0}; int64_t c[2] = {0, INT64_MIN}, d[2] = {1, (int64_t)1 << 40};
    rg_array A = ARR(a, RG_INT32, 1, ys), B = ARR(b, RG_INT32, 1, ys), C = ARR(c, RG_INT64, 1, ys), D = ARR(d, RG_INT64, 1, ys);
    EXPECT_STATUS(rg_loss_eval(l, &Z, &A, NULL, 0, &v, NULL, NULL), RG_ERR_INVALID_ARGUMENT); EXPECT_MSG("index 1");
    EXPECT_STATUS(rg_loss_eval(l, &Z, &B, NULL, 0, &v, NULL, NULL), RG_ERR_INVALID_ARGUMENT); EXPECT_MSG("index 0");
    EXPECT_STATUS(rg_loss_eval(l, &Z, &C, NULL, 0, &v, NULL, NULL), RG_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(rg_loss_eval(l, &Z, &D, NULL, 0, &v, NULL, NULL), RG_ERR_INVALID_ARGUMENT);
    rg_loss_free(l);
}
static void c_labels_wrong_length(void) {
    rg_loss *l = ce(); double v; int64_t s1[1] = {1}, s3[1] = {3}, s21[2] = {2, 1};
    int32_t y[3] = {0, 1, 2};
    rg_array Z = ARR(W6, RG_FLOAT64, 2, S23);
    rg_array A = ARR(y, RG_INT32, 1, s1), B = ARR(y, RG_INT32, 1, s3), C = ARR(y, RG_INT32, 2, s21);
    EXPECT_STATUS(rg_loss_eval(l, &Z, &A, NULL, 0, &v, NULL, NULL), RG_ERR_SHAPE); EXPECT_MSG(NULL);
    EXPECT_STATUS(rg_loss_eval(l, &Z, &B, NULL, 0, &v, NULL, NULL), RG_ERR_SHAPE);
    /* (B, 1) labels hold one label per row: accepted, like (B,) (unit axes are not a mismatch) */
    rg_status s = rg_loss_eval(l, &Z, &C, NULL, 0, &v, NULL, NULL);
    EXPECT(s == RG_OK || s == RG_ERR_SHAPE, "(2,1) int labels gave %d", s);
    rg_loss_free(l);
}
static void c_labels_float_dtype(void) {
    rg_loss *l = ce(); double v; int64_t ys[1] = {2};
    float yf[2] = {0, 1}; uint8_t yb[2] = {0, 1};
    rg_array Z = ARR(W6, RG_FLOAT64, 2, S23), F = ARR(yf, RG_FLOAT32, 1, ys), B = ARR(yb, 6, 1, ys);
    rg_status s = rg_loss_eval(l, &Z, &F, NULL, 0, &v, NULL, NULL);
    EXPECT(s == RG_ERR_SHAPE || s == RG_ERR_DTYPE, "float (B,) labels gave %d", s);
    EXPECT_STATUS(rg_loss_eval(l, &Z, &B, NULL, 0, &v, NULL, NULL), RG_ERR_DTYPE);
    rg_loss_free(l);
}
static void c_target_wrong_shape(void) {
    rg_loss *l = ce(); double v, t[12] = {0}; int64_t s32[2] = {3, 2}, s24[2] = {2, 4}, s123[3] = {1, 2, 3};
    rg_array Z = ARR(W6, RG_FLOAT64, 2, S23);
    rg_array A = ARR(t, RG_FLOAT64, 2, s32), B = ARR(t, RG_FLOAT64, 2, s24), C = ARR(t, RG_FLOAT64, 3, s123);
    EXPECT_STATUS(rg_loss_eval(l, &Z, &A, NULL, 0, &v, NULL, NULL), RG_ERR_SHAPE); EXPECT_MSG(NULL);
    EXPECT_STATUS(rg_loss_eval(l, &Z, &B, NULL, 0, &v, NULL, NULL), RG_ERR_SHAPE);
    rg_status s0 = rg_loss_eval(l, &Z, &C, NULL, 0, &v, NULL, NULL);   /* (1,2,3): same rows x classes */
    EXPECT(s0 == RG_OK || s0 == RG_ERR_SHAPE, "(1,2,3) targets gave %d", s0);
    float tf[6] = {1, 0, 0, 0, 1, 0};
    rg_array TF = ARR(tf, RG_FLOAT32, 2, S23);
    rg_status s = rg_loss_eval(l, &Z, &TF, NULL, 0, &v, NULL, NULL);
    EXPECT(s == RG_OK || s == RG_ERR_DTYPE, "float32 targets with float64 logits gave %d", s);
    rg_loss_free(l);
}
static void c_logits_rank(void) {
    rg_loss *l = ce(); double v; int64_t s1[1] = {6}, ys[1] = {1}, s3[3] = {1, 2, 3};
    int32_t y[2] = {0, 1};
    rg_array Z1 = ARR(W6, RG_FLOAT64, 1, s1), Z3 = ARR(W6, RG_FLOAT64, 3, s3), Y = ARR(y, RG_INT32, 1, ys);
    rg_status s = rg_loss_eval(l, &Z1, &Y, NULL, 0, &v, NULL, NULL);
    EXPECT(s == RG_OK || s == RG_ERR_SHAPE, "rank-1 logits gave %d", s);
    s = rg_loss_eval(l, &Z3, &Y, NULL, 0, &v, NULL, NULL);
    EXPECT(s == RG_ERR_SHAPE || s == RG_OK, "rank-3 logits gave %d", s);
    rg_loss_free(l);
}
static void c_per_sample_shape(void) {
    rg_loss *l = ce(); double v, per[3]; int64_t ys[1] = {2}, p3[1] = {3};
    int32_t y[2] = {0, 1}; float pf[2];
    rg_array Z = ARR(W6, RG_FLOAT64, 2, S23), Y = ARR(y, RG_INT32, 1, ys);
    rg_array P3 = ARR(per, RG_FLOAT64, 1, p3), PF = ARR(pf, RG_FLOAT32, 1, ys);
    EXPECT_STATUS(rg_loss_eval(l, &Z, &Y, NULL, 0, &v, &P3, NULL), RG_ERR_SHAPE);
    EXPECT_STATUS(rg_loss_eval(l, &Z, &Y, NULL, 0, &v, &PF, NULL), RG_ERR_DTYPE);
    EXPECT_STATUS(rg_loss_eval(l, &Z, &Y, NULL, 0, NULL, NULL, NULL), RG_ERR_NULL);
    rg_loss_free(l);
}
static void c_side_inputs(void) {
    rg_loss *l = ce(); double v; int64_t ys[1] = {2};
    int32_t y[2] = {0, 1};
    rg_array Z = ARR(W6, RG_FLOAT64, 2, S23), Y = ARR(y, RG_INT32, 1, ys);
    rg_named_array in[2] = {{"mask", ARR(W6, RG_FLOAT64, 2, S23)}, {NULL, ARR(W6, RG_FLOAT64, 2, S23)}};
    EXPECT_STATUS(rg_loss_eval(l, &Z, &Y, in, 1, &v, NULL, NULL), RG_ERR_UNKNOWN_PARAMETER); EXPECT_MSG("mask");
    EXPECT_STATUS(rg_loss_eval(l, &Z, &Y, &in[1], 1, &v, NULL, NULL), RG_ERR_NULL);
    EXPECT_STATUS(rg_loss_eval(l, &Z, &Y, NULL, 3, &v, NULL, NULL), RG_ERR_NULL);
    EXPECT_STATUS(rg_loss_eval(l, &Z, &Y, in, INT64_MIN, &v, NULL, NULL), RG_ERR_INVALID_ARGUMENT);
    rg_loss_free(l);
    /* softpick's documented mask: wrong shape and NaN inside */
    rg_map *m = NULL; double o[6];
    if (rg_map_new("softpick", NULL, &m) == RG_OK) {
        double mask_nan[6] = {1, 1, NAN, 1, 1, 1};
        rg_named_array mk[1] = {{"mask", ARR(W6, RG_FLOAT64, 1, ys)}};
        rg_array X = ARR(W6, RG_FLOAT64, 2, S23), O = ARR(o, RG_FLOAT64, 2, S23);
        rg_status s = rg_map_forward(m, &X, mk, 1, &O);
        EXPECT(s == RG_ERR_SHAPE || s == RG_ERR_UNKNOWN_PARAMETER, "softpick mask of the wrong shape gave %d", s);
        mk[0].array = (rg_array)ARR(mask_nan, RG_FLOAT64, 2, S23);
        s = rg_map_forward(m, &X, mk, 1, &O);
        EXPECT(s == RG_ERR_NONFINITE || s == RG_ERR_UNKNOWN_PARAMETER, "softpick NaN mask gave %d", s);
        rg_map_free(m);
    }
}
static void c_map_vjp_mismatch(void) {
    rg_map *m = NULL; double o[6], c[6] = {0}; int64_t s32[2] = {3, 2};
    float cf[6] = {0};
    EXPECT_STATUS(rg_map_new("sparsemax", NULL, &m), RG_OK);
    rg_array X = ARR(W6, RG_FLOAT64, 2, S23), O = ARR(o, RG_FLOAT64, 2, S23);
    rg_array C = ARR(c, RG_FLOAT64, 2, s32), CF = ARR(cf, RG_FLOAT32, 2, S23);
    EXPECT_STATUS(rg_map_vjp(m, &X, &C, NULL, 0, &O), RG_ERR_SHAPE);
    EXPECT_STATUS(rg_map_vjp(m, &X, &CF, NULL, 0, &O), RG_ERR_DTYPE);
    EXPECT_STATUS(rg_map_vjp(m, &X, NULL, NULL, 0, &O), RG_ERR_NULL);
    EXPECT_STATUS(rg_map_vjp(m, &X, &X, NULL, 0, NULL), RG_ERR_NULL);
    rg_map_free(m);
}
static void c_extreme_logits(void) {
    rg_loss *l = ce(); double v, g[6]; int64_t ys[1] = {2};
    double z[6] = {1.7e308, -1.7e308, 0, 1e300, 1e300, -1e300};
    int32_t y[2] = {1, 2};
    rg_array Z = ARR(z, RG_FLOAT64, 2, S23), Y = ARR(y, RG_INT32, 1, ys), G = ARR(g, RG_FLOAT64, 2, S23);
    rg_status s = rg_loss_eval(l, &Z, &Y, NULL, 0, &v, NULL, &G);
    EXPECT(s == RG_OK || s == RG_ERR_NONFINITE, "near-DBL_MAX logits gave %d", s);
    if (s == RG_OK) EXPECT(!isnan(v) && !isnan(g[0]) && !isnan(g[5]), "no NaN out of finite logits (v=%g)", v);
    float zf[6] = {3e38f, -3e38f, 0, 1e30f, 1e30f, -1e30f}; float gf[6];
    rg_array ZF = ARR(zf, RG_FLOAT32, 2, S23), GF = ARR(gf, RG_FLOAT32, 2, S23);
    s = rg_loss_eval(l, &ZF, &Y, NULL, 0, &v, NULL, &GF);
    EXPECT(s == RG_OK || s == RG_ERR_NONFINITE, "near-FLT_MAX logits gave %d", s);
    if (s == RG_OK) EXPECT(!isnan(gf[0]) && !isnan(gf[5]), "no NaN gradient in float32");
    rg_loss_free(l);
}

/* ---------- training: rg_optimizer_* ------------------------------------------------------- */

static rg_status grad_ok(void *ctx, double *loss) {
    double **wg = ctx;
    for (int i = 0; i < 6; i++) wg[1][i] = wg[0][i];
    *loss = 1;
    return RG_OK;
}
static rg_status grad_nan(void *ctx, double *loss) {
    double **wg = ctx;
    for (int i = 0; i < 6; i++) wg[1][i] = i == 3 ? NAN : 1;
    *loss = 1;
    return RG_OK;
}
static rg_status grad_nan_loss(void *ctx, double *loss) { (void)ctx; *loss = NAN; return RG_OK; }
static rg_status grad_null_loss_check(void *ctx, double *loss) {
    double **wg = ctx;
    for (int i = 0; i < 6; i++) wg[1][i] = 0;
    return loss ? RG_OK : RG_ERR_NULL;
}

static void c_optimizer_params(void) {
    rg_optimizer *o = NULL;
    const char *bad[] = {"lr=-1", "lr=nan", "lr=inf", "momentum=2", "beta1=1", "beta2=-0.1", "eps=0",
                         "schedule=linear", "total_steps=-3", "warmup=1e30", "seed=-1", "nesterov=maybe",
                         "lr", "lr=1,lr=2", "=", ",,,", "step_every=0", "gamma=-1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rg_status s = rg_optimizer_new("adam", bad[i], NULL, &o);
        EXPECT(s != RG_OK, "optimizer params \"%s\" accepted", bad[i]);
        EXPECT(o == NULL, "no handle");
        EXPECT_MSG(NULL);
        if (o) { rg_optimizer_free(o); o = NULL; }
    }
}
static void c_optimizer_transforms(void) {
    rg_optimizer *o = NULL;
    const char *bad[] = {";", "sam", "sam:", "sam:rho", "sam:rho=-1", "clip_global_norm:max_norm=0",
                         "prox_step:penalty=nope", "prox_step:penalty=softmax_cross_entropy", "prox_step",
                         "sam:rho=0.1;sam:rho=0.1", ":rho=1", "sam:rho=0.1:x=2", "grad_noise:eta=nan"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rg_status s = rg_optimizer_new("sgd", "lr=0.1", bad[i], &o);
        if (s == RG_OK) { rg_optimizer_free(o); o = NULL; continue; }   /* some are legal (defaults) */
        EXPECT(o == NULL, "no handle for \"%s\"", bad[i]);
        EXPECT_MSG(NULL);
    }
    EXPECT_STATUS(rg_optimizer_new("sgd", "lr=0.1", "sam:rho=-1", &o), RG_ERR_PARAMETER);
    EXPECT_STATUS(rg_optimizer_new("sgd", "lr=0.1", "prox_step:penalty=nope", &o), RG_ERR_UNKNOWN_ID);
}
static void c_optimizer_step_arrays(void) {
    rg_optimizer *o = NULL;
    double w[6], g[6] = {1, 1, 1, 1, 1, 1}; float gf[6] = {0};
    memcpy(w, W6, sizeof w);
    int64_t s32[2] = {3, 2}, st[2] = {6, 2}, huge[2] = {INT64_MAX, 2};
    rg_array W = ARR(w, RG_FLOAT64, 2, S23), G = ARR(g, RG_FLOAT64, 2, S23), GF = ARR(gf, RG_FLOAT32, 2, S23);
    rg_array G32 = ARR(g, RG_FLOAT64, 2, s32), WS = {w, RG_FLOAT64, 2, S23, st}, WH = ARR(w, RG_FLOAT64, 2, huge);
    rg_array WI = ARR(w, RG_INT64, 2, S23);
    EXPECT_STATUS(rg_optimizer_new("sgd", "lr=0.1", NULL, &o), RG_OK);
    EXPECT_STATUS(rg_optimizer_step(o, &W, &GF, 1, NULL, NULL, NULL), RG_ERR_DTYPE);
    EXPECT_STATUS(rg_optimizer_step(o, &W, &G32, 1, NULL, NULL, NULL), RG_ERR_SHAPE);
    EXPECT(rg_optimizer_step(o, &WS, &G, 1, NULL, NULL, NULL) != RG_OK, "strided params (updated in place) refused");
    EXPECT_STATUS(rg_optimizer_step(o, &WH, &G, 1, NULL, NULL, NULL), RG_ERR_SHAPE);
    EXPECT_STATUS(rg_optimizer_step(o, &WI, &G, 1, NULL, NULL, NULL), RG_ERR_DTYPE);
    EXPECT_STATUS(rg_optimizer_step(o, &W, NULL, 1, NULL, NULL, NULL), RG_ERR_NULL);
    rg_optimizer *o0 = NULL;
    EXPECT_STATUS(rg_optimizer_new("sgd", "lr=0.1", NULL, &o0), RG_OK);
    EXPECT_STATUS(rg_optimizer_step(o0, &W, &G, 0, NULL, NULL, NULL), RG_OK);   /* nothing to do */
    EXPECT(memcmp(w, W6, sizeof w) == 0, "no params, no change");
    rg_optimizer_free(o0);
    EXPECT_STATUS(rg_optimizer_step(o, &W, &G, 1, NULL, NULL, NULL), RG_OK);
    EXPECT(fabs(w[0] - 0.9) < 1e-15, "sgd step %g", w[0]);
    /* the first step fixed the layout: a different count or shape is refused */
    rg_array two[2] = {W, W}, gtwo[2] = {G, G};
    EXPECT_STATUS(rg_optimizer_step(o, two, gtwo, 2, NULL, NULL, NULL), RG_ERR_SHAPE);
    int64_t s6[1] = {6};
    rg_array W1 = ARR(w, RG_FLOAT64, 1, s6), G1 = ARR(g, RG_FLOAT64, 1, s6);
    EXPECT_STATUS(rg_optimizer_step(o, &W1, &G1, 1, NULL, NULL, NULL), RG_ERR_SHAPE);
    rg_optimizer_free(o);
}
static void c_optimizer_nonfinite(void) {
    rg_optimizer *o = NULL;
    double w[6], g[6] = {0, 0, NAN, 0, 0, 0}, before[6];
    memcpy(w, W6, sizeof w); memcpy(before, w, sizeof w);
    rg_array W = ARR(w, RG_FLOAT64, 2, S23), G = ARR(g, RG_FLOAT64, 2, S23);
    EXPECT_STATUS(rg_optimizer_new("adam", "lr=0.1", NULL, &o), RG_OK);
    EXPECT_STATUS(rg_optimizer_step(o, &W, &G, 1, NULL, NULL, NULL), RG_ERR_NONFINITE); EXPECT_MSG("index 2");
    EXPECT(memcmp(w, before, sizeof w) == 0, "parameters untouched by a NaN gradient");
    w[5] = INFINITY; g[2] = 0;
    EXPECT_STATUS(rg_optimizer_step(o, &W, &G, 1, NULL, NULL, NULL), RG_ERR_NONFINITE); EXPECT_MSG("index 5");
    w[5] = before[5];
    double *ctx[2] = {w, g};
    EXPECT_STATUS(rg_optimizer_step(o, &W, &G, 1, grad_nan, ctx, NULL), RG_ERR_NONFINITE);
    EXPECT(memcmp(w, before, sizeof w) == 0, "parameters untouched by a NaN callback gradient");
    EXPECT(rg_optimizer_step(o, &W, &G, 1, grad_nan_loss, ctx, NULL) != RG_OK, "a NaN loss from the callback is refused");
    EXPECT(memcmp(w, before, sizeof w) == 0, "parameters untouched by a NaN loss");
    double loss = 0;
    EXPECT_STATUS(rg_optimizer_step(o, &W, &G, 1, grad_null_loss_check, ctx, &loss), RG_OK);
    EXPECT_STATUS(rg_optimizer_step(o, &W, &G, 1, grad_ok, ctx, &loss), RG_OK);
    EXPECT(loss == 1, "loss reported");
    rg_optimizer_free(o);
}
static void c_optimizer_sam_wrappers(void) {
    const char *wrappers[] = {"sam:rho=0.05", "usam:rho=0.05", "amp:epsilon=0.1", "fd_grad_reg:h=0.01"};
    double w[6], g[6];
    rg_array W = ARR(w, RG_FLOAT64, 2, S23), G = ARR(g, RG_FLOAT64, 2, S23);
    double *ctx[2] = {w, g};
    for (int k = 0; k < 4; k++) {
        rg_optimizer *o = NULL;
        memcpy(w, W6, sizeof w);
        if (rg_optimizer_new("sgd", "lr=0.1", wrappers[k], &o) != RG_OK) continue;
        EXPECT_STATUS(rg_optimizer_step(o, &W, &G, 1, NULL, NULL, NULL), RG_ERR_INVALID_ARGUMENT);
        EXPECT_STATUS(rg_optimizer_step(o, &W, &G, 1, grad_ok, ctx, NULL), RG_OK);
        EXPECT_STATUS(rg_optimizer_step(o, &W, &G, 1, grad_nan, ctx, NULL), RG_ERR_NONFINITE);
        rg_optimizer_free(o);
    }
}

/* ---------- concurrency -------------------------------------------------------------------- */

static rg_penalty *shared_p;
static void *hammer(void *arg) {
    long me = (long)(intptr_t)arg;
    double w[6], g[6], v;
    memcpy(w, W6, sizeof w);
    rg_array W = ARR(w, RG_FLOAT64, 2, S23), G = ARR(g, RG_FLOAT64, 2, S23);
    for (int i = 0; i < 2000; i++) {
        rg_penalty *p = NULL; rg_map *m = NULL; const char *id, *j; int64_t n;
        if (rg_penalty_new(me % 2 ? "l2" : "group_lasso", "strength=0.5", &p) != RG_OK) return (void *)1;
        if (rg_penalty_eval(p, &W, NULL, 0, &v, &G) != RG_OK) return (void *)2;
        rg_penalty_free(p);
        if (rg_penalty_free(p) != RG_ERR_INVALID_HANDLE) return (void *)3;   /* double free, racing */
        if (rg_map_new("entmax15", NULL, &m) != RG_OK || rg_map_forward(m, &W, NULL, 0, &G) != RG_OK) return (void *)4;
        rg_map_free(m);
        rg_component_count(&n);
        if (rg_component_id(i % n, &id) != RG_OK || rg_describe(id, &j) != RG_OK) return (void *)5;
        if (rg_penalty_new("nope", NULL, &p) != RG_ERR_UNKNOWN_ID || !strstr(rg_last_error(), "nope")) return (void *)6;
    }
    return NULL;
}
static void c_concurrent(void) {
    pthread_t t[8];
    for (long i = 0; i < 8; i++) pthread_create(&t[i], NULL, hammer, (void *)(intptr_t)i);
    for (int i = 0; i < 8; i++) { void *r; pthread_join(t[i], &r); EXPECT(r == NULL, "thread %d failed at %ld", i, (long)(intptr_t)r); }
}
static void *free_racer(void *arg) { (void)arg; rg_status s = rg_penalty_free(shared_p); return (void *)(intptr_t)s; }
static void c_concurrent_double_free(void) {
    for (int round = 0; round < 200; round++) {
        shared_p = l1();
        pthread_t t[4]; int ok = 0;
        for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, free_racer, NULL);
        for (int i = 0; i < 4; i++) { void *r; pthread_join(t[i], &r); if ((intptr_t)r == RG_OK) ok++; else EXPECT((intptr_t)r == RG_ERR_INVALID_HANDLE, "status %ld", (long)(intptr_t)r); }
        EXPECT(ok == 1, "exactly one free succeeds (%d)", ok);
    }
}
static void *err_thread(void *arg) {
    (void)arg;
    rg_penalty *p = NULL;
    for (int i = 0; i < 500; i++) {
        rg_penalty_new("thread_b_id", NULL, &p);
        if (!strstr(rg_last_error(), "thread_b_id")) return (void *)1;
    }
    return NULL;
}
static void c_last_error_thread_local(void) {
    pthread_t t; rg_penalty *p = NULL;
    pthread_create(&t, NULL, err_thread, NULL);
    for (int i = 0; i < 500; i++) {
        rg_penalty_new("thread_a_id", NULL, &p);
        EXPECT(strstr(rg_last_error(), "thread_a_id") != NULL, "own message");
    }
    void *r; pthread_join(t, &r);
    EXPECT(r == NULL, "other thread saw its own message");
}

/* Regression: two threads of a fork()ed child making their first Regula calls at once used to
 * hang in swift_once (the Swift runtime's futex lock keeps the parent's cached thread id in the
 * child's main thread); the library now creates its globals under glibc's pthread_once. */
static void *first_use(void *arg) { (void)arg; rg_penalty *p = NULL; rg_penalty_new("first_use_b", NULL, &p); return NULL; }
static void c_fork_first_use(void) {
    int hung = 0;
    for (int k = 0; k < 60; k++) {
        pid_t pid = fork();
        if (pid == 0) {
            alarm(10);
            pthread_t t; rg_penalty *p = NULL;
            pthread_create(&t, NULL, first_use, NULL);
            rg_penalty_new("first_use_a", NULL, &p);
            pthread_join(t, NULL);
            _exit(0);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        if (st != 0) hung++;
    }
    EXPECT(hung == 0, "%d of 60 forked children hung or crashed on first use from two threads", hung);
}

/* ---------- plugins (fixtures built by the Makefile) --------------------------------------- */

static char pbuf[4096];
static const char *fixture(const char *name) {
    snprintf(pbuf, sizeof pbuf, "%s/%s", plugin_dir ? plugin_dir : ".", name);
    return pbuf;
}
static void expect_plugin_error(const char *file, const char *needle) {
    if (!plugin_dir) return;
    int64_t before = 0, after = 0;
    rg_component_count(&before);
    EXPECT_STATUS(rg_plugin_load(fixture(file)), RG_ERR_PLUGIN);
    EXPECT_MSG(needle);
    rg_component_count(&after);
    EXPECT(before == after, "nothing of %s registered (%lld -> %lld)", file, (long long)before, (long long)after);
    /* the registry stays usable */
    rg_penalty *p = NULL; double v;
    rg_array W = ARR(W6, RG_FLOAT64, 2, S23);
    EXPECT_STATUS(rg_penalty_new("l1", NULL, &p), RG_OK);
    EXPECT_STATUS(rg_penalty_eval(p, &W, NULL, 0, &v, NULL), RG_OK);
    rg_penalty_free(p);
}
static void c_plugin_missing_file(void) { expect_plugin_error("no_such_plugin.so", "no_such_plugin.so"); }
static void c_plugin_not_elf(void) { expect_plugin_error("not_elf.so", "not_elf.so"); }
static void c_plugin_no_entry(void) { expect_plugin_error("libbad_no_entry.so", "regula_plugin_entry"); }
static void c_plugin_null_descriptor(void) { expect_plugin_error("libbad_null_descriptor.so", "NULL"); }
static void c_plugin_abi(void) { expect_plugin_error("libbad_abi.so", "ABI"); }
static void c_plugin_struct_size(void) { expect_plugin_error("libbad_struct_size.so", "struct_size"); }
static void c_plugin_table_size(void) { expect_plugin_error("libbad_table_size.so", "struct_size"); }
static void c_plugin_null_fn(void) { expect_plugin_error("libbad_null_fn.so", "eval"); }
static void c_plugin_dup_builtin(void) { expect_plugin_error("libbad_dup_builtin.so", "l1"); }
static void c_plugin_dup_within(void) { expect_plugin_error("libbad_dup_within.so", "twice_here"); }
static void c_plugin_bad_schema(void) { expect_plugin_error("libbad_schema.so", "default"); }
static void c_plugin_bad_id(void) { expect_plugin_error("libbad_id.so", "Bad-Id"); }
static void c_plugin_loader(void) {
    /* a plugin that loads another plugin from inside its entry (re-entrant rg_plugin_load) */
    if (!plugin_dir) return;
    setenv("REGULA_TEST_INNER_PLUGIN", fixture("liberr_plugin.so"), 1);
    rg_status s = rg_plugin_load(fixture("libloader_plugin.so"));
    EXPECT(s == RG_OK || s == RG_ERR_PLUGIN, "a plugin that loads another gave %d", s);
        const char *j;
    EXPECT_STATUS(rg_describe("l1", &j), RG_OK);   /* no deadlock, registry usable */
    if (s == RG_OK) EXPECT_STATUS(rg_describe("loader_outer", &j), RG_OK);
}
/* Regression (fuzz_descriptor): an integer parameter whose default or bound lies outside Int's
 * range trapped in the validator (Int(Double) conversion). Now refused with RG_ERR_PLUGIN. */
static int32_t t_create(void *u, const double *p, int32_t n, void **s) { (void)u; (void)p; (void)n; *s = NULL; return 0; }
static void t_destroy(void *s) { (void)s; }
static int32_t t_eval(void *s, const rg_array *x, const rg_array *t, double *v, rg_array *o) { (void)s; (void)x; (void)t; (void)o; if (v) *v = 0; return 0; }
static void c_plugin_int_param_range(void) {
    static const double bad[][3] = {{-1e300, -INFINITY, INFINITY}, {INFINITY, -INFINITY, INFINITY},
                                    {0, -1e19, 10}, {0, 0, 1e300}, {1e17, 0, 1e18}};
    for (int k = 0; k < 5; k++) {
        static rg_param_spec spec[5];
        static rg_component_table table[5];
        static rg_plugin_descriptor d[5];
        static char id[5][16];
        snprintf(id[k], sizeof id[k], "int_range_%d", k);
        spec[k] = (rg_param_spec){"n", RG_PARAM_INT, bad[k][0], bad[k][1], bad[k][2], NULL};
        table[k] = (rg_component_table){sizeof(rg_component_table), RG_KIND_PENALTY, id[k], "t", NULL, NULL,
                                        &spec[k], 1, NULL, t_create, t_destroy, t_eval, NULL, NULL, NULL};
        d[k] = (rg_plugin_descriptor){sizeof(rg_plugin_descriptor), RG_PLUGIN_ABI_VERSION, "t", "0", &table[k], 1};
        EXPECT_STATUS(rg_plugin_register(&d[k]), RG_ERR_PLUGIN);
        EXPECT_MSG("'n'");
    }
    static rg_param_spec good = {"n", RG_PARAM_INT, 3, 0, 9007199254740992.0, NULL};
    static rg_component_table gt = {sizeof(rg_component_table), RG_KIND_PENALTY, "int_range_ok", "t", NULL, NULL,
                                    &good, 1, NULL, t_create, t_destroy, t_eval, NULL, NULL, NULL};
    static rg_plugin_descriptor gd = {sizeof(rg_plugin_descriptor), RG_PLUGIN_ABI_VERSION, "t", "0", &gt, 1};
    EXPECT_STATUS(rg_plugin_register(&gd), RG_OK);
}
static void c_plugin_errors(void) {
    if (!plugin_dir) return;
    EXPECT_STATUS(rg_plugin_load(fixture("liberr_plugin.so")), RG_OK);
    rg_penalty *p = NULL; rg_map *m = NULL; rg_loss *l = NULL; double v, g[6];
    rg_array W = ARR(W6, RG_FLOAT64, 2, S23), G = ARR(g, RG_FLOAT64, 2, S23);
    EXPECT_STATUS(rg_penalty_new("err_create", NULL, &p), RG_ERR_CALLBACK); EXPECT_MSG("err_create");
    EXPECT_STATUS(rg_penalty_new("err_eval", NULL, &p), RG_OK);
    EXPECT_STATUS(rg_penalty_eval(p, &W, NULL, 0, &v, &G), RG_ERR_CALLBACK); EXPECT_MSG("deliberate failure");
    EXPECT_STATUS(rg_penalty_prox(p, &W, 0.1, NULL, 0, &G), RG_ERR_CALLBACK);
    rg_penalty_free(p);
    EXPECT_STATUS(rg_penalty_new("nan_value", NULL, &p), RG_OK);
    EXPECT_STATUS(rg_penalty_eval(p, &W, NULL, 0, &v, NULL), RG_ERR_CALLBACK); EXPECT_MSG("non-finite");
    rg_penalty_free(p);
    EXPECT_STATUS(rg_penalty_new("inf_grad", NULL, &p), RG_OK);
    EXPECT_STATUS(rg_penalty_eval(p, &W, NULL, 0, &v, &G), RG_ERR_CALLBACK); EXPECT_MSG("non-finite");
    EXPECT_STATUS(rg_penalty_prox(p, &W, 0.1, NULL, 0, &G), RG_ERR_CALLBACK); EXPECT_MSG("non-finite");
    rg_penalty_free(p);
    EXPECT_STATUS(rg_map_new("nan_map", NULL, &m), RG_OK);
    EXPECT_STATUS(rg_map_forward(m, &W, NULL, 0, &G), RG_ERR_CALLBACK);
    EXPECT_STATUS(rg_map_vjp(m, &W, &W, NULL, 0, &G), RG_ERR_CALLBACK);
    rg_map_free(m);
    int32_t y[2] = {0, 1}; int64_t ys[1] = {2};
    rg_array Y = ARR(y, RG_INT32, 1, ys);
    EXPECT_STATUS(rg_loss_new("err_loss", NULL, &l), RG_OK);
    EXPECT_STATUS(rg_loss_eval(l, &W, &Y, NULL, 0, &v, NULL, &G), RG_ERR_CALLBACK); EXPECT_MSG("err_loss");
    rg_loss_free(l);
    /* used from the training engine: a failing plugin prox inside prox_step is a status */
    rg_optimizer *o = NULL;
    if (rg_optimizer_new("sgd", "lr=0.1", "prox_step:penalty=err_eval", &o) == RG_OK) {
        double w[6], gg[6] = {0};
        memcpy(w, W6, sizeof w);
        rg_array PW = ARR(w, RG_FLOAT64, 2, S23), PG = ARR(gg, RG_FLOAT64, 2, S23);
        rg_status s = rg_optimizer_step(o, &PW, &PG, 1, NULL, NULL, NULL);
        EXPECT(s == RG_ERR_CALLBACK, "failing prox inside prox_step gave %d", s);
        rg_optimizer_free(o);
    }
}

/* ---------- every component gets hostile inputs -------------------------------------------- */

static int kind_of(const char *json) {
    if (strstr(json, "\"kind\":\"penalty\"")) return 0;
    if (strstr(json, "\"kind\":\"loss\"")) return 1;
    if (strstr(json, "\"kind\":\"map\"")) return 2;
    return -1;
}
/* any status is fine as long as failures carry a message; NaN inputs must be refused */
#define ANY(call)                                                                         \
    do { rg_status s_ = (call); EXPECT(s_ >= 0 && s_ <= RG_ERR_INTERNAL && s_ != RG_ERR_INTERNAL, "%s: %s gave %d", id, #call, s_); \
         if (s_ != RG_OK) EXPECT(rg_last_error()[0] != 0, "%s: message for %s", id, #call); } while (0)

static void component_case(const char *id) {
    const char *json = NULL;
    if (rg_describe(id, &json) != RG_OK) { EXPECT(0, "describe %s", id); return; }
    int kind = kind_of(json);
    int64_t s0[2] = {0, 3}, s34[2] = {3, 4}, s4[1] = {4}, s1[1] = {1}, s11[2] = {1, 1}, s3[3] = {2, 2, 3};
    int64_t st[2] = {8, 2}, ys[1] = {3};
    double x[24], xn[12], big[12], g[24], per[3];
    float xf[12], gf[12];
    for (int i = 0; i < 24; i++) x[i] = 0.3 * ((i * 7) % 11) - 1.4;
    for (int i = 0; i < 12; i++) { xn[i] = x[i]; big[i] = (i % 2 ? -1e150 : 1e150); xf[i] = (float)x[i]; }
    xn[7] = NAN;
    rg_array E = ARR(NULL, RG_FLOAT64, 2, s0), X = ARR(x, RG_FLOAT64, 2, s34), XN = ARR(xn, RG_FLOAT64, 2, s34);
    rg_array XB = ARR(big, RG_FLOAT64, 2, s34), X1 = ARR(x, RG_FLOAT64, 1, s4), XS = ARR(x, RG_FLOAT64, 1, s1);
    rg_array X11 = ARR(x, RG_FLOAT64, 2, s11), X3 = ARR(x, RG_FLOAT64, 3, s3), XF = ARR(xf, RG_FLOAT32, 2, s34);
    rg_array XT = {x, RG_FLOAT64, 2, s34, st};
    rg_array G = ARR(g, RG_FLOAT64, 2, s34), GE = ARR(g, RG_FLOAT64, 2, s0), G1 = ARR(g, RG_FLOAT64, 1, s4);
    rg_array GS = ARR(g, RG_FLOAT64, 1, s1), G11 = ARR(g, RG_FLOAT64, 2, s11), G3 = ARR(g, RG_FLOAT64, 3, s3);
    rg_array GF = ARR(gf, RG_FLOAT32, 2, s34);
    double v;
    if (kind == 0) {
        rg_penalty *p = NULL;
        if (rg_penalty_new(id, NULL, &p) != RG_OK) { EXPECT(rg_last_error()[0], "%s: message", id); return; }
        rg_array *ins[] = {&E, &X, &XB, &X1, &XS, &X11, &X3, &XF, &XT};
        rg_array *outs[] = {&GE, &G, &G, &G1, &GS, &G11, &G3, &GF, &G};
        for (int k = 0; k < 9; k++) {
            ANY(rg_penalty_eval(p, ins[k], NULL, 0, &v, outs[k]));
            ANY(rg_penalty_prox(p, ins[k], 0.1, NULL, 0, outs[k]));
        }
        rg_status s = rg_penalty_eval(p, &XN, NULL, 0, &v, &G);
        EXPECT(s == RG_ERR_NONFINITE || s == RG_ERR_SHAPE || s == RG_ERR_INVALID_ARGUMENT, "%s: NaN input gave %d", id, s);
        ANY(rg_penalty_update(p, "step=1"));
        ANY(rg_penalty_update(p, "step=-1"));
        ANY(rg_penalty_update(p, "epoch=1e308"));
        rg_penalty_free(p);
    } else if (kind == 1) {
        rg_loss *l = NULL;
        if (rg_loss_new(id, NULL, &l) != RG_OK) { EXPECT(rg_last_error()[0], "%s: message", id); return; }
        int32_t y[3] = {0, 3, 1}, yb[3] = {0, 4, -1}; int64_t y64[3] = {1, 2, 3};
        double t[12], tv[3] = {0.5, -0.5, 2};
        for (int i = 0; i < 12; i++) t[i] = (i % 4 == 1) ? 1 : 0;
        rg_array Y = ARR(y, RG_INT32, 1, ys), YB = ARR(yb, RG_INT32, 1, ys), Y64 = ARR(y64, RG_INT64, 1, ys);
        rg_array T = ARR(t, RG_FLOAT64, 2, s34), TV = ARR(tv, RG_FLOAT64, 1, ys), Y1 = ARR(y, RG_INT32, 1, s1);
        rg_array P = ARR(per, RG_FLOAT64, 1, ys);
        rg_array *targets[] = {NULL, &Y, &YB, &Y64, &T, &TV, &Y1, &X, &E};
        for (int k = 0; k < 9; k++) {
            ANY(rg_loss_eval(l, &X, targets[k], NULL, 0, &v, &P, &G));
            ANY(rg_loss_eval(l, &XT, targets[k], NULL, 0, &v, NULL, &G));
            ANY(rg_loss_eval(l, &XF, targets[k], NULL, 0, &v, NULL, &GF));
            ANY(rg_loss_eval(l, &XB, targets[k], NULL, 0, &v, NULL, &G));
            ANY(rg_loss_eval(l, &E, targets[k], NULL, 0, &v, NULL, &GE));
            ANY(rg_loss_eval(l, &X1, targets[k], NULL, 0, &v, NULL, &G1));
            ANY(rg_loss_eval(l, &X3, targets[k], NULL, 0, &v, NULL, &G3));
        }
        rg_status s = rg_loss_eval(l, &XN, &Y, NULL, 0, &v, NULL, &G);
        EXPECT(s != RG_OK, "%s: NaN logits accepted", id);
        ANY(rg_loss_update(l, "epoch=-1"));
        ANY(rg_loss_update(l, "step=1e300"));
        rg_loss_free(l);
    } else if (kind == 2) {
        rg_map *m = NULL;
        if (rg_map_new(id, NULL, &m) != RG_OK) { EXPECT(rg_last_error()[0], "%s: message", id); return; }
        rg_array *ins[] = {&E, &X, &XB, &X1, &XS, &X11, &X3, &XF, &XT};
        rg_array *outs[] = {&GE, &G, &G, &G1, &GS, &G11, &G3, &GF, &G};
        for (int k = 0; k < 9; k++) {
            ANY(rg_map_forward(m, ins[k], NULL, 0, outs[k]));
            ANY(rg_map_vjp(m, ins[k], ins[k], NULL, 0, outs[k]));
        }
        rg_status s = rg_map_forward(m, &XN, NULL, 0, &G);
        EXPECT(s == RG_ERR_NONFINITE || strstr(json, "\"mask\""), "%s: NaN input gave %d", id, s);
        ANY(rg_map_update(m, "step=-1"));
        ANY(rg_map_update(m, "step=3"));
        rg_map_free(m);
    }
}

/* ---------- driver ------------------------------------------------------------------------- */

typedef struct { const char *name; void (*fn)(void); } hcase;
static const hcase cases[] = {
    {"unknown_id", c_unknown_id}, {"long_id", c_long_id}, {"wrong_kind", c_wrong_kind},
    {"unknown_param", c_unknown_param}, {"param_garbage", c_param_garbage},
    {"param_huge_string", c_param_huge_string}, {"param_out_of_range", c_param_out_of_range},
    {"null_everything", c_null_everything}, {"new_with_bad_data", c_new_with_bad_data},
    {"bad_handles", c_bad_handles}, {"update_garbage", c_update_garbage},
    {"nan_index", c_nan_index}, {"nan_strided_index", c_nan_strided_index},
    {"nan_in_prox_and_maps", c_nan_in_prox_and_maps}, {"nan_in_loss_target", c_nan_in_loss_target},
    {"empty_arrays", c_empty_arrays}, {"rank", c_rank}, {"dtypes", c_dtypes},
    {"overflow_shapes", c_overflow_shapes}, {"strided_equals_contiguous", c_strided_equals_contiguous},
    {"negative_strides_loss", c_negative_strides_loss}, {"misaligned", c_misaligned},
    {"strided_output", c_strided_output}, {"aliasing", c_aliasing}, {"prox_step", c_prox_step},
    {"prox_unsupported", c_prox_unsupported}, {"output_shape", c_output_shape},
    {"labels_out_of_range", c_labels_out_of_range}, {"labels_wrong_length", c_labels_wrong_length},
    {"labels_float_dtype", c_labels_float_dtype}, {"target_wrong_shape", c_target_wrong_shape},
    {"logits_rank", c_logits_rank}, {"per_sample_shape", c_per_sample_shape},
    {"side_inputs", c_side_inputs}, {"map_vjp_mismatch", c_map_vjp_mismatch},
    {"extreme_logits", c_extreme_logits},
    {"optimizer_params", c_optimizer_params}, {"optimizer_transforms", c_optimizer_transforms},
    {"optimizer_step_arrays", c_optimizer_step_arrays}, {"optimizer_nonfinite", c_optimizer_nonfinite},
    {"optimizer_sam_wrappers", c_optimizer_sam_wrappers},
    {"concurrent", c_concurrent}, {"concurrent_double_free", c_concurrent_double_free},
    {"last_error_thread_local", c_last_error_thread_local}, {"fork_first_use", c_fork_first_use},
    {"plugin_missing_file", c_plugin_missing_file}, {"plugin_not_elf", c_plugin_not_elf},
    {"plugin_no_entry", c_plugin_no_entry}, {"plugin_null_descriptor", c_plugin_null_descriptor},
    {"plugin_abi", c_plugin_abi}, {"plugin_struct_size", c_plugin_struct_size},
    {"plugin_table_size", c_plugin_table_size}, {"plugin_null_fn", c_plugin_null_fn},
    {"plugin_dup_builtin", c_plugin_dup_builtin}, {"plugin_dup_within", c_plugin_dup_within},
    {"plugin_bad_schema", c_plugin_bad_schema}, {"plugin_bad_id", c_plugin_bad_id},
    {"plugin_loader", c_plugin_loader}, {"plugin_errors", c_plugin_errors}, {"plugin_int_param_range", c_plugin_int_param_range},
};

static const char *current_component;
static void run_component(void) { component_case(current_component); }

/* Runs fn in a child; returns 1 when the child exited 0. */
static int run_isolated(const char *name, void (*fn)(void)) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 0; }
    if (pid == 0) {
        alarm(getenv("HOSTILE_ALARM") ? (unsigned)atoi(getenv("HOSTILE_ALARM")) : 60);
        fn();
        fflush(NULL);
        _exit(failures ? 1 : 0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    if (WIFSIGNALED(st)) {
        fprintf(stderr, "CRASH %s: signal %d (%s)\n", name, WTERMSIG(st), WTERMSIG(st) == SIGALRM ? "timeout" : strsignal(WTERMSIG(st)));
        return 0;
    }
    if (WEXITSTATUS(st) != 0) { fprintf(stderr, "FAILED %s (exit %d)\n", name, WEXITSTATUS(st)); return 0; }
    return 1;
}

int main(int argc, char **argv) {
    plugin_dir = argc > 1 ? argv[1] : NULL;
    const char *only = getenv("HOSTILE_ONLY");
    int ok = 0, total = 0;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        if (only && !strstr(cases[i].name, only)) continue;
        total++; ok += run_isolated(cases[i].name, cases[i].fn);
    }
    int64_t n = 0;
    rg_component_count(&n);
    for (int64_t i = 0; i < n; i++) {
        const char *id = NULL;
        if (rg_component_id(i, &id) != RG_OK) continue;
        if (only && !strstr(id, only)) continue;
        current_component = id;
        char name[256];
        snprintf(name, sizeof name, "component:%s", id);
        total++; ok += run_isolated(name, run_component);
    }
    printf("hostile_test: %d of %d cases passed (each in its own process)\n", ok, total);
    return ok == total ? 0 : 1;
}
