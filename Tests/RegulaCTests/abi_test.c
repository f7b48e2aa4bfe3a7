/*
 * C ABI contract tests: compiled with -std=c99 -Wall -Werror against include/ only, run by
 * `make test`. Every bad input must come back as a status with a message, never a crash.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "regula.h"
#include "regula_plugin.h"

#include "expect.h"

static int close_to(double a, double b) { return fabs(a - b) <= 1e-6 * (1 + fabs(b)); }

int main(int argc, char **argv) {
    const char *plugin = argc > 1 ? argv[1] : NULL;
    double w[6] = {1, -2, 0.5, 0, 3, -1}, g[6], out[6], value = 0;
    float wf[6] = {1, -2, 0.5f, 0, 3, -1}, gf[6];
    int64_t shape[2] = {2, 3}, wrong[2] = {3, 2}, neg[2] = {-1, 3}, huge[2] = {INT64_MAX / 2, 4};
    rg_array W = {w, RG_FLOAT64, 2, shape, NULL}, G = {g, RG_FLOAT64, 2, shape, NULL};
    rg_array O = {out, RG_FLOAT64, 2, shape, NULL};
    rg_array WF = {wf, RG_FLOAT32, 2, shape, NULL}, GF = {gf, RG_FLOAT32, 2, shape, NULL};

    /* versions and registry */
    EXPECT(rg_abi_version() == REGULA_ABI_VERSION, "abi version");
    EXPECT(strlen(rg_version()) > 0, "version");
    int64_t n = 0;
    EXPECT_STATUS(rg_component_count(&n), RG_OK);
    EXPECT(n >= 8, "at least the first components (%lld)", (long long)n);
    EXPECT_STATUS(rg_component_count(NULL), RG_ERR_NULL);
    const char *id = NULL;
    EXPECT_STATUS(rg_component_id(0, &id), RG_OK);
    EXPECT(id && strlen(id) > 0, "first id");
    EXPECT_STATUS(rg_component_id(n, &id), RG_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(rg_component_id(-1, &id), RG_ERR_INVALID_ARGUMENT);
    const char *json = NULL;
    EXPECT_STATUS(rg_describe("l1", &json), RG_OK);
    EXPECT(json && strstr(json, "\"has_prox\":true"), "describe l1");
    EXPECT_STATUS(rg_describe("nope", &json), RG_ERR_UNKNOWN_ID);
    EXPECT_STATUS(rg_describe(NULL, &json), RG_ERR_NULL);

    /* creation errors */
    rg_penalty *p = NULL;
    EXPECT_STATUS(rg_penalty_new("nope", NULL, &p), RG_ERR_UNKNOWN_ID);
    EXPECT(p == NULL, "out stays NULL on failure");
    EXPECT_STATUS(rg_penalty_new("l1", "q=1", &p), RG_ERR_UNKNOWN_PARAMETER);
    EXPECT_STATUS(rg_penalty_new("l1", "strength=-1", &p), RG_ERR_PARAMETER);
    EXPECT_STATUS(rg_penalty_new("l1", "strength=nan", &p), RG_ERR_PARAMETER);
    EXPECT_STATUS(rg_penalty_new("l1", "strength", &p), RG_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(rg_penalty_new("l1", "strength=1,strength=2", &p), RG_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(rg_penalty_new("softmax_cross_entropy", NULL, &p), RG_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(rg_penalty_new(NULL, NULL, &p), RG_ERR_NULL);
    EXPECT_STATUS(rg_penalty_new("l1", NULL, NULL), RG_ERR_NULL);

    /* evaluation */
    EXPECT_STATUS(rg_penalty_new("l1", "strength=2", &p), RG_OK);
    EXPECT_STATUS(rg_penalty_eval(p, &W, NULL, 0, &value, &G), RG_OK);
    EXPECT(close_to(value, 15.0) && g[1] == -2 && g[3] == 0, "l1 value %g", value);
    EXPECT_STATUS(rg_penalty_eval(p, &W, NULL, 0, &value, NULL), RG_OK);
    EXPECT_STATUS(rg_penalty_eval(p, &WF, NULL, 0, &value, &GF), RG_OK);
    EXPECT(close_to(value, 15.0) && gf[0] == 2.0f, "float32 l1");
    EXPECT_STATUS(rg_penalty_eval(p, &WF, NULL, 0, &value, &G), RG_ERR_DTYPE);
    EXPECT_STATUS(rg_penalty_eval(p, NULL, NULL, 0, &value, &G), RG_ERR_NULL);
    EXPECT_STATUS(rg_penalty_eval(p, &W, NULL, 0, NULL, &G), RG_ERR_NULL);
    EXPECT_STATUS(rg_penalty_eval(NULL, &W, NULL, 0, &value, &G), RG_ERR_NULL);
    rg_array Gw = {g, RG_FLOAT64, 2, wrong, NULL};
    EXPECT_STATUS(rg_penalty_eval(p, &W, NULL, 0, &value, &Gw), RG_ERR_SHAPE);
    rg_array Wneg = {w, RG_FLOAT64, 2, neg, NULL};
    EXPECT_STATUS(rg_penalty_eval(p, &Wneg, NULL, 0, &value, NULL), RG_ERR_SHAPE);
    rg_array Whuge = {w, RG_FLOAT64, 2, huge, NULL};
    EXPECT_STATUS(rg_penalty_eval(p, &Whuge, NULL, 0, &value, NULL), RG_ERR_SHAPE);
    rg_array Wrank = {w, RG_FLOAT64, 9, shape, NULL};
    EXPECT_STATUS(rg_penalty_eval(p, &Wrank, NULL, 0, &value, NULL), RG_ERR_SHAPE);
    rg_array Wdtype = {w, 7, 2, shape, NULL};
    EXPECT_STATUS(rg_penalty_eval(p, &Wdtype, NULL, 0, &value, NULL), RG_ERR_DTYPE);
    rg_array Wint = {w, RG_INT64, 2, shape, NULL};
    EXPECT_STATUS(rg_penalty_eval(p, &Wint, NULL, 0, &value, NULL), RG_ERR_DTYPE);
    rg_array Wnull = {NULL, RG_FLOAT64, 2, shape, NULL};
    EXPECT_STATUS(rg_penalty_eval(p, &Wnull, NULL, 0, &value, NULL), RG_ERR_NULL);
    double nanw[6] = {1, 2, NAN, 0, 0, 0};
    rg_array Wnan = {nanw, RG_FLOAT64, 2, shape, NULL};
    EXPECT_STATUS(rg_penalty_eval(p, &Wnan, NULL, 0, &value, NULL), RG_ERR_NONFINITE);
    EXPECT(strstr(rg_last_error(), "index 2") != NULL, "NaN index named");
    /* strided (every other element) and negative strides equal a contiguous copy */
    double wide[12] = {1, 9, -2, 9, 0.5, 9, 0, 9, 3, 9, -1, 9};
    int64_t st[2] = {6, 2};
    rg_array Ws = {wide, RG_FLOAT64, 2, shape, st};
    EXPECT_STATUS(rg_penalty_eval(p, &Ws, NULL, 0, &value, &G), RG_OK);
    EXPECT(close_to(value, 15.0) && g[1] == -2, "strided input");
    int64_t back[2] = {-3, -1};
    rg_array Wb = {w + 5, RG_FLOAT64, 2, shape, back};
    EXPECT_STATUS(rg_penalty_eval(p, &Wb, NULL, 0, &value, &G), RG_OK);
    EXPECT(close_to(value, 15.0) && g[0] == -2 && g[5] == 2, "negative strides");
    rg_named_array extra = {"labels", {w, RG_FLOAT64, 2, shape, NULL}};
    EXPECT_STATUS(rg_penalty_eval(p, &W, &extra, 1, &value, NULL), RG_ERR_UNKNOWN_PARAMETER);
    EXPECT_STATUS(rg_penalty_eval(p, &W, NULL, 1, &value, NULL), RG_ERR_NULL);
    EXPECT_STATUS(rg_penalty_eval(p, &W, NULL, -1, &value, NULL), RG_ERR_INVALID_ARGUMENT);

    /* a list of tensors in one call */
    {
        rg_array many[2] = {W, WF}, grads[2] = {G, GF};
        double total = 0;
        EXPECT_STATUS(rg_penalty_eval_many(p, many, 2, &total, grads), RG_OK);
        EXPECT(close_to(total, 30.0) && g[1] == -2 && gf[1] == -2.0f, "eval_many sums %g", total);
        EXPECT_STATUS(rg_penalty_eval_many(p, many, 2, &total, NULL), RG_OK);
        EXPECT_STATUS(rg_penalty_eval_many(p, NULL, 2, &total, NULL), RG_ERR_NULL);
        EXPECT_STATUS(rg_penalty_eval_many(p, many, -1, &total, NULL), RG_ERR_INVALID_ARGUMENT);
        EXPECT_STATUS(rg_penalty_eval_many(p, many, 0, &total, NULL), RG_OK);
        EXPECT(total == 0, "empty list");
        rg_array bad[2] = {W, Wnan};
        EXPECT_STATUS(rg_penalty_eval_many(p, bad, 2, &total, NULL), RG_ERR_NONFINITE);
        EXPECT(strstr(rg_last_error(), "ws[1]") != NULL, "names the tensor");
    }

    /* prox */
    EXPECT_STATUS(rg_penalty_prox(p, &W, 0.25, NULL, 0, &O), RG_OK);
    EXPECT(close_to(out[0], 0.5) && out[2] == 0.0 && close_to(out[1], -1.5), "soft threshold");
    EXPECT_STATUS(rg_penalty_prox(p, &W, -1, NULL, 0, &O), RG_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(rg_penalty_prox(p, &W, NAN, NULL, 0, &O), RG_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(rg_penalty_prox(p, &W, 0.1, NULL, 0, NULL), RG_ERR_NULL);
    EXPECT_STATUS(rg_penalty_free(p), RG_OK);
    EXPECT_STATUS(rg_penalty_free(p), RG_ERR_INVALID_HANDLE);   /* double free is reported */
    EXPECT_STATUS(rg_penalty_eval(p, &W, NULL, 0, &value, &G), RG_ERR_INVALID_HANDLE);
    EXPECT_STATUS(rg_penalty_free(NULL), RG_OK);
    rg_penalty *nl = NULL;
    EXPECT_STATUS(rg_penalty_new("norm_loss", NULL, &nl), RG_OK);
    EXPECT_STATUS(rg_penalty_prox(nl, &W, 0.1, NULL, 0, &O), RG_ERR_UNSUPPORTED);
    EXPECT_STATUS(rg_loss_free((rg_loss *)nl), RG_ERR_INVALID_HANDLE);  /* wrong handle type */
    EXPECT_STATUS(rg_penalty_free(nl), RG_OK);

    /* losses */
    double z[6] = {2, 1, -1, 1e4, 0, -1e4}, gz[6], per[2];
    int64_t zs[2] = {2, 3}, ys[1] = {2}, ps[1] = {2};
    int32_t y[2] = {0, 2}, ybad[2] = {0, 3};
    rg_array Z = {z, RG_FLOAT64, 2, zs, NULL}, GZ = {gz, RG_FLOAT64, 2, zs, NULL};
    rg_array Y = {y, RG_INT32, 1, ys, NULL}, Yb = {ybad, RG_INT32, 1, ys, NULL};
    rg_array PS = {per, RG_FLOAT64, 1, ps, NULL};
    rg_loss *l = NULL;
    EXPECT_STATUS(rg_loss_new("softmax_cross_entropy", "reduction=sum", &l), RG_OK);
    EXPECT_STATUS(rg_loss_eval(l, &Z, &Y, NULL, 0, &value, &PS, &GZ), RG_OK);
    EXPECT(close_to(value, 0.349012 + 2e4) && isfinite(gz[3]), "CE with 1e4 logits: %g", value);
    EXPECT(close_to(per[1], 2e4), "per-sample");
    EXPECT_STATUS(rg_loss_eval(l, &Z, &Yb, NULL, 0, &value, NULL, NULL), RG_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(rg_loss_eval(l, &Z, NULL, NULL, 0, &value, NULL, NULL), RG_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(rg_loss_update(l, "epoch=1"), RG_ERR_UNSUPPORTED);
    EXPECT_STATUS(rg_loss_free(l), RG_OK);

    /* maps */
    rg_map *m = NULL;
    double x3[3] = {1, 0.8, -1}, y3[3], c3[3] = {1, 0, 0};
    int64_t s3[1] = {3};
    rg_array X3 = {x3, RG_FLOAT64, 1, s3, NULL}, Y3 = {y3, RG_FLOAT64, 1, s3, NULL}, C3 = {c3, RG_FLOAT64, 1, s3, NULL};
    EXPECT_STATUS(rg_map_new("sparsemax", NULL, &m), RG_OK);
    EXPECT_STATUS(rg_map_forward(m, &X3, NULL, 0, &Y3), RG_OK);
    EXPECT(close_to(y3[0], 0.6) && close_to(y3[1], 0.4) && y3[2] == 0, "sparsemax");
    EXPECT_STATUS(rg_map_vjp(m, &X3, &C3, NULL, 0, &Y3), RG_OK);
    EXPECT(close_to(y3[0], 0.5) && close_to(y3[1], -0.5), "sparsemax vjp");
    EXPECT_STATUS(rg_map_update(m, "step=1"), RG_ERR_UNSUPPORTED);
    EXPECT_STATUS(rg_map_update(NULL, "step=1"), RG_ERR_NULL);
    EXPECT_STATUS(rg_map_free(m), RG_OK);
    EXPECT_STATUS(rg_map_new("gumbel_softmax", "seed=1", &m), RG_OK);
    EXPECT_STATUS(rg_map_update(m, "step=2"), RG_OK);
    EXPECT_STATUS(rg_map_update(m, "epoch=2"), RG_ERR_UNKNOWN_PARAMETER);
    EXPECT_STATUS(rg_map_free(m), RG_OK);
    EXPECT_STATUS(rg_map_new("l1", NULL, &m), RG_ERR_INVALID_ARGUMENT);

    /* plugins */
    EXPECT_STATUS(rg_plugin_load("/no/such/plugin.so"), RG_ERR_PLUGIN);
    EXPECT_STATUS(rg_plugin_load("/etc/hostname"), RG_ERR_PLUGIN);
    EXPECT_STATUS(rg_plugin_load(NULL), RG_ERR_NULL);
    EXPECT_STATUS(rg_plugin_register(NULL), RG_ERR_NULL);
    rg_plugin_descriptor old = {sizeof(rg_plugin_descriptor), 999, "old", "0", NULL, 0};
    EXPECT_STATUS(rg_plugin_register(&old), RG_ERR_PLUGIN);
    rg_plugin_descriptor small = {8, RG_PLUGIN_ABI_VERSION, "small", "0", NULL, 0};
    EXPECT_STATUS(rg_plugin_register(&small), RG_ERR_PLUGIN);
    rg_component_table nofn = {sizeof(rg_component_table), RG_KIND_PENALTY, "no_functions", "", NULL, NULL,
                               NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    rg_plugin_descriptor d = {sizeof(rg_plugin_descriptor), RG_PLUGIN_ABI_VERSION, "t", "0", &nofn, 1};
    EXPECT_STATUS(rg_plugin_register(&d), RG_ERR_PLUGIN);
    EXPECT(strstr(rg_last_error(), "create") != NULL, "names the missing function");
    if (plugin) {
        EXPECT_STATUS(rg_plugin_load(plugin), RG_OK);
        EXPECT_STATUS(rg_plugin_load(plugin), RG_OK);  /* loading twice is a no-op */
        EXPECT_STATUS(rg_penalty_new("scad", "strength=1,lam=1,a=3.7", &p), RG_OK);
        double sv[3] = {0.5, 2.0, 10.0}, sg[3];
        rg_array SV = {sv, RG_FLOAT64, 1, s3, NULL}, SG = {sg, RG_FLOAT64, 1, s3, NULL};
        EXPECT_STATUS(rg_penalty_eval(p, &SV, NULL, 0, &value, &SG), RG_OK);
        /* 0.5 + (2*3.7*2 - 4 - 1)/(2*2.7) + 4.7/2 */
        EXPECT(close_to(value, 0.5 + (14.8 - 5.0) / 5.4 + 2.35), "scad value %g", value);
        EXPECT(close_to(sg[0], 1.0) && close_to(sg[1], 1.7 / 2.7) && sg[2] == 0.0, "scad gradient");
        EXPECT_STATUS(rg_penalty_new("scad", "a=1.5", &nl), RG_ERR_PARAMETER);
        EXPECT_STATUS(rg_penalty_free(p), RG_OK);
    }

    /* the header compiles under C99 and C++ (checked by the Makefile); all done */
    printf("%d passed, %d failed\n", passed, failures);
    return failures ? 1 : 0;
}
