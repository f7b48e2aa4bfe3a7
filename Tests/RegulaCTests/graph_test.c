/*
 * C ABI tests of the Graph section (rg_graph_*): a 2-layer MLP with a loss and two penalties
 * built from C, its whole-model gradients against float64 central differences, SAM steps
 * through rg_graph_step, a save/load round trip, and hostile arguments (statuses, no crash).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "regula.h"

#include "expect.h"

enum { N = 24, F = 5, H = 4, K = 3 };

static double X[N][F], Y[N];

static void make_data(void) {
    unsigned s = 7;
    for (int i = 0; i < N; i++) {
        Y[i] = i % K;
        for (int j = 0; j < F; j++) {
            s = s * 1103515245u + 12345u;
            X[i][j] = ((s >> 8) % 2000) / 1000.0 - 1 + (j == (int)Y[i] ? 1.5 : 0);
        }
    }
}

typedef struct { rg_node x, y, w1, b1, h, w2, b2, z, loss, l2, nc; } mlp;

/* x → linear(W1, b1) → tanh → linear(W2, b2) → softmax_cross_entropy(·, y)
 *   + l2 on W2 + neural_collapse_features on the hidden layer with the labels as input. */
static int build(rg_graph *g, mlp *m, int32_t x_flags) {
    int64_t s1[2] = {H, F}, sb1[1] = {H}, s2[2] = {K, H}, sb2[1] = {K};
    rg_node t;
    if (rg_graph_input(g, F, x_flags, &m->x) || rg_graph_input(g, 1, 0, &m->y)) return 1;
    if (rg_graph_parameter(g, "fc1.weight", s1, 2, "kaiming_normal", &m->w1)) return 1;
    if (rg_graph_parameter(g, "fc1.bias", sb1, 1, "normal:std=0.1", &m->b1)) return 1;
    if (rg_graph_parameter(g, "fc2.weight", s2, 2, "xavier_uniform", &m->w2)) return 1;
    if (rg_graph_parameter(g, "fc2.bias", sb2, 1, "uniform:bound=0.1", &m->b2)) return 1;
    if (rg_graph_linear(g, m->x, m->w1, m->b1, &t) || rg_graph_activation(g, t, "tanh", &m->h)) return 1;
    if (rg_graph_linear(g, m->h, m->w2, m->b2, &m->z)) return 1;
    rg_node ce_in[2] = {m->z, m->y}, nc_in[2] = {m->h, m->y};
    const char *nc_names[1] = {"labels"};
    if (rg_graph_op(g, "softmax_cross_entropy", ce_in, 2, NULL, &m->loss)) return 1;
    if (rg_graph_op(g, "l2:strength=0.05", &m->w2, 1, NULL, &m->l2)) return 1;
    if (rg_graph_op(g, "neural_collapse_features:alpha=0.5,beta=0.1", nc_in, 2, nc_names, &m->nc)) return 1;
    return rg_graph_minimize(g, m->loss) || rg_graph_minimize(g, m->l2) || rg_graph_minimize(g, m->nc);
}

static int feed(rg_graph *g, const mlp *m, int rows) {
    int64_t xs[2] = {rows, F}, ys[1] = {rows};
    rg_array ax = {X, RG_FLOAT64, 2, xs, NULL}, ay = {Y, RG_FLOAT64, 1, ys, NULL};
    return rg_graph_feed(g, m->x, &ax) || rg_graph_feed(g, m->y, &ay);
}

static double objective(rg_graph *g) {
    double v = NAN;
    if (rg_graph_forward(g, 0, &v) != RG_OK) return NAN;
    return v;
}

/* Largest |analytic − central difference| / max(1, |analytic|) over every parameter entry. */
static double gradcheck(rg_graph *g) {
    int64_t n = 0;
    rg_graph_parameter_count(g, &n);
    double worst = 0, h = 1e-6;
    for (int64_t p = 0; p < n; p++) {
        rg_node node;
        int64_t shape[RG_MAX_RANK];
        int32_t rank;
        rg_graph_parameter_at(g, p, NULL, &node);
        rg_graph_node_shape(g, node, shape, &rank);
        int64_t count = 1;
        for (int k = 0; k < rank; k++) count *= shape[k];
        double w[64], grad[64];
        rg_array W = {w, RG_FLOAT64, rank, shape, NULL}, G = {grad, RG_FLOAT64, rank, shape, NULL};
        objective(g);
        if (rg_graph_backward(g) || rg_graph_value(g, node, &W) || rg_graph_gradient(g, node, &G)) return INFINITY;
        for (int64_t i = 0; i < count; i++) {
            double keep = w[i];
            w[i] = keep + h; rg_graph_set_value(g, node, &W);
            double fp = objective(g);
            w[i] = keep - h; rg_graph_set_value(g, node, &W);
            double fm = objective(g);
            w[i] = keep; rg_graph_set_value(g, node, &W);
            double err = fabs((fp - fm) / (2 * h) - grad[i]) / fmax(1, fabs(grad[i]));
            if (!(err <= worst)) worst = err;  /* NaN-propagating max */
        }
    }
    return worst;
}

static void test_gradients(void) {
    rg_graph *g = NULL;
    mlp m;
    EXPECT_STATUS(rg_graph_new(3, &g), RG_OK);
    EXPECT(build(g, &m, RG_GRAPH_INPUT_GRAD) == 0, "build the MLP");
    EXPECT(feed(g, &m, N) == 0, "feed");
    double err = gradcheck(g);
    EXPECT(err < 1e-6, "parameter gradients vs central differences: worst %.3g", err);

    /* the input gradient (x built with RG_GRAPH_INPUT_GRAD), by re-feeding perturbed inputs */
    static double gx[N][F];
    int64_t xs[2] = {N, F};
    rg_array GX = {gx, RG_FLOAT64, 2, xs, NULL}, AX = {X, RG_FLOAT64, 2, xs, NULL};
    objective(g);
    EXPECT_STATUS(rg_graph_backward(g), RG_OK);
    EXPECT_STATUS(rg_graph_gradient(g, m.x, &GX), RG_OK);
    double worst = 0, h = 1e-6;
    for (int i = 0; i < N; i += 5) {
        for (int j = 0; j < F; j++) {
            double keep = X[i][j];
            X[i][j] = keep + h; rg_graph_feed(g, m.x, &AX);
            double fp = objective(g);
            X[i][j] = keep - h; rg_graph_feed(g, m.x, &AX);
            double fm = objective(g);
            X[i][j] = keep; rg_graph_feed(g, m.x, &AX);
            double e = fabs((fp - fm) / (2 * h) - gx[i][j]) / fmax(1, fabs(gx[i][j]));
            if (!(e <= worst)) worst = e;
        }
    }
    EXPECT(worst < 1e-6, "input gradient vs central differences: worst %.3g", worst);

    /* a smaller last batch needs no rebuild; shapes follow the feed */
    EXPECT(feed(g, &m, 7) == 0, "feed 7 rows");
    double v7 = objective(g);
    EXPECT(isfinite(v7), "forward on 7 rows (%g)", v7);
    int64_t shape[RG_MAX_RANK];
    int32_t rank = -1;
    EXPECT_STATUS(rg_graph_node_shape(g, m.z, shape, &rank), RG_OK);
    EXPECT(rank == 2 && shape[0] == 7 && shape[1] == K, "logits shape (%lld, %lld)", (long long)shape[0], (long long)shape[1]);
    EXPECT_STATUS(rg_graph_node_shape(g, m.loss, shape, &rank), RG_OK);
    EXPECT(rank == 0, "a loss is a scalar (rank %d)", rank);
    float z32[7][K];
    int64_t zs[2] = {7, K};
    rg_array Z32 = {z32, RG_FLOAT32, 2, zs, NULL};
    EXPECT_STATUS(rg_graph_value(g, m.z, &Z32), RG_OK);
    EXPECT(isfinite(z32[6][2]), "float32 copy of the logits");

    /* integer labels give the same objective as float labels */
    int64_t yi[N], ys[1] = {7};
    for (int i = 0; i < N; i++) yi[i] = (int64_t)Y[i];
    rg_array YI = {yi, RG_INT64, 1, ys, NULL};
    EXPECT_STATUS(rg_graph_feed(g, m.y, &YI), RG_OK);
    EXPECT(objective(g) == v7, "int64 labels");
    EXPECT_STATUS(rg_graph_free(g), RG_OK);
}

static void test_sam_and_files(void) {
    rg_graph *g = NULL, *g2 = NULL;
    mlp m, m2;
    rg_optimizer *opt = NULL;
    EXPECT_STATUS(rg_graph_new(11, &g), RG_OK);
    EXPECT(build(g, &m, 0) == 0 && feed(g, &m, N) == 0, "build and feed");
    EXPECT_STATUS(rg_optimizer_new("adam", "lr=0.05", "sam:rho=0.05;clip_global_norm:max_norm=5", &opt), RG_OK);
    double first = 0, loss = 0;
    for (int step = 0; step < 40; step++) {
        EXPECT_STATUS(rg_graph_step(g, opt, &loss), RG_OK);
        if (step == 0) first = loss;
    }
    double after = objective(g);
    EXPECT(after < 0.5 * first, "SAM training lowers the objective: %g -> %g", first, after);

    /* save, build the same model with another seed, load: identical parameters and objective */
    char path[64];
    snprintf(path, sizeof path, "/tmp/regula-graph-test-%d.bin", (int)getpid());
    EXPECT_STATUS(rg_graph_save(g, path), RG_OK);
    EXPECT_STATUS(rg_graph_new(99, &g2), RG_OK);
    EXPECT(build(g2, &m2, 0) == 0 && feed(g2, &m2, N) == 0, "second model");
    EXPECT(objective(g2) != after, "another seed, another objective");
    EXPECT_STATUS(rg_graph_load(g2, path), RG_OK);
    EXPECT(objective(g2) == after, "loaded parameters give the same objective");
    const char *name = NULL;
    rg_node node = -1;
    EXPECT_STATUS(rg_graph_parameter_at(g2, 2, &name, &node), RG_OK);
    EXPECT(name && strcmp(name, "fc2.weight") == 0 && node == m2.w2, "parameter 2 is fc2.weight (%s)", name ? name : "NULL");

    /* binding: the optimizer belongs to g now */
    EXPECT_STATUS(rg_graph_step(g2, opt, NULL), RG_ERR_INVALID_ARGUMENT);
    double w[2] = {1, 2}, gr[2] = {0, 0};
    int64_t s2[1] = {2};
    rg_array W = {w, RG_FLOAT64, 1, s2, NULL}, G = {gr, RG_FLOAT64, 1, s2, NULL};
    EXPECT_STATUS(rg_optimizer_step(opt, &W, &G, 1, NULL, NULL, NULL), RG_ERR_INVALID_ARGUMENT);
    rg_optimizer *arrays = NULL;
    EXPECT_STATUS(rg_optimizer_new("sgd", "lr=0.1", NULL, &arrays), RG_OK);
    EXPECT_STATUS(rg_optimizer_step(arrays, &W, &G, 1, NULL, NULL, NULL), RG_OK);
    EXPECT_STATUS(rg_graph_step(g2, arrays, NULL), RG_ERR_INVALID_ARGUMENT);
    /* parameters added after binding, then the bound graph freed */
    int64_t s1[1] = {1};
    rg_node extra;
    EXPECT_STATUS(rg_graph_parameter(g, "late", s1, 1, "zeros", &extra), RG_OK);
    EXPECT_STATUS(rg_graph_step(g, opt, NULL), RG_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(rg_graph_free(g), RG_OK);
    EXPECT_STATUS(rg_graph_step(g2, opt, NULL), RG_ERR_INVALID_ARGUMENT);

    /* a diverging step fails as RG_ERR_NONFINITE and leaves the parameters as they were */
    rg_optimizer *wild = NULL;
    EXPECT_STATUS(rg_optimizer_new("sgd", "lr=1e300,momentum=0", NULL, &wild), RG_OK);
    rg_status first_step = rg_graph_step(g2, wild, NULL);
    double ws[K * H], ws2[K * H];
    int64_t sw[2] = {K, H};
    rg_array WS = {ws, RG_FLOAT64, 2, sw, NULL}, WS2 = {ws2, RG_FLOAT64, 2, sw, NULL};
    rg_graph_value(g2, m2.w2, &WS);
    EXPECT(first_step == RG_OK, "first wild step (%d)", first_step);
    EXPECT_STATUS(rg_graph_step(g2, wild, NULL), RG_ERR_NONFINITE);
    rg_graph_value(g2, m2.w2, &WS2);
    EXPECT(memcmp(ws, ws2, sizeof ws) == 0, "parameters restored after a non-finite step");

    /* files: a foreign model's file, a missing file, an unwritable path */
    rg_graph *other = NULL;
    rg_node p;
    EXPECT_STATUS(rg_graph_new(0, &other), RG_OK);
    EXPECT_STATUS(rg_graph_parameter(other, "fc1.weight", s1, 1, "zeros", &p), RG_OK);
    EXPECT_STATUS(rg_graph_load(other, path), RG_ERR_SHAPE);
    EXPECT_STATUS(rg_graph_parameter(other, "something", s1, 1, "zeros", &p), RG_OK);
    EXPECT_STATUS(rg_graph_load(other, "/nonexistent/params.bin"), RG_ERR_IO);
    EXPECT_STATUS(rg_graph_save(other, "/nonexistent/dir/params.bin"), RG_ERR_IO);
    EXPECT_STATUS(rg_graph_load(other, NULL), RG_ERR_NULL);
    unlink(path);
    rg_graph_free(other);
    rg_graph_free(g2);
    rg_optimizer_free(opt);
    rg_optimizer_free(arrays);
    rg_optimizer_free(wild);
}

static void test_hostile(void) {
    rg_graph *g = NULL;
    rg_node x, y, w, b, out = 7, s;
    int64_t shape[2] = {3, 4}, bias[1] = {3};
    EXPECT_STATUS(rg_graph_new(0, NULL), RG_ERR_NULL);
    EXPECT_STATUS(rg_graph_input(NULL, 4, 0, &x), RG_ERR_NULL);
    EXPECT_STATUS(rg_graph_free(NULL), RG_OK);
    EXPECT_STATUS(rg_graph_new(0, &g), RG_OK);
    EXPECT_STATUS(rg_graph_forward(g, 1, NULL), RG_OK);                      /* empty graph: nothing to do */
    EXPECT_STATUS(rg_graph_input(g, 0, 0, &x), RG_ERR_SHAPE);
    EXPECT_STATUS(rg_graph_input(g, -3, 0, &x), RG_ERR_SHAPE);
    EXPECT_STATUS(rg_graph_input(g, 4, 6, &x), RG_ERR_INVALID_ARGUMENT);     /* unknown flags */
    EXPECT_STATUS(rg_graph_input(g, 4, 0, NULL), RG_ERR_NULL);
    EXPECT_STATUS(rg_graph_input(g, 4, 0, &x), RG_OK);
    EXPECT_STATUS(rg_graph_input(g, 1, 0, &y), RG_OK);
    EXPECT_STATUS(rg_graph_parameter(g, NULL, shape, 2, "zeros", &w), RG_ERR_NULL);
    EXPECT_STATUS(rg_graph_parameter(g, "w", NULL, 2, "zeros", &w), RG_ERR_NULL);
    EXPECT_STATUS(rg_graph_parameter(g, "w", shape, 2, NULL, &w), RG_ERR_NULL);
    EXPECT_STATUS(rg_graph_parameter(g, "w", shape, 9, "zeros", &w), RG_ERR_SHAPE);
    EXPECT_STATUS(rg_graph_parameter(g, "w", shape, -1, "zeros", &w), RG_ERR_SHAPE);
    int64_t negative[2] = {3, -4}, zero[2] = {3, 0}, huge[2] = {INT64_C(1) << 40, INT64_C(1) << 40};
    EXPECT_STATUS(rg_graph_parameter(g, "w", negative, 2, "zeros", &w), RG_ERR_SHAPE);
    EXPECT_STATUS(rg_graph_parameter(g, "w", zero, 2, "zeros", &w), RG_ERR_SHAPE);
    EXPECT_STATUS(rg_graph_parameter(g, "w", huge, 2, "zeros", &w), RG_ERR_SHAPE);
    EXPECT_STATUS(rg_graph_parameter(g, "w", shape, 2, "gaussian", &w), RG_ERR_PARAMETER);
    EXPECT_STATUS(rg_graph_parameter(g, "w", shape, 2, "normal:mean=1", &w), RG_ERR_UNKNOWN_PARAMETER);
    EXPECT_STATUS(rg_graph_parameter(g, "w", shape, 2, "normal:std=-1", &w), RG_ERR_PARAMETER);
    EXPECT_STATUS(rg_graph_parameter(g, "w", shape, 2, "normal:std", &w), RG_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(rg_graph_parameter(g, "", shape, 2, "zeros", &w), RG_ERR_INVALID_ARGUMENT);
    EXPECT(w == -1, "out is -1 after a failed build (%lld)", (long long)w);
    EXPECT_STATUS(rg_graph_parameter(g, "w", shape, 2, "constant:value=0.5", &w), RG_OK);
    EXPECT_STATUS(rg_graph_parameter(g, "w", bias, 1, "zeros", &b), RG_ERR_INVALID_ARGUMENT);  /* duplicate */
    EXPECT_STATUS(rg_graph_parameter(g, "b", bias, 1, "zeros", &b), RG_OK);
    EXPECT_STATUS(rg_graph_linear(g, x, w, 99, &out), RG_ERR_INVALID_ARGUMENT);   /* node out of range */
    EXPECT_STATUS(rg_graph_linear(g, -5, w, b, &out), RG_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(rg_graph_linear(g, y, w, b, &out), RG_ERR_SHAPE);              /* 1 feature vs W (3, 4) */
    EXPECT_STATUS(rg_graph_linear(g, x, w, w, &out), RG_ERR_SHAPE);              /* bias of 12 values */
    EXPECT_STATUS(rg_graph_linear(g, x, w, b, NULL), RG_ERR_NULL);
    EXPECT_STATUS(rg_graph_embedding(g, x, w, &out), RG_ERR_SHAPE);              /* ids must be (rows, 1) */
    EXPECT_STATUS(rg_graph_linear(g, x, w, b, &out), RG_OK);
    rg_node z = out;
    EXPECT_STATUS(rg_graph_activation(g, z, "nope", &out), RG_ERR_UNKNOWN_ID);
    EXPECT_STATUS(rg_graph_activation(g, z, "relu:alpha=1", &out), RG_ERR_UNKNOWN_PARAMETER);
    EXPECT_STATUS(rg_graph_activation(g, z, "l1", &out), RG_ERR_INVALID_ARGUMENT);  /* a penalty */
    EXPECT_STATUS(rg_graph_activation(g, z, NULL, &out), RG_ERR_NULL);
    EXPECT_STATUS(rg_graph_activation(g, z, "sparsemax", &out), RG_OK);
    EXPECT_STATUS(rg_graph_noise(g, z, "dropout:p=1", &out), RG_ERR_PARAMETER);
    EXPECT_STATUS(rg_graph_noise(g, z, "blur", &out), RG_ERR_PARAMETER);
    EXPECT_STATUS(rg_graph_noise(g, z, "quant_noise:bits=1", &out), RG_ERR_PARAMETER);
    EXPECT_STATUS(rg_graph_noise(g, z, "gaussian_noise:sigma=0.1,p=2", &out), RG_ERR_UNKNOWN_PARAMETER);
    EXPECT_STATUS(rg_graph_layer_norm(g, z, b, b, 0, &out), RG_ERR_PARAMETER);
    EXPECT_STATUS(rg_graph_layer_norm(g, z, b, b, NAN, &out), RG_ERR_PARAMETER);
    EXPECT_STATUS(rg_graph_layer_norm(g, z, w, b, 1e-5, &out), RG_ERR_SHAPE);
    EXPECT_STATUS(rg_graph_add(g, z, x, &out), RG_ERR_SHAPE);
    rg_node pair[2] = {z, y}, bad_pair[2] = {z, 1000};
    const char *names[1] = {"colors"}, *null_name[1] = {NULL};
    EXPECT_STATUS(rg_graph_op(g, "nope", pair, 2, NULL, &out), RG_ERR_UNKNOWN_ID);
    EXPECT_STATUS(rg_graph_op(g, NULL, pair, 2, NULL, &out), RG_ERR_NULL);
    EXPECT_STATUS(rg_graph_op(g, "softmax_cross_entropy", pair, 1, NULL, &out), RG_ERR_SHAPE);
    EXPECT_STATUS(rg_graph_op(g, "softmax_cross_entropy", bad_pair, 2, NULL, &out), RG_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(rg_graph_op(g, "softmax_cross_entropy:reduction=none", pair, 2, NULL, &out), RG_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(rg_graph_op(g, "softmax_cross_entropy:smoothing=1", pair, 2, NULL, &out), RG_ERR_UNKNOWN_PARAMETER);
    EXPECT_STATUS(rg_graph_op(g, "softmax_cross_entropy", NULL, 2, NULL, &out), RG_ERR_NULL);
    EXPECT_STATUS(rg_graph_op(g, "softmax_cross_entropy", pair, -1, NULL, &out), RG_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(rg_graph_op(g, "neural_collapse_features", pair, 2, names, &out), RG_ERR_UNKNOWN_PARAMETER);
    EXPECT_STATUS(rg_graph_op(g, "neural_collapse_features", pair, 2, null_name, &out), RG_ERR_NULL);
    EXPECT_STATUS(rg_graph_op(g, "neural_collapse_features", &z, 1, NULL, &out), RG_ERR_INVALID_ARGUMENT);  /* labels missing */
    EXPECT_STATUS(rg_graph_op(g, "softmax_cross_entropy", pair, 2, names, &out), RG_ERR_INVALID_ARGUMENT);   /* names: penalties only */
    EXPECT_STATUS(rg_graph_op(g, "sam", &z, 1, NULL, &out), RG_ERR_UNSUPPORTED);
    EXPECT_STATUS(rg_graph_op(g, "l1:strength=-1", &w, 1, NULL, &out), RG_ERR_PARAMETER);
    EXPECT_STATUS(rg_graph_minimize(g, z), RG_ERR_SHAPE);                       /* not a scalar */
    EXPECT_STATUS(rg_graph_minimize(g, 12345), RG_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(rg_graph_backward(g), RG_ERR_INVALID_ARGUMENT);               /* no objective yet */
    EXPECT_STATUS(rg_graph_op(g, "softmax_cross_entropy", pair, 2, NULL, &s), RG_OK);
    EXPECT_STATUS(rg_graph_minimize(g, s), RG_OK);
    EXPECT_STATUS(rg_graph_minimize(g, s), RG_ERR_INVALID_ARGUMENT);            /* already in the objective */

    /* running */
    EXPECT_STATUS(rg_graph_forward(g, 1, NULL), RG_ERR_INVALID_ARGUMENT);       /* forward before feed */
    EXPECT_STATUS(rg_graph_backward(g), RG_ERR_INVALID_ARGUMENT);               /* backward before forward */
    double xv[4][4] = {{1, 2, 3, 4}, {0, 1, 0, 1}, {2, 2, 2, 2}, {1, 0, 0, 0}}, yv[4] = {0, 1, 2, 1};
    int64_t xs[2] = {4, 4}, x3[2] = {4, 3}, ys[1] = {4}, y3[1] = {3}, r3[3] = {2, 2, 4}, tr[2] = {1, 4};
    rg_array X4 = {xv, RG_FLOAT64, 2, xs, NULL}, Y4 = {yv, RG_FLOAT64, 1, ys, NULL}, Y3 = {yv, RG_FLOAT64, 1, y3, NULL};
    rg_array Xc = {xv, RG_FLOAT64, 2, x3, NULL}, Xr = {xv, RG_FLOAT64, 3, r3, NULL}, Xd = {xv, 9, 2, xs, NULL};
    rg_array XT = {xv, RG_FLOAT64, 2, xs, tr};                                   /* the transpose, strided */
    EXPECT_STATUS(rg_graph_feed(g, w, &X4), RG_ERR_INVALID_ARGUMENT);           /* not an input */
    EXPECT_STATUS(rg_graph_feed(g, x, NULL), RG_ERR_NULL);
    EXPECT_STATUS(rg_graph_feed(g, x, &Xc), RG_ERR_SHAPE);
    EXPECT_STATUS(rg_graph_feed(g, x, &Xr), RG_ERR_SHAPE);
    EXPECT_STATUS(rg_graph_feed(g, x, &Xd), RG_ERR_DTYPE);
    xv[2][1] = NAN;
    EXPECT_STATUS(rg_graph_feed(g, x, &X4), RG_ERR_NONFINITE);
    EXPECT(strstr(rg_last_error(), "index 9") != NULL, "the NaN's flat index is named: %s", rg_last_error());
    xv[2][1] = 2;
    EXPECT_STATUS(rg_graph_feed(g, x, &XT), RG_OK);
    EXPECT_STATUS(rg_graph_feed(g, y, &Y3), RG_ERR_SHAPE);                      /* 3 rows after 4 */
    EXPECT_STATUS(rg_graph_feed(g, y, &Y4), RG_OK);
    EXPECT_STATUS(rg_graph_gradient(g, x, NULL), RG_ERR_INVALID_ARGUMENT);      /* built without the flag */
    EXPECT_STATUS(rg_graph_value(g, z, NULL), RG_ERR_INVALID_ARGUMENT);         /* no forward yet */
    double v = 0;
    EXPECT_STATUS(rg_graph_forward(g, 1, &v), RG_OK);
    EXPECT(isfinite(v), "objective %g", v);
    EXPECT_STATUS(rg_graph_gradient(g, w, NULL), RG_ERR_INVALID_ARGUMENT);      /* no backward yet */
    EXPECT_STATUS(rg_graph_backward(g), RG_OK);
    double zv[4][3], wv[3][4];
    int32_t iv[12];
    int64_t zs[2] = {4, 3}, zbad[2] = {3, 4};
    rg_array Z = {zv, RG_FLOAT64, 2, zs, NULL}, Zbad = {zv, RG_FLOAT64, 2, zbad, NULL}, Zint = {iv, RG_INT32, 2, zs, NULL};
    rg_array WV = {wv, RG_FLOAT64, 2, shape, NULL};
    EXPECT_STATUS(rg_graph_value(g, z, &Z), RG_OK);
    EXPECT_STATUS(rg_graph_value(g, z, &Zbad), RG_ERR_SHAPE);
    EXPECT_STATUS(rg_graph_value(g, z, &Zint), RG_ERR_DTYPE);
    EXPECT_STATUS(rg_graph_gradient(g, w, &WV), RG_OK);
    EXPECT_STATUS(rg_graph_gradient(g, 4000, &WV), RG_ERR_INVALID_ARGUMENT);
    int64_t ns[RG_MAX_RANK];
    int32_t rank;
    EXPECT_STATUS(rg_graph_node_shape(g, z, NULL, &rank), RG_ERR_NULL);
    EXPECT_STATUS(rg_graph_node_shape(g, z, ns, NULL), RG_ERR_NULL);
    EXPECT_STATUS(rg_graph_parameter_at(g, 2, NULL, &out), RG_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(rg_graph_parameter_at(g, -1, NULL, &out), RG_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(rg_graph_parameter_at(g, 0, NULL, NULL), RG_ERR_NULL);
    EXPECT_STATUS(rg_graph_parameter_count(g, NULL), RG_ERR_NULL);
    EXPECT_STATUS(rg_graph_set_value(g, z, &WV), RG_ERR_INVALID_ARGUMENT);      /* not a parameter */
    EXPECT_STATUS(rg_graph_set_value(g, w, &Z), RG_ERR_SHAPE);
    wv[1][1] = INFINITY;
    EXPECT_STATUS(rg_graph_set_value(g, w, &WV), RG_ERR_NONFINITE);
    /* an input left with an earlier batch's rows */
    int64_t x3s[2] = {3, 4};
    rg_array X3 = {xv, RG_FLOAT64, 2, x3s, NULL};
    EXPECT_STATUS(rg_graph_feed(g, x, &X3), RG_OK);
    EXPECT_STATUS(rg_graph_forward(g, 0, NULL), RG_ERR_INVALID_ARGUMENT);
    EXPECT(strstr(rg_last_error(), "input 1 holds 4 rows") != NULL, "names the stale input: %s", rg_last_error());
    EXPECT_STATUS(rg_graph_feed(g, x, &X4), RG_OK);
    /* an embedding id out of range fails the forward run */
    rg_node ids = -1, table, e;
    int64_t ts[2] = {3, 2};
    EXPECT_STATUS(rg_graph_parameter(g, "table", ts, 2, "normal", &table), RG_OK);
    EXPECT_STATUS(rg_graph_embedding(g, y, table, &e), RG_OK);
    yv[3] = 3;
    EXPECT_STATUS(rg_graph_feed(g, y, &Y4), RG_OK);
    EXPECT_STATUS(rg_graph_forward(g, 0, NULL), RG_ERR_INVALID_ARGUMENT);        /* the loss sees label 3 of 3 classes first */
    /* handles */
    rg_optimizer *opt = NULL;
    EXPECT_STATUS(rg_optimizer_new("sgd", NULL, NULL, &opt), RG_OK);
    EXPECT_STATUS(rg_graph_step(g, NULL, NULL), RG_ERR_NULL);
    EXPECT_STATUS(rg_graph_step((rg_graph *)opt, opt, NULL), RG_ERR_INVALID_HANDLE);
    EXPECT_STATUS(rg_graph_step(g, (rg_optimizer *)g, NULL), RG_ERR_INVALID_HANDLE);
    EXPECT_STATUS(rg_graph_free(g), RG_OK);
    EXPECT_STATUS(rg_graph_free(g), RG_ERR_INVALID_HANDLE);
    EXPECT_STATUS(rg_graph_input(g, 4, 0, &x), RG_ERR_INVALID_HANDLE);
    EXPECT_STATUS(rg_graph_forward(g, 0, NULL), RG_ERR_INVALID_HANDLE);
    rg_optimizer_free(opt);

    /* an embedding id out of range, alone */
    rg_graph *e2 = NULL;
    EXPECT_STATUS(rg_graph_new(0, &e2), RG_OK);
    EXPECT_STATUS(rg_graph_input(e2, 1, 0, &ids), RG_OK);
    EXPECT_STATUS(rg_graph_parameter(e2, "table", ts, 2, "normal", &table), RG_OK);
    EXPECT_STATUS(rg_graph_embedding(e2, ids, table, &e), RG_OK);
    int32_t idv[2] = {1, 3};
    int64_t is[1] = {2};
    rg_array IDS = {idv, RG_INT32, 1, is, NULL};
    EXPECT_STATUS(rg_graph_feed(e2, ids, &IDS), RG_OK);
    EXPECT_STATUS(rg_graph_forward(e2, 0, NULL), RG_ERR_PARAMETER);
    idv[1] = 2;
    EXPECT_STATUS(rg_graph_feed(e2, ids, &IDS), RG_OK);
    EXPECT_STATUS(rg_graph_forward(e2, 0, NULL), RG_OK);
    rg_graph_free(e2);
}

int main(void) {
    make_data();
    test_gradients();
    test_sam_and_files();
    test_hostile();
    printf("graph_test: %d passed, %d failed\n", passed, failures);
    return failures ? 1 : 0;
}
