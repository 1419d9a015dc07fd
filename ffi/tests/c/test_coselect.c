/* The C ABI from C: every call's success path and every error status.
 * Built and run (also under valgrind memcheck) by ffi/tests/run-c-tests.sh. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coselect.h"

static int failures = 0;

#define EXPECT(call, want)                                                     \
  do {                                                                         \
    coselect_status got_ = (call);                                             \
    if (got_ != (want)) {                                                      \
      fprintf(stderr, "%s:%d: %s gave %s, want %s (%s)\n", __FILE__,           \
              __LINE__, #call, coselect_status_name(got_),                     \
              coselect_status_name(want), coselect_last_error());              \
      failures++;                                                              \
    }                                                                          \
  } while (0)

#define TRUE(cond)                                                             \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: %s is false\n", __FILE__, __LINE__, #cond);      \
      failures++;                                                              \
    }                                                                          \
  } while (0)

enum { ROWS = 60, C = 3 };
static float fm[ROWS * C], sm[ROWS * C];
static int64_t labels[ROWS];

/* A pool where the FM and the small model mostly agree; every 6th row is
 * labeled with its FM class, so each class has >= seed_min labels. */
static void make_pool(void) {
  unsigned s = 12345;
  for (int i = 0; i < ROWS; i++) {
    float z[C], m = -1e30f, lse = 0.0f;
    for (int c = 0; c < C; c++) {
      s = s * 1103515245u + 12345u;
      z[c] = ((s >> 16) % 1000) / 250.0f - 2.0f;
      fm[i * C + c] = z[c];
    }
    for (int c = 0; c < C; c++) {
      float v = 2.0f * z[c];
      if (v > m) m = v;
    }
    for (int c = 0; c < C; c++) lse += expf(2.0f * z[c] - m);
    for (int c = 0; c < C; c++) sm[i * C + c] = 2.0f * z[c] - m - logf(lse);
    int best = 0;
    for (int c = 1; c < C; c++)
      if (z[c] > z[best]) best = c;
    labels[i] = (i % 6 == 0) ? best : -1;
  }
}

static coselect_config config(uint32_t classes, uint32_t k) {
  coselect_config cfg;
  EXPECT(coselect_config_init(&cfg, classes, k), COSELECT_OK);
  return cfg;
}

/* Ships a prior's state as bytes, as a cluster would. */
static coselect_prior *ship_prior(coselect_prior *p) {
  size_t len = 0;
  EXPECT(coselect_prior_to_bytes(p, NULL, 0, &len), COSELECT_BUFFER_TOO_SMALL);
  uint8_t *b = malloc(len);
  EXPECT(coselect_prior_to_bytes(p, b, len, &len), COSELECT_OK);
  coselect_prior *q = NULL;
  EXPECT(coselect_prior_from_bytes(b, len, &q), COSELECT_OK);
  free(b);
  return q;
}

int main(void) {
  make_pool();
  TRUE(coselect_abi_version() == COSELECT_ABI_VERSION);
  TRUE(strlen(coselect_version()) > 0);
  TRUE(strcmp(coselect_status_name(COSELECT_CORRUPT), "COSELECT_CORRUPT") == 0);
  TRUE(strcmp(coselect_status_name(12345), "COSELECT_UNKNOWN") == 0);
  TRUE(strcmp(coselect_status_name(COSELECT_INTERNAL), "COSELECT_INTERNAL") == 0);

  coselect_config cfg = config(C, 4);
  coselect_matrix F = {fm, ROWS, C, 0}, S = {sm, ROWS, C, 0};
  coselect_pick picks[8];
  coselect_pseudo_label pseudo[ROWS];
  size_t n = 0, np = 0;

  /* Round 0: FM only, no labels. */
  EXPECT(coselect_select(&cfg, &F, NULL, NULL, 0, 1, picks, 8, &n, NULL, 0, &np, NULL),
         COSELECT_OK);
  TRUE(n == 4 && np == 0);
  for (size_t i = 0; i < n; i++) TRUE(picks[i].reason == COSELECT_REASON_SEED);

  /* A later round: small model, labels, pseudo-labels, calibration. */
  coselect_calibration cal;
  EXPECT(coselect_select(&cfg, &F, &S, labels, ROWS, 2, picks, 8, &n, pseudo, ROWS, &np, &cal),
         COSELECT_OK);
  TRUE(n == 4 && np > 0 && cal.has_fusion == 1);
  for (size_t i = 0; i < n; i++) TRUE(labels[picks[i].index] == -1);

  /* Calibration and label trust on the labeled rows. */
  float lf[ROWS * C], ls[ROWS * C];
  uint32_t ly[ROWS];
  size_t nl = 0;
  for (int i = 0; i < ROWS; i++)
    if (labels[i] >= 0) {
      memcpy(lf + nl * C, fm + i * C, sizeof(float) * C);
      memcpy(ls + nl * C, sm + i * C, sizeof(float) * C);
      ly[nl++] = (uint32_t)labels[i];
    }
  coselect_matrix LF = {lf, nl, C, 0}, LS = {ls, nl, C, 0};
  coselect_calibration cal2;
  EXPECT(coselect_fit_calibration(&cfg, &LF, &LS, ly, nl, &cal2), COSELECT_OK);
  TRUE(cal2.temperature == cal.temperature && cal2.fusion_a == cal.fusion_a);
  coselect_verdict verdicts[ROWS];
  ly[0] = (ly[0] + 1) % C; /* one wrong label: both models disagree with it */
  EXPECT(coselect_judge_labels(&cfg, &LF, &LS, ly, nl, &cal2, verdicts), COSELECT_OK);
  TRUE(verdicts[0].suspect == 1 && verdicts[1].suspect == 0);

  /* The selector handle: two shards by id, shipped as bytes, merged. */
  uint32_t counts[C] = {0, 0, 0};
  for (int i = 0; i < ROWS; i++)
    if (labels[i] >= 0) counts[labels[i]]++;
  coselect_selector *a = NULL, *b = NULL, *c = NULL;
  /* Some class has fewer than seed_min labels, so the plan needs the EM
   * prior of the pool: fitted here, then the empty state is the template
   * every shard starts from. */
  EXPECT(coselect_selector_new_from_pool(&cfg, &F, &S, labels, ROWS, 1, &a), COSELECT_OK);
  size_t tlen = 0;
  EXPECT(coselect_selector_to_bytes(a, NULL, 0, &tlen), COSELECT_BUFFER_TOO_SMALL);
  uint8_t *tmpl = malloc(tlen);
  EXPECT(coselect_selector_to_bytes(a, tmpl, tlen, &tlen), COSELECT_OK);
  EXPECT(coselect_selector_from_bytes(tmpl, tlen, &b), COSELECT_OK);
  free(tmpl);
  uint64_t ids[ROWS];
  float bf[ROWS * C], bs[ROWS * C];
  size_t na = 0;
  for (int i = 0; i < ROWS; i++)
    if (labels[i] < 0 && i < ROWS / 2) {
      memcpy(bf + na * C, fm + i * C, sizeof(float) * C);
      memcpy(bs + na * C, sm + i * C, sizeof(float) * C);
      ids[na++] = (uint64_t)i;
    }
  coselect_matrix AF = {bf, na, C, 0}, AS = {bs, na, C, 0};
  EXPECT(coselect_selector_push(a, &AF, &AS, ids, na), COSELECT_OK);
  size_t nb = 0;
  for (int i = ROWS / 2; i < ROWS; i++)
    if (labels[i] < 0) {
      memcpy(bf + nb * C, fm + i * C, sizeof(float) * C);
      memcpy(bs + nb * C, sm + i * C, sizeof(float) * C);
      ids[nb++] = (uint64_t)i;
    }
  coselect_matrix BF = {bf, nb, C, 0}, BS = {bs, nb, C, 0};
  EXPECT(coselect_selector_push(b, &BF, &BS, ids, nb), COSELECT_OK);
  size_t len = 0;
  EXPECT(coselect_selector_to_bytes(b, NULL, 0, &len), COSELECT_BUFFER_TOO_SMALL);
  uint8_t *bytes = malloc(len);
  EXPECT(coselect_selector_to_bytes(b, bytes, len, &len), COSELECT_OK);
  EXPECT(coselect_selector_from_bytes(bytes, len, &c), COSELECT_OK);
  EXPECT(coselect_selector_merge(a, c), COSELECT_OK);
  uint64_t rows = 0;
  EXPECT(coselect_selector_rows(a, &rows), COSELECT_OK);
  TRUE(rows == na + nb);
  coselect_pick spicks[8];
  coselect_pseudo_label spseudo[ROWS];
  size_t sn = 0, snp = 0;
  EXPECT(coselect_selector_finish(a, spicks, 1, &sn, spseudo, ROWS, &snp),
         COSELECT_BUFFER_TOO_SMALL);
  TRUE(sn == 4);
  EXPECT(coselect_selector_finish(a, spicks, 8, &sn, spseudo, ROWS, &snp), COSELECT_OK);
  /* The sharded selection is the whole-pool round's. */
  TRUE(sn == n && snp == np);
  for (size_t i = 0; i < sn && i < n; i++)
    TRUE(spicks[i].index == picks[i].index && spicks[i].class_id == picks[i].class_id);
  for (size_t i = 0; i < snp && i < np; i++) TRUE(spseudo[i].index == pseudo[i].index);
  EXPECT(coselect_selector_push(a, &AF, &AS, ids, na), COSELECT_FINISHED);

  /* The EM prior over two shards of every row (labeled ones too), then a
   * selector under it: the same picks as the whole-pool round. */
  coselect_prior *drv = NULL;
  uint32_t done = 0;
  EXPECT(coselect_prior_new(&cfg, &cal, &drv), COSELECT_OK);
  while (!done) {
    for (int half = 0; half < 2; half++) {
      coselect_matrix HF = {fm + half * (ROWS / 2) * C, ROWS / 2, C, 0};
      coselect_matrix HS = {sm + half * (ROWS / 2) * C, ROWS / 2, C, 0};
      coselect_prior *shard = ship_prior(drv);
      EXPECT(coselect_prior_push(shard, &HF, &HS), COSELECT_OK);
      coselect_prior *back = ship_prior(shard);
      EXPECT(coselect_prior_merge(drv, back), COSELECT_OK);
      coselect_prior_free(shard);
      coselect_prior_free(back);
    }
    EXPECT(coselect_prior_end_pass(drv, &done), COSELECT_OK);
  }
  float lp[C];
  EXPECT(coselect_prior_log_prior(drv, lp, C), COSELECT_OK);
  EXPECT(coselect_prior_log_prior(drv, lp, C - 1), COSELECT_SHAPE_MISMATCH);
  coselect_prior_free(drv);
  coselect_prior_free(NULL);
  coselect_selector *d = NULL;
  EXPECT(coselect_selector_new(&cfg, counts, C, &cal, lp, &d), COSELECT_OK);
  size_t nd = 0;
  for (int i = 0; i < ROWS; i++)
    if (labels[i] < 0) {
      memcpy(bf + nd * C, fm + i * C, sizeof(float) * C);
      memcpy(bs + nd * C, sm + i * C, sizeof(float) * C);
      ids[nd++] = (uint64_t)i;
    }
  coselect_matrix DF = {bf, nd, C, 0}, DS = {bs, nd, C, 0};
  EXPECT(coselect_selector_push(d, &DF, &DS, ids, nd), COSELECT_OK);
  EXPECT(coselect_selector_finish(d, spicks, 8, &sn, spseudo, ROWS, &snp), COSELECT_OK);
  TRUE(sn == n && snp == np);
  for (size_t i = 0; i < sn && i < n; i++) TRUE(spicks[i].index == picks[i].index);
  coselect_selector_free(d);

  /* The decision bias: -0.5 ln of the model's mean posterior over the pool;
   * the same for any thread count; bad strength, shape, NULL and NaN refused. */
  {
    coselect_matrix S = {sm, ROWS, C, 0};
    float bias[C], bias1[C];
    double mean[C] = {0.0, 0.0, 0.0};
    for (int i = 0; i < ROWS; i++)
      for (int c = 0; c < C; c++) mean[c] += exp((double)sm[i * C + c]) / ROWS;
    EXPECT(coselect_decision_bias(&S, 0.5f, 0, bias, C), COSELECT_OK);
    EXPECT(coselect_decision_bias(&S, 0.5f, 1, bias1, C), COSELECT_OK);
    for (int c = 0; c < C; c++) {
      TRUE(fabs(bias[c] + 0.5 * log(mean[c])) < 1e-5);
      TRUE(bias[c] == bias1[c]);
    }
    EXPECT(coselect_decision_bias(&S, -1.0f, 1, bias, C), COSELECT_INVALID_ARGUMENT);
    EXPECT(coselect_decision_bias(&S, 0.5f, 1, bias, C - 1), COSELECT_SHAPE_MISMATCH);
    EXPECT(coselect_decision_bias(&S, 0.5f, 1, NULL, C), COSELECT_NULL_POINTER);
    EXPECT(coselect_decision_bias(NULL, 0.5f, 1, bias, C), COSELECT_NULL_POINTER);
    float nan_sm[ROWS * C];
    memcpy(nan_sm, sm, sizeof sm);
    nan_sm[5 * C + 1] = NAN;
    coselect_matrix NS = {nan_sm, ROWS, C, 0};
    EXPECT(coselect_decision_bias(&NS, 0.5f, 1, bias, C), COSELECT_NON_FINITE);
    TRUE(strstr(coselect_last_error(), "row 5, col 1") != NULL);
  }

  /* Every error status. */
  float log_prior[C] = {-1.0986123f, -1.0986123f, -1.0986123f};
  EXPECT(coselect_config_init(NULL, 3, 4), COSELECT_NULL_POINTER);
  TRUE(strstr(coselect_last_error(), "NULL") != NULL);
  coselect_matrix bad_stride = {fm, ROWS, C, 2};
  EXPECT(coselect_select(&cfg, &bad_stride, NULL, NULL, 0, 1, picks, 8, &n, NULL, 0, &np, NULL),
         COSELECT_INVALID_ARGUMENT);
  coselect_config zero_k = cfg;
  zero_k.k = 0;
  EXPECT(coselect_select(&zero_k, &F, NULL, NULL, 0, 1, picks, 8, &n, NULL, 0, &np, NULL),
         COSELECT_INVALID_ARGUMENT);
  float nan_fm[ROWS * C];
  memcpy(nan_fm, fm, sizeof fm);
  nan_fm[17 * C + 2] = NAN;
  coselect_matrix NF = {nan_fm, ROWS, C, 0};
  EXPECT(coselect_select(&cfg, &NF, NULL, NULL, 0, 1, picks, 8, &n, NULL, 0, &np, NULL),
         COSELECT_NON_FINITE);
  TRUE(strstr(coselect_last_error(), "row 17, col 2") != NULL);
  nan_fm[17 * C + 2] = INFINITY;
  EXPECT(coselect_select(&cfg, &NF, NULL, NULL, 0, 1, picks, 8, &n, NULL, 0, &np, NULL),
         COSELECT_NON_FINITE);
  coselect_matrix not_logp = {fm, ROWS, C, 0};
  EXPECT(coselect_select(&cfg, &F, &not_logp, labels, ROWS, 1, picks, 8, &n, NULL, 0, &np, NULL),
         COSELECT_NOT_NORMALIZED);
  coselect_matrix short_sm = {sm, ROWS - 1, C, 0};
  EXPECT(coselect_select(&cfg, &F, &short_sm, labels, ROWS, 1, picks, 8, &n, NULL, 0, &np, NULL),
         COSELECT_SHAPE_MISMATCH);
  int64_t bad_labels[ROWS];
  memcpy(bad_labels, labels, sizeof labels);
  bad_labels[5] = 7;
  EXPECT(coselect_select(&cfg, &F, &S, bad_labels, ROWS, 1, picks, 8, &n, NULL, 0, &np, NULL),
         COSELECT_LABEL_OUT_OF_RANGE);
  coselect_selector *e = NULL;
  EXPECT(coselect_selector_new(&cfg, counts, C, &cal, log_prior, &e), COSELECT_OK);
  EXPECT(coselect_selector_finish(e, spicks, 8, &sn, NULL, 0, &snp), COSELECT_EMPTY_POOL);
  coselect_config big_k = config(C, ROWS + 1);
  EXPECT(coselect_select(&big_k, &F, NULL, NULL, 0, 1, picks, 8, &n, NULL, 0, &np, NULL),
         COSELECT_BUDGET_EXCEEDS_POOL);
  EXPECT(coselect_select(&cfg, &F, NULL, NULL, 0, 1, picks, 2, &n, NULL, 0, &np, NULL),
         COSELECT_BUFFER_TOO_SMALL);
  TRUE(n == 4);
  coselect_config future = cfg;
  future.version = 99;
  EXPECT(coselect_select(&future, &F, NULL, NULL, 0, 1, picks, 8, &n, NULL, 0, &np, NULL),
         COSELECT_UNSUPPORTED_VERSION);
  bytes[len / 2] ^= 0x10;
  EXPECT(coselect_selector_from_bytes(bytes, len, &c), COSELECT_CORRUPT);
  EXPECT(coselect_selector_from_bytes(bytes, len - 3, &c), COSELECT_CORRUPT);
  coselect_calibration plain = {1.0f, 0, 0.0f, 0.0f};
  uint32_t zero_counts[C] = {0, 0, 0};
  coselect_selector *other = NULL;
  EXPECT(coselect_selector_new(&cfg, zero_counts, C, &plain, log_prior, &other), COSELECT_OK);
  EXPECT(coselect_selector_merge(e, other), COSELECT_STATE_MISMATCH);
  EXPECT(coselect_select(&cfg, &F, NULL, labels, ROWS, 1, picks, 8, &n, NULL, 0, &np, NULL),
         COSELECT_MISSING_SMALL_MODEL);
  enum { HUGE = 5000 };
  coselect_config huge = config(HUGE, 4);
  uint32_t *hc = calloc(HUGE, sizeof(uint32_t));
  float *hp = calloc(HUGE, sizeof(float));
  coselect_selector *h = NULL;
  EXPECT(coselect_selector_new(&huge, hc, HUGE, &plain, hp, &h), COSELECT_TOO_LARGE);
  TRUE(h == NULL);
  free(hc);
  free(hp);

  /* No GPU here (and, unless built with the cuda feature, no CUDA code):
   * the device entry point reports it rather than crashing. */
  coselect_device_matrix dfm = {0, ROWS, C, COSELECT_DTYPE_F32}, dnone = {0, 0, 0, 0};
  EXPECT(coselect_cuda_select(&cfg, zero_counts, C, &plain, log_prior, dfm, dnone, 0, 0, 0, picks,
                              8, &n, NULL, 0, &np),
         COSELECT_UNAVAILABLE);

  coselect_selector_free(NULL);
  coselect_selector_free(a);
  coselect_selector_free(b);
  coselect_selector_free(c);
  coselect_selector_free(e);
  coselect_selector_free(other);
  free(bytes);
  if (failures) {
    fprintf(stderr, "%d failures\n", failures);
    return 1;
  }
  printf("C ABI test: all checks passed\n");
  return 0;
}
