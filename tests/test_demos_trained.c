/* test_demos_trained.c - the analyses of a trained model (09, 10) end to end: 09 trains the
 * pinned induction model once into a run directory under $MLM_TMP, 10 reuses it; then the
 * properties their teaching pages claim are checked in their JSON
 * (docs/analysis-9-trained-heads.md, docs/analysis-10-induction-forming.md).
 *
 * The float build trains the full 400 steps (~10 s). To stay under a minute the double build
 * trains 200 steps (the scores still grow well above chance) and the sanitizer (MLM_SANITIZE,
 * ~0.35 s a step) 60 steps with a smaller held-out batch; short runs check only what they
 * guarantee: the untrained model's scores, the loss falling, RoPE's properties, and the
 * phase-change step reported exactly when a snapshot passes the threshold. The run
 * directory's reuse check is exercised with a 5-step run. */
#include "check.h"
#include "demo_json.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

static char bdir[512], out[600];

static int run(const char *demo, const char *args, const char *log) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 %s/demos/%s --out %s --quiet %s >%s/%s 2>&1", bdir, demo, out, args, out, log);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int log_has(const char *log, const char *text) {
    char p[800], line[2048];
    snprintf(p, sizeof p, "%s/%s", out, log);
    FILE *f = fopen(p, "r");
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f)) found = strstr(line, text) != NULL;
    if (f) fclose(f);
    return found;
}

static cJSON *load(const char *name) { return demo_load_json(out, name); }

static double num(const cJSON *o, const char *k) { return demo_num(o, k); }

static const cJSON *get(const cJSON *o, const char *path) {   /* "a.b.c" */
    char buf[256], *save = NULL;
    snprintf(buf, sizeof buf, "%s", path);
    for (char *k = strtok_r(buf, ".", &save); k && o; k = strtok_r(NULL, ".", &save)) o = cJSON_GetObjectItemCaseSensitive(o, k);
    return o;
}

static double at(const cJSON *o, const char *path) {
    const cJSON *it = get(o, path);
    return cJSON_IsNumber(it) ? it->valuedouble : NAN;
}

static int exists(const char *name, const char *ext) { return demo_file_exists(out, name, ext); }

static void files(const char *name) {
    char what[160];
    snprintf(what, sizeof what, "%s renders PNG, SVG and PDF", name);
    CHECK(exists(name, ".png") && exists(name, ".svg") && exists(name, ".pdf"), what);
}

int main(void) {
    const char *b = getenv("MLM_BUILD");
    snprintf(bdir, sizeof bdir, "%s", b ? b : "build/float");
    snprintf(out, sizeof out, "%s/demos_trained", getenv("MLM_TMP") ? getenv("MLM_TMP") : "/tmp");
    mkdir(out, 0777);
    const int san = getenv("MLM_SANITIZE") != NULL, full = !san && !strstr(bdir, "double"), medium = !san && !full;
    const int steps = full ? 400 : medium ? 200 : 60;
    char args[1200], rundir[800];
    snprintf(rundir, sizeof rundir, "%s/run", out);

    /* 09 trains the run, 10 reuses it */
    snprintf(args, sizeof args, "--run %s --steps %d", rundir, steps);
    char args09[1300];
    snprintf(args09, sizeof args09, "%s%s", args, san ? " --batch 4 --periods 16,32" : "");
    CHECK(run("09_trained_heads", args09, "09.log") == 0, "09_trained_heads runs (and trains the pinned model into its --run directory)");
    CHECK(log_has("09.log", "training the pinned induction-2l model"), "09 says that it trains");
    files("09_trained_heads");
    const int rc10 = run("10_induction_forming", args, "10.log");
    CHECK(rc10 == 0, "10_induction_forming runs");
    CHECK(rc10 == 0 && !log_has("10.log", "training the pinned"), "10 reuses the run 09 trained (same config, seed, steps): no second training");
    files("10_induction_forming");

    cJSON *j = load("09_trained_heads");
    CHECK(j != NULL, "09 writes its JSON");
    if (j) {
        const double ic = num(j, "ind_chance"), pc = num(j, "prev_chance");
        CHECK(num(j, "steps") == steps && cJSON_IsTrue(get(j, "trained_now")), "09: the JSON records the run's steps and that it trained");
        CHECK(ic > 0 && ic < 0.05 && pc > 0 && pc < 0.1, "09: chance levels of the repeat task (n 32) recorded");
        CHECK(num(j, "trained_vs_last_snapshot_scores_max_diff") < 1e-5,
              "09: the loaded model.bin scores what heads.json recorded at the last step");
        CHECK(num(j, "init_vs_step0_scores_max_diff") < 1e-5, "09: the rebuilt initialisation is step 0 of the same run");
        /* the init model is independent of the steps: its claim holds in every build */
        double init_best = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, get(j, "init.induction")) init_best = fmax(init_best, it->valuedouble);
        CHECK(init_best < 2 * ic && num(j, "init_heads_above_2x_chance") == 0, "09: no head of the untrained model above 2x chance induction");
        CHECK(cJSON_GetArraySize(get(j, "trained.induction")) == 8 && cJSON_GetArraySize(get(j, "init.prev")) == 8,
              "09: per-head scores of both models (2 layers x 4 heads)");
        const double tb = at(j, "trained.max_induction.score");
        if (full) {
            CHECK(tb > 0.5 && num(j, "heads_above_half_trained") >= 1, "09: the trained model has a head above 0.5 induction score");
            CHECK(at(j, "trained.max_induction.layer") == 1, "09: the induction heads sit in layer 1");
            CHECK(at(j, "trained.rope.all_pos0.second_half_loss") > at(j, "trained.rope.base.second_half_loss") + 1 &&
                      at(j, "trained.rope.all_pos0.max_induction") < 2 * ic,
                  "09: every token at position 0 breaks the trained model (repeated-half loss up by > 1 nat, induction to chance)");
            CHECK(fabs(at(j, "trained.rope.shift.second_half_loss") - at(j, "trained.rope.base.second_half_loss")) < 1e-3,
                  "09: a uniform shift leaves the trained model's loss unchanged");
            CHECK(at(j, "periods.trained_at_training_period") > 0.5 && at(j, "periods.trained_best_other_score") < 0.5,
                  "09: the heads score above 0.5 only at the trained period (other periods below)");
            CHECK(at(j, "trained.max_prev.score") < pc, "09: no previous-token head in the trained model (below chance)");
        } else if (medium) {
            CHECK(tb > 4 * ic, "09 (200 steps): the trained model's best induction score is above 4x chance");
        }
        CHECK(at(j, "trained.rope.shift.relative_logit_diff") < 1e-4 && at(j, "init.rope.shift.relative_logit_diff") < 1e-4,
              "09: shifting every position changes the logits only by rounding (RoPE is relative)");
        CHECK(at(j, "trained.rope.all_pos0.relative_logit_diff") > 0.1, "09: removing positions changes the trained model's logits");
        CHECK(cJSON_IsTrue(get(j, "trained.rope.all_pos0_equals_rope_off")) && cJSON_IsTrue(get(j, "init.rope.all_pos0_equals_rope_off")),
              "09: every token at position 0 is bit-identical to RoPE switched off");
        cJSON_Delete(j);
    }

    j = load("10_induction_forming");
    CHECK(j != NULL, "10 writes its JSON");
    if (j) {
        const cJSON *mi = get(j, "max_induction"), *ss = get(j, "snapshot_steps");
        const int ns = cJSON_GetArraySize(ss);
        CHECK(ns == 17 && cJSON_GetArraySize(mi) == ns && cJSON_GetArraySize(get(j, "heads")) == 8,
              "10: 17 snapshots, a score curve for each of the 8 heads");
        CHECK(cJSON_GetArraySize(get(j, "loss")) == steps && num(j, "steps") == steps, "10: a training loss for every step");
        int first = -1;
        for (int k = 0; k < ns && first < 0; k++) if (cJSON_GetArrayItem(mi, k)->valuedouble > num(j, "threshold")) first = k;
        const double pcs = num(j, "phase_change_step");
        CHECK(first < 0 ? cJSON_IsNull(get(j, "phase_change_step")) : pcs == cJSON_GetArrayItem(ss, first)->valuedouble,
              "10: phase_change_step is the first snapshot whose max induction exceeds the threshold");
        CHECK(num(j, "loss_end") < num(j, "loss_start") - (san ? 0.1 : 0.5), "10: the training loss falls");
        const cJSON *ev = get(j, "evals");
        const int ne = cJSON_GetArraySize(ev);
        if (!san)
            CHECK(ne >= 2 && num(cJSON_GetArrayItem(ev, ne - 1), "second_half") < num(cJSON_GetArrayItem(ev, 0), "second_half"),
                  "10: the held-out loss of the repeated half falls");
        if (full) {
            CHECK(isfinite(pcs) && pcs > 0 && pcs < steps, "10: the phase change happens during the run (not at initialisation)");
            CHECK(fabs(num(j, "steepest_loss_drop_step") - pcs) <= 50,
                  "10: the loss drops fastest within two snapshots of the phase change");
            CHECK(num(cJSON_GetArrayItem(ev, ne - 1), "second_half") < 0.1 &&
                      fabs(num(cJSON_GetArrayItem(ev, ne - 1), "first_half") - num(j, "log_vocab")) < 0.2,
                  "10: at the end the repeated half is predicted (< 0.1 nat), the random half stays near log V");
        }
        cJSON_Delete(j);
    }

    /* the run directory's reuse check, with a 5-step run */
    snprintf(args, sizeof args, "--run %s/tiny --steps 5", out);
    CHECK(run("10_induction_forming", args, "t1.log") == 0 && log_has("t1.log", "training the pinned"), "10 trains a missing 5-step run");
    CHECK(run("10_induction_forming", args, "t2.log") == 0 && !log_has("t2.log", "training the pinned"), "the same --steps reuses it");
    j = load("10_induction_forming");
    if (j) {
        CHECK(cJSON_IsNull(get(j, "phase_change_step")) && num(j, "steps") == 5, "10: a run without a phase change says so (null)");
        cJSON_Delete(j);
    }
    snprintf(args, sizeof args, "--run %s/tiny --steps 6", out);
    CHECK(run("10_induction_forming", args, "t3.log") == 0 && log_has("t3.log", "6 steps"), "another --steps retrains into the directory");
    snprintf(args, sizeof args, "--run %s/tiny --steps 6 --seed 7 --batch 2 --periods 32", out);
    CHECK(run("09_trained_heads", args, "t4.log") == 0 && log_has("t4.log", "training the pinned"), "another --seed retrains too");
    /* bad flags */
    CHECK(run("09_trained_heads", "--layer 9", "bad.log") != 0 && log_has("bad.log", "09_trained_heads:"), "09: a layer the model lacks is refused");
    CHECK(run("10_induction_forming", "--threshold 2", "bad.log") == 2, "10: a threshold outside (0, 1) is refused");
    return check_done();
}
