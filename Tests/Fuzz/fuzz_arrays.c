/*
 * libFuzzer target: array-view validation. The input picks dtype, rank, shape, strides, the
 * byte offset of the data pointer (misalignment) and float contents (NaN, Inf, huge) of an
 * rg_array. Views whose reachable span fits the buffer are evaluated by a penalty, a map, a
 * loss and a prox, and a strided view must give the same result as its contiguous copy.
 * Views whose element count or byte span overflows 64 bits must be refused with RG_ERR_SHAPE
 * before any memory is touched. Spans that fit in 64 bits but not in the buffer are skipped:
 * such a caller lies about its memory, which no library can detect.
 */
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "regula.h"

#define CAP 4096
typedef struct { const uint8_t *p; size_t n; } cursor;
static uint8_t byte(cursor *c) { if (!c->n) return 0; c->n--; return *c->p++; }
static int64_t i64(cursor *c) { uint64_t v = 0; for (int i = 0; i < 8; i++) v = v << 8 | byte(c); return (int64_t)v; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static rg_penalty *pen; static rg_map *map; static rg_loss *loss; static rg_penalty *prox;
    if (!pen) {
        rg_penalty_new("group_lasso", "strength=0.5", &pen);
        rg_map_new("entmax15", NULL, &map);
        rg_loss_new("softmax_cross_entropy", "reduction=sum", &loss);
        rg_penalty_new("l1", "strength=1", &prox);
    }
    cursor c = {data, size};
    static double storage[CAP + 2];
    unsigned char *base = (unsigned char *)storage;
    uint8_t h = byte(&c);
    int32_t dtype = h & 0x80 ? (int32_t)(byte(&c)) - 2 : (h & 1 ? RG_FLOAT32 : RG_FLOAT64);
    int32_t ndim = h & 0x40 ? (int32_t)(int8_t)byte(&c) : (h >> 1) % 5;
    int misalign = h & 0x20 ? 1 + byte(&c) % 7 : 0;
    int64_t shape[16] = {0}, strides[16] = {0};
    int with_strides = byte(&c) & 1;
    int big = byte(&c);
    for (int k = 0; k < 16; k++) {
        shape[k] = big & 1 ? i64(&c) : byte(&c) % 7;
        strides[k] = big & 2 ? i64(&c) : (int64_t)(int8_t)byte(&c) % 9;
    }
    size_t esize = dtype == RG_FLOAT32 || dtype == RG_INT32 ? 4 : 8;
    /* contents: the rest of the input, as floats of the dtype */
    for (size_t i = 0; i < CAP; i++) {
        double v = (double)(int8_t)byte(&c) / 8.0;
        uint8_t k = (uint8_t)(i * 31 + size);
        if (k == 7 && h & 0x10) v = NAN;
        if (k == 9 && h & 0x08) v = INFINITY;
        if (k == 11 && h & 0x04) v = 1e300;
        if (dtype == RG_FLOAT32) { float f = (float)v; memcpy(base + misalign + i * 4, &f, 4); }
        else if (i < CAP / 2 + 1) memcpy(base + misalign + i * 8, &v, 8);
    }
    /* reachable span, computed with overflow checks; offset of element 0 is 0 for strides >= 0,
     * negative strides start the view at the far end */
    int overflow = 0, empty = 0, badrank = ndim < 0 || ndim > RG_MAX_RANK;
    int64_t count = 1, lo = 0, hi = 0;
    if (!badrank) {
        for (int k = 0; k < ndim; k++) {
            if (shape[k] < 0) { badrank = 1; break; }
            if (shape[k] == 0) empty = 1;
            if (__builtin_mul_overflow(count, shape[k], &count)) overflow = 1;
        }
        int64_t bytes;
        if (!empty && !overflow && __builtin_mul_overflow(count, (int64_t)esize, &bytes)) overflow = 1;
        if (badrank) {
            /* a negative dimension: nothing more to compute */
        } else if (!empty && with_strides) {
            for (int k = 0; k < ndim; k++) {
                int64_t m;
                if (__builtin_mul_overflow(shape[k] - 1, strides[k], &m) ||
                    (m < 0 ? __builtin_add_overflow(lo, m, &lo) : __builtin_add_overflow(hi, m, &hi))) { overflow = 2; break; }
            }
        } else if (!empty && !overflow) hi = count - 1;
    }
    int64_t capacity = (int64_t)(CAP * 8 / esize) - 2;
    int64_t extent = 0;
    int fits = !badrank && !overflow && (empty || (!__builtin_sub_overflow(hi, lo, &extent) && extent < capacity));
    void *ptr = base + misalign + (size_t)(fits && !empty ? -lo : 0) * esize;
    rg_array a = {ptr, dtype, ndim, shape, with_strides ? strides : NULL};
    double v = 0, g[CAP];
    rg_array G = {g, dtype == RG_FLOAT32 ? RG_FLOAT32 : RG_FLOAT64, ndim, shape, NULL};
    if (overflow == 1) {
        rg_status s = rg_penalty_eval(pen, &a, NULL, 0, &v, NULL);
        if (s != RG_ERR_SHAPE && s != RG_ERR_DTYPE) abort();   /* element-count overflow is refused */
        return 0;
    }
    if (!fits) {
        if (badrank || overflow) {   /* bad rank, negative dim or a span overflow: refused */
            rg_status s = rg_penalty_eval(pen, &a, NULL, 0, &v, NULL);
            if (s == RG_OK) abort();
        }
        return 0;
    }
    if (count > CAP / 2) return 0;
    rg_status s1 = rg_penalty_eval(pen, &a, NULL, 0, &v, &G);
    if (s1 != RG_OK && rg_last_error()[0] == 0) abort();
    double value = v, lv;
    rg_map_forward(map, &a, NULL, 0, &G);
    rg_map_vjp(map, &a, &a, NULL, 0, &G);
    rg_penalty_prox(prox, &a, 0.25, NULL, 0, &G);
    if (ndim == 2 && shape[0] > 0) {
        int32_t labels[8] = {0};
        int64_t ls[1] = {shape[0]};
        rg_array L = {labels, RG_INT32, 1, ls, NULL};
        if (shape[0] <= 8) rg_loss_eval(loss, &a, &L, NULL, 0, &lv, NULL, &G);
    }
    /* a strided view equals its contiguous copy */
    if (s1 == RG_OK && with_strides && (dtype == RG_FLOAT64 || dtype == RG_FLOAT32) && !empty) {
        static double copy[CAP]; double v2 = 0;
        int64_t idx[RG_MAX_RANK] = {0};
        for (int64_t i = 0; i < count; i++) {
            int64_t off = 0;
            for (int k = 0; k < ndim; k++) off += idx[k] * strides[k];
            if (dtype == RG_FLOAT64) memcpy(&copy[i], (unsigned char *)ptr + off * 8, 8);
            else { float f; memcpy(&f, (unsigned char *)ptr + off * 4, 4); memcpy((float *)copy + i, &f, 4); }
            for (int k = ndim - 1; k >= 0; k--) { if (++idx[k] < shape[k]) break; idx[k] = 0; }
        }
        rg_array C = {copy, dtype, ndim, shape, NULL};
        rg_status s2 = rg_penalty_eval(pen, &C, NULL, 0, &v2, NULL);
        if (s2 != RG_OK || v2 != value) {
            fprintf(stderr, "strided view %.17g vs contiguous copy %.17g (status %d: %s)\n", value, v2, s2, rg_last_error());
            abort();
        }
    }
    return 0;
}
