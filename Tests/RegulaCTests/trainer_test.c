/*
 * C ABI tests of the Trainer section (rg_trainer_*): a digits run from one spec string (>= 0.9
 * test accuracy in a few epochs), predictions against the metrics, save -> load into a fresh
 * trainer, and hostile arguments that must come back as statuses with the parameters untouched.
 * Usage: trainer_test [data/digits.csv]
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "regula.h"

#include "expect.h"

#define F 64
#define K 10
#define MAXROWS 2000

static double X[MAXROWS * F];
static int64_t Y[MAXROWS];

/* 64 pixel values (0..16) then the label, one image per line; x scaled to [0, 1]. */
static int load_digits(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[4096];
    int n = 0;
    while (n < MAXROWS && fgets(line, sizeof line, f)) {
        char *p = line, *end;
        int j;
        for (j = 0; j <= F; j++) {
            double v = strtod(p, &end);
            if (end == p) break;
            if (j < F) X[n * F + j] = v / 16.0; else Y[n] = (int64_t)v;
            p = *end == ',' ? end + 1 : end;
        }
        if (j == F + 1) n++;
    }
    fclose(f);
    return n;
}

static int argmax(const double *row) {
    int a = 0;
    for (int c = 1; c < K; c++) if (row[c] > row[a]) a = c;
    return a;
}

static int64_t S_TEST[2], S_LABELS[1];

/* A trained trainer (shared by the hostile cases, which must not change it). */
static rg_trainer *T = NULL;
static double XTE[MAXROWS * F], PROBS[MAXROWS * K], PROBS2[MAXROWS * K];
static int64_t YTE[MAXROWS];
static int NTE = 0;

static void predict_all(rg_trainer *t, double *out) {
    rg_array x = {XTE, RG_FLOAT64, 2, S_TEST, NULL};
    int64_t ps[2] = {NTE, K};
    rg_array p = {out, RG_FLOAT64, 2, ps, NULL};
    EXPECT_STATUS(rg_trainer_predict(t, &x, &p), RG_OK);
}

static void digits_run(const char *path) {
    int n = load_digits(path);
    EXPECT(n == 1797, "digits rows (%d) from %s", n, path);
    if (n <= 0) return;
    /* every 5th row is a test row */
    static float xtr[MAXROWS * F];
    static int32_t ytr[MAXROWS];
    int ntr = 0;
    for (int i = 0; i < n; i++) {
        if (i % 5 == 0) { memcpy(XTE + NTE * F, X + i * F, F * sizeof(double)); YTE[NTE++] = Y[i]; continue; }
        for (int j = 0; j < F; j++) xtr[ntr * F + j] = (float)X[i * F + j];
        ytr[ntr++] = (int32_t)Y[i];
    }
    S_TEST[0] = NTE; S_TEST[1] = F; S_LABELS[0] = NTE;
    const char *spec = "widths=128;lr=3e-3;batch=32;epochs=5;loss=softmax_cross_entropy:label_smoothing=0.05;"
                       "penalty=l2=1e-4@layer*.weight;transform=clip_global_norm:max_norm=5;seed=1";
    EXPECT_STATUS(rg_trainer_new(F, K, spec, &T), RG_OK);
    if (!T) return;
    int batch = 32, epochs = 5, per_epoch = (ntr + batch - 1) / batch;
    EXPECT_STATUS(rg_trainer_plan(T, per_epoch, epochs), RG_OK);
    /* the caller's loop: a seeded shuffle, batches as strided-free copies (float32 x, int32 labels) */
    static float bx[32 * F];
    static int32_t by[32];
    int order[MAXROWS];
    for (int i = 0; i < ntr; i++) order[i] = i;
    uint64_t state = 7;
    double first = 0, last = 0;
    for (int e = 0; e < epochs; e++) {
        for (int i = ntr - 1; i > 0; i--) {
            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            int j = (int)((state >> 33) % (uint64_t)(i + 1)), t = order[i];
            order[i] = order[j]; order[j] = t;
        }
        double total = 0;
        for (int b0 = 0; b0 < ntr; b0 += batch) {
            int m = ntr - b0 < batch ? ntr - b0 : batch;
            for (int r = 0; r < m; r++) { memcpy(bx + r * F, xtr + order[b0 + r] * F, F * sizeof(float)); by[r] = ytr[order[b0 + r]]; }
            int64_t sx[2] = {m, F}, sy[1] = {m};
            rg_array x = {bx, RG_FLOAT32, 2, sx, NULL}, y = {by, RG_INT32, 1, sy, NULL};
            double loss = NAN;
            rg_status s = rg_trainer_step(T, &x, &y, &loss);
            if (s != RG_OK) { EXPECT_STATUS(s, RG_OK); return; }
            total += loss * m;
        }
        if (e == 0) first = total / ntr;
        last = total / ntr;
    }
    EXPECT(last < first, "the epoch loss falls (%g -> %g)", first, last);
    rg_array x = {XTE, RG_FLOAT64, 2, S_TEST, NULL}, y = {YTE, RG_INT64, 1, S_LABELS, NULL};
    rg_metrics m = {0, 0, 0, 0};
    EXPECT_STATUS(rg_trainer_evaluate(T, &x, &y, &m), RG_OK);
    printf("digits: %d epochs, test accuracy %.4f, NLL %.4f, ECE %.4f (%lld rows)\n", epochs, m.accuracy, m.nll, m.ece, (long long)m.count);
    EXPECT(m.accuracy >= 0.9, "test accuracy %g >= 0.9", m.accuracy);
    EXPECT(m.count == NTE && m.nll > 0 && m.ece >= 0 && m.ece <= 1, "metrics in range");
    /* predictions: rows sum to 1; arg-max accuracy and mean -log p_y are the metrics */
    predict_all(T, PROBS);
    int correct = 0, rows_ok = 1;
    double nll = 0;
    for (int i = 0; i < NTE; i++) {
        double sum = 0;
        for (int c = 0; c < K; c++) sum += PROBS[i * K + c];
        if (fabs(sum - 1) > 1e-9) rows_ok = 0;
        if (argmax(PROBS + i * K) == YTE[i]) correct++;
        nll -= log(PROBS[i * K + YTE[i]]);
    }
    EXPECT(rows_ok, "probability rows sum to 1");
    EXPECT(fabs((double)correct / NTE - m.accuracy) < 1e-12, "arg-max accuracy %g = %g", (double)correct / NTE, m.accuracy);
    EXPECT(fabs(nll / NTE - m.nll) < 1e-9, "mean -log p_y %g = NLL %g", nll / NTE, m.nll);
    /* float32 predictions agree with float64 to float precision */
    static float xf[MAXROWS * F], pf[MAXROWS * K];
    for (int i = 0; i < NTE * F; i++) xf[i] = (float)XTE[i];
    int64_t ps[2] = {NTE, K};
    rg_array xf32 = {xf, RG_FLOAT32, 2, S_TEST, NULL}, pf32 = {pf, RG_FLOAT32, 2, ps, NULL};
    EXPECT_STATUS(rg_trainer_predict(T, &xf32, &pf32), RG_OK);
    double worst = 0;
    for (int i = 0; i < NTE * K; i++) worst = fmax(worst, fabs(pf[i] - PROBS[i]));
    EXPECT(worst < 1e-4, "float32 predictions (%g)", worst);
}

static void save_and_load(void) {
    char path[256];
    snprintf(path, sizeof path, "/tmp/regula-trainer-test-%d.rgp", (int)getpid());
    EXPECT_STATUS(rg_trainer_save(T, path), RG_OK);
    rg_trainer *u = NULL;
    EXPECT_STATUS(rg_trainer_new(F, K, "widths=128;seed=99", &u), RG_OK);
    predict_all(u, PROBS2);
    EXPECT(memcmp(PROBS, PROBS2, sizeof(double) * NTE * K) != 0, "a fresh trainer predicts otherwise");
    EXPECT_STATUS(rg_trainer_load(u, path), RG_OK);
    predict_all(u, PROBS2);
    EXPECT(memcmp(PROBS, PROBS2, sizeof(double) * NTE * K) == 0, "loaded trainer predicts identically");
    /* another architecture refuses the file and keeps its parameters */
    rg_trainer *v = NULL;
    EXPECT_STATUS(rg_trainer_new(F, K, "widths=64", &v), RG_OK);
    predict_all(v, PROBS2);
    static double before[MAXROWS * K];
    memcpy(before, PROBS2, sizeof(double) * NTE * K);
    rg_status s = rg_trainer_load(v, path);
    EXPECT(s == RG_ERR_SHAPE || s == RG_ERR_IO, "another model's file: %d", s);
    predict_all(v, PROBS2);
    EXPECT(memcmp(before, PROBS2, sizeof(double) * NTE * K) == 0, "a failed load changes nothing");
    /* a file that is not a parameter file, a missing file, an unwritable path */
    char text[300];
    snprintf(text, sizeof text, "%s.txt", path);
    FILE *f = fopen(text, "w");
    if (f) { fputs("not parameters\n", f); fclose(f); }
    EXPECT_STATUS(rg_trainer_load(v, text), RG_ERR_IO);
    EXPECT_STATUS(rg_trainer_load(v, "/nonexistent/regula.rgp"), RG_ERR_IO);
    EXPECT_STATUS(rg_trainer_save(v, "/nonexistent/dir/regula.rgp"), RG_ERR_IO);
    EXPECT_STATUS(rg_trainer_save(v, NULL), RG_ERR_NULL);
    EXPECT_STATUS(rg_trainer_load(v, NULL), RG_ERR_NULL);
    unlink(path); unlink(text);
    EXPECT_STATUS(rg_trainer_free(u), RG_OK);
    EXPECT_STATUS(rg_trainer_free(v), RG_OK);
}

/* ---------- hostile arguments: statuses, messages naming the problem, nothing changed ---------- */

static int names(const char *needle) { return rg_last_error()[0] != '\0' && (!needle || strstr(rg_last_error(), needle)); }
#define EXPECT_MSG(needle) EXPECT(names(needle), "message names %s", needle)

static void hostile_new(void) {
    rg_trainer *t = NULL;
    EXPECT_STATUS(rg_trainer_new(F, K, NULL, NULL), RG_ERR_NULL);
    EXPECT_STATUS(rg_trainer_new(0, K, NULL, &t), RG_ERR_INVALID_ARGUMENT); EXPECT_MSG("features");
    EXPECT_STATUS(rg_trainer_new(-5, K, NULL, &t), RG_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(rg_trainer_new((int64_t)1 << 40, K, NULL, &t), RG_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(rg_trainer_new(F, 1, NULL, &t), RG_ERR_INVALID_ARGUMENT); EXPECT_MSG("classes");
    EXPECT_STATUS(rg_trainer_new(F, INT64_MAX, NULL, &t), RG_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(rg_trainer_new(F, K, "widht=3", &t), RG_ERR_UNKNOWN_PARAMETER); EXPECT_MSG("widht");
    EXPECT_STATUS(rg_trainer_new(F, K, "lr=-1", &t), RG_ERR_PARAMETER); EXPECT_MSG("lr");
    EXPECT_STATUS(rg_trainer_new(F, K, "lr=nan", &t), RG_ERR_PARAMETER);
    EXPECT_STATUS(rg_trainer_new(F, K, "widths", &t), RG_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(rg_trainer_new(F, K, "widths=-3", &t), RG_ERR_PARAMETER);
    EXPECT_STATUS(rg_trainer_new(F, K, "epochs=2;epochs=3", &t), RG_ERR_INVALID_ARGUMENT); EXPECT_MSG("twice");
    EXPECT_STATUS(rg_trainer_new(F, K, "loss=no_such_loss", &t), RG_ERR_UNKNOWN_ID); EXPECT_MSG("no_such_loss");
    EXPECT_STATUS(rg_trainer_new(F, K, "penalty=no_such=1", &t), RG_ERR_UNKNOWN_ID);
    EXPECT_STATUS(rg_trainer_new(F, K, "transform=sam:radius=1", &t), RG_ERR_UNKNOWN_PARAMETER);
    EXPECT_STATUS(rg_trainer_new(F, K, "penalty=l2=1e-3@nothing*", &t), RG_ERR_INVALID_ARGUMENT); EXPECT_MSG("nothing*");
    EXPECT_STATUS(rg_trainer_new(F, K, "transform=pseudo_label_mixup", &t), RG_ERR_UNSUPPORTED);
    EXPECT_STATUS(rg_trainer_new(1 << 16, K, "widths=65536,65536", &t), RG_ERR_INVALID_ARGUMENT); EXPECT_MSG("parameters");
    EXPECT_STATUS(rg_trainer_new(F, K, "widths=1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,"
                                       "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1", &t), RG_ERR_PARAMETER);
    EXPECT_STATUS(rg_trainer_new(F, K, "seed=\xff\xfe;lr=\x01", &t), RG_ERR_PARAMETER);
    EXPECT(t == NULL, "out stays NULL on failure");
}

static void hostile_calls(void) {
    double xs[2 * F] = {0}, before[MAXROWS * K];
    int64_t s2[2] = {2, F}, s63[2] = {2, 63}, s1[1] = {2}, s3[1] = {3}, s0[2] = {0, F}, sneg[2] = {-1, F};
    int64_t ys[2] = {1, 2}, ybad[2] = {1, 10}, yneg[2] = {-1, 0}, yhuge[2] = {INT64_MAX, 0};
    double yfrac[2] = {1, 1.5}, ynan[2] = {1, NAN};
    int32_t xi[2 * F] = {0};
    rg_array x = {xs, RG_FLOAT64, 2, s2, NULL}, y = {ys, RG_INT64, 1, s1, NULL};
    double loss = 0;
    predict_all(T, before);

    EXPECT_STATUS(rg_trainer_step(NULL, &x, &y, &loss), RG_ERR_NULL);
    rg_penalty *p = NULL;
    rg_penalty_new("l1", NULL, &p);
    EXPECT_STATUS(rg_trainer_step((rg_trainer *)p, &x, &y, &loss), RG_ERR_INVALID_HANDLE);
    rg_penalty_free(p);
    EXPECT_STATUS(rg_trainer_step((rg_trainer *)xs, &x, &y, &loss), RG_ERR_INVALID_HANDLE);
    EXPECT_STATUS(rg_trainer_step(T, NULL, &y, &loss), RG_ERR_NULL);
    EXPECT_STATUS(rg_trainer_step(T, &x, NULL, &loss), RG_ERR_NULL);
    rg_array bad = {xs, RG_FLOAT64, 2, s63, NULL};
    EXPECT_STATUS(rg_trainer_step(T, &bad, &y, &loss), RG_ERR_SHAPE); EXPECT_MSG("63");
    bad = (rg_array){xs, RG_FLOAT64, 1, s1, NULL};
    EXPECT_STATUS(rg_trainer_step(T, &bad, &y, &loss), RG_ERR_SHAPE);
    bad = (rg_array){xs, RG_FLOAT64, 2, sneg, NULL};
    EXPECT_STATUS(rg_trainer_step(T, &bad, &y, &loss), RG_ERR_SHAPE);
    bad = (rg_array){xi, RG_INT32, 2, s2, NULL};
    EXPECT_STATUS(rg_trainer_step(T, &bad, &y, &loss), RG_ERR_DTYPE);
    bad = (rg_array){xs, 9, 2, s2, NULL};
    EXPECT_STATUS(rg_trainer_step(T, &bad, &y, &loss), RG_ERR_DTYPE);
    bad = (rg_array){NULL, RG_FLOAT64, 2, s2, NULL};
    EXPECT_STATUS(rg_trainer_step(T, &bad, &y, &loss), RG_ERR_NULL);
    xs[F + 3] = NAN;
    EXPECT_STATUS(rg_trainer_step(T, &x, &y, &loss), RG_ERR_NONFINITE); EXPECT_MSG("67");
    xs[F + 3] = INFINITY;
    EXPECT_STATUS(rg_trainer_evaluate(T, &x, &y, &(rg_metrics){0, 0, 0, 0}), RG_ERR_NONFINITE);
    xs[F + 3] = 0;
    rg_array yb = {ybad, RG_INT64, 1, s1, NULL};
    EXPECT_STATUS(rg_trainer_step(T, &x, &yb, &loss), RG_ERR_INVALID_ARGUMENT); EXPECT_MSG("labels[1]");
    yb.data = yneg;
    EXPECT_STATUS(rg_trainer_step(T, &x, &yb, &loss), RG_ERR_INVALID_ARGUMENT); EXPECT_MSG("labels[0]");
    yb.data = yhuge;
    EXPECT_STATUS(rg_trainer_step(T, &x, &yb, &loss), RG_ERR_INVALID_ARGUMENT);
    yb = (rg_array){yfrac, RG_FLOAT64, 1, s1, NULL};
    EXPECT_STATUS(rg_trainer_step(T, &x, &yb, &loss), RG_ERR_INVALID_ARGUMENT); EXPECT_MSG("labels[1]");
    yb.data = ynan;
    EXPECT_STATUS(rg_trainer_step(T, &x, &yb, &loss), RG_ERR_NONFINITE);
    yb = (rg_array){ys, RG_INT64, 1, s3, NULL};
    EXPECT_STATUS(rg_trainer_step(T, &x, &yb, &loss), RG_ERR_SHAPE);
    rg_array empty = {xs, RG_FLOAT64, 2, s0, NULL};
    int64_t z1[1] = {0};
    rg_array yempty = {ys, RG_INT64, 1, z1, NULL};
    EXPECT_STATUS(rg_trainer_step(T, &empty, &yempty, &loss), RG_ERR_INVALID_ARGUMENT); EXPECT_MSG("empty");
    EXPECT_STATUS(rg_trainer_evaluate(T, &empty, &yempty, &(rg_metrics){0, 0, 0, 0}), RG_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(rg_trainer_evaluate(T, &x, &y, NULL), RG_ERR_NULL);
    /* predict: outputs of the wrong shape or dtype, NULL, misaligned */
    double probs[2 * K];
    float probs32[2 * K];
    int64_t ps[2] = {2, K}, pbad[2] = {2, K + 1};
    rg_array out = {probs, RG_FLOAT64, 2, pbad, NULL};
    EXPECT_STATUS(rg_trainer_predict(T, &x, &out), RG_ERR_SHAPE);
    out = (rg_array){probs32, RG_FLOAT32, 2, ps, NULL};
    EXPECT_STATUS(rg_trainer_predict(T, &x, &out), RG_ERR_DTYPE);
    out = (rg_array){(char *)probs + 1, RG_FLOAT64, 2, ps, NULL};
    EXPECT_STATUS(rg_trainer_predict(T, &x, &out), RG_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(rg_trainer_predict(T, &x, NULL), RG_ERR_NULL);
    int64_t p0[2] = {0, K};
    out = (rg_array){probs, RG_FLOAT64, 2, p0, NULL};
    EXPECT_STATUS(rg_trainer_predict(T, &empty, &out), RG_OK);
    /* a strided (column-major) view predicts what its contiguous copy predicts */
    double cm[2 * F], pc[2 * K], pr[2 * K];
    for (int i = 0; i < 2; i++) for (int j = 0; j < F; j++) { xs[i * F + j] = XTE[i * F + j]; cm[j * 2 + i] = XTE[i * F + j]; }
    int64_t st[2] = {1, 2};
    rg_array xc = {cm, RG_FLOAT64, 2, s2, st};
    rg_array oc = {pc, RG_FLOAT64, 2, ps, NULL}, orow = {pr, RG_FLOAT64, 2, ps, NULL};
    EXPECT_STATUS(rg_trainer_predict(T, &xc, &oc), RG_OK);
    EXPECT_STATUS(rg_trainer_predict(T, &x, &orow), RG_OK);
    EXPECT(memcmp(pc, pr, sizeof pc) == 0, "strided view = contiguous copy");
    /* plan */
    EXPECT_STATUS(rg_trainer_plan(T, 0, 5), RG_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(rg_trainer_plan(T, 5, -1), RG_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(rg_trainer_plan(NULL, 5, 5), RG_ERR_NULL);
    /* nothing above changed the model */
    static double after[MAXROWS * K];
    predict_all(T, after);
    EXPECT(memcmp(before, after, sizeof(double) * NTE * K) == 0, "failed calls leave the parameters");
    /* a non-finite loss is refused before the update: inputs near DBL_MAX overflow the hidden
       sums (128 rows of 64 weights: some row sum exceeds 1.06 in magnitude) */
    for (int i = 0; i < 2 * F; i++) xs[i] = 1.7e308;
    EXPECT_STATUS(rg_trainer_step(T, &x, &y, &loss), RG_ERR_INVALID_ARGUMENT); EXPECT_MSG("non-finite");
    predict_all(T, after);
    EXPECT(memcmp(before, after, sizeof(double) * NTE * K) == 0, "a non-finite loss leaves the parameters");
}

static void hostile_schedule_and_free(void) {
    double xs[F] = {0};
    int64_t s[2] = {1, F}, sy[1] = {1}, ys[1] = {3};
    rg_array x = {xs, RG_FLOAT64, 2, s, NULL}, y = {ys, RG_INT64, 1, sy, NULL};
    rg_trainer *t = NULL;
    EXPECT_STATUS(rg_trainer_new(F, K, "widths=8", &t), RG_OK);
    EXPECT_STATUS(rg_trainer_step(t, &x, &y, NULL), RG_ERR_INVALID_ARGUMENT); EXPECT_MSG("total_steps");
    EXPECT_STATUS(rg_trainer_plan(t, 10, 2), RG_OK);
    EXPECT_STATUS(rg_trainer_step(t, &x, &y, NULL), RG_OK);
    double yf[1] = {3};
    rg_array yfl = {yf, RG_FLOAT64, 1, sy, NULL};
    EXPECT_STATUS(rg_trainer_step(t, &x, &yfl, NULL), RG_OK);  /* float labels holding integers */
    EXPECT_STATUS(rg_trainer_free(t), RG_OK);
    EXPECT_STATUS(rg_trainer_free(t), RG_ERR_INVALID_HANDLE);
    EXPECT_STATUS(rg_trainer_step(t, &x, &y, NULL), RG_ERR_INVALID_HANDLE);
    EXPECT_STATUS(rg_trainer_free(NULL), RG_OK);
    EXPECT_STATUS(rg_trainer_new(F, K, "widths=8;schedule=constant", &t), RG_OK);
    EXPECT_STATUS(rg_trainer_step(t, &x, &y, NULL), RG_OK);  /* a constant schedule needs no plan */
    EXPECT_STATUS(rg_trainer_free(t), RG_OK);
}

/* Different trainers train concurrently: four threads, each with its own trainer, the same spec
   and batches, must end with the predictions of the same run on one thread. */
typedef struct { double probs[40 * K]; rg_status status; } thread_run;

static void *train_small(void *arg) {
    thread_run *r = (thread_run *)arg;
    rg_trainer *t = NULL;
    int64_t sx[2] = {40, F}, sy[1] = {40}, sp[2] = {40, K};
    rg_array x = {X, RG_FLOAT64, 2, sx, NULL}, y = {Y, RG_INT64, 1, sy, NULL}, p = {r->probs, RG_FLOAT64, 2, sp, NULL};
    r->status = rg_trainer_new(F, K, "widths=32;dropout=0.1;transform=mixup:alpha=0.2;total_steps=20;seed=3", &t);
    for (int i = 0; i < 20 && r->status == RG_OK; i++) r->status = rg_trainer_step(t, &x, &y, NULL);
    if (r->status == RG_OK) r->status = rg_trainer_predict(t, &x, &p);
    rg_trainer_free(t);
    return NULL;
}

static void threads(void) {
    static thread_run ref, runs[4];
    train_small(&ref);
    EXPECT_STATUS(ref.status, RG_OK);
    pthread_t th[4];
    for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, train_small, &runs[i]);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) {
        EXPECT_STATUS(runs[i].status, RG_OK);
        EXPECT(memcmp(runs[i].probs, ref.probs, sizeof ref.probs) == 0, "thread %d reproduces the single-thread run", i);
    }
}

int main(int argc, char **argv) {
    digits_run(argc > 1 ? argv[1] : "data/digits.csv");
    if (T) {
        save_and_load();
        hostile_calls();
    }
    hostile_new();
    hostile_schedule_and_free();
    threads();
    EXPECT_STATUS(rg_trainer_free(T), RG_OK);
    printf("trainer_test: %d passed, %d failed\n", passed, failures);
    return failures ? 1 : 0;
}
