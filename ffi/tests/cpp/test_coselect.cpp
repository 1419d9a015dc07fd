// The C ABI from C++17: the header compiles as C++, a RAII handle owns the
// selector, and every status comes back as the C test sees it. Built and
// run (also under valgrind memcheck) by ffi/tests/run-c-tests.sh.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "coselect.h"

namespace {

int failures = 0;

void expect(coselect_status got, coselect_status want, int line) {
  if (got != want) {
    std::fprintf(stderr, "line %d: got %s, want %s (%s)\n", line, coselect_status_name(got),
                 coselect_status_name(want), coselect_last_error());
    failures++;
  }
}
#define EXPECT(call, want) expect((call), (want), __LINE__)
#define TRUE(cond)                                                      \
  do {                                                                  \
    if (!(cond)) {                                                      \
      std::fprintf(stderr, "line %d: %s is false\n", __LINE__, #cond); \
      failures++;                                                       \
    }                                                                   \
  } while (0)

// How a C++ framework would hold a selector: freed on every path.
struct SelectorDeleter {
  void operator()(coselect_selector* s) const { coselect_selector_free(s); }
};
using Selector = std::unique_ptr<coselect_selector, SelectorDeleter>;

// Throws with the library's message, as a framework's wrapper would.
void check(coselect_status s) {
  if (s != COSELECT_OK) throw std::runtime_error(coselect_last_error());
}

constexpr size_t kRows = 40, kC = 4;

struct Pool {
  std::vector<float> fm = std::vector<float>(kRows * kC), sm = std::vector<float>(kRows * kC);
  std::vector<int64_t> labels = std::vector<int64_t>(kRows, -1);
  Pool() {
    unsigned s = 7;
    for (size_t i = 0; i < kRows; i++) {
      float m = -1e30f, lse = 0.0f;
      size_t best = 0;
      for (size_t c = 0; c < kC; c++) {
        s = s * 1664525u + 1013904223u;
        fm[i * kC + c] = float((s >> 8) % 1000) / 200.0f - 2.5f;
        if (fm[i * kC + c] > fm[i * kC + best]) best = c;
        m = std::max(m, 1.5f * fm[i * kC + c]);
      }
      for (size_t c = 0; c < kC; c++) lse += std::exp(1.5f * fm[i * kC + c] - m);
      for (size_t c = 0; c < kC; c++) sm[i * kC + c] = 1.5f * fm[i * kC + c] - m - std::log(lse);
      if (i % 4 == 0) labels[i] = int64_t(best);
    }
  }
};

}  // namespace

int main() {
  Pool p;
  coselect_config cfg{};
  check(coselect_config_init(&cfg, kC, 5));
  coselect_matrix F{p.fm.data(), kRows, kC, 0}, S{p.sm.data(), kRows, kC, 0};
  std::vector<coselect_pick> picks(5);
  std::vector<coselect_pseudo_label> pseudo(kRows);
  size_t n = 0, np = 0;
  coselect_calibration cal{};
  check(coselect_select(&cfg, &F, &S, p.labels.data(), kRows, 0, picks.data(), picks.size(), &n,
                        pseudo.data(), pseudo.size(), &np, &cal));
  TRUE(n == 5);

  // Streaming: the whole pool pushed in batches with ids = positions.
  std::vector<uint32_t> counts(kC, 0);
  for (auto y : p.labels)
    if (y >= 0) counts[size_t(y)]++;
  coselect_selector* raw = nullptr;
  check(coselect_selector_new_from_pool(&cfg, &F, &S, p.labels.data(), kRows, 1, &raw));
  Selector sel(raw);
  for (size_t start = 0; start < kRows; start += 7) {
    std::vector<float> bf, bs;
    std::vector<uint64_t> ids;
    for (size_t i = start; i < std::min(kRows, start + 7); i++)
      if (p.labels[i] < 0) {
        bf.insert(bf.end(), &p.fm[i * kC], &p.fm[i * kC] + kC);
        bs.insert(bs.end(), &p.sm[i * kC], &p.sm[i * kC] + kC);
        ids.push_back(i);
      }
    coselect_matrix BF{bf.data(), ids.size(), kC, 0}, BS{bs.data(), ids.size(), kC, 0};
    check(coselect_selector_push(sel.get(), &BF, &BS, ids.data(), ids.size()));
  }
  std::vector<coselect_pick> sp(5);
  std::vector<coselect_pseudo_label> spl(kRows);
  size_t sn = 0, snp = 0;
  check(coselect_selector_finish(sel.get(), sp.data(), sp.size(), &sn, spl.data(), spl.size(), &snp));
  TRUE(sn == n && snp == np);
  for (size_t i = 0; i < sn; i++) TRUE(sp[i].index == picks[i].index);

  // A failure throws with the message naming the row and column.
  std::vector<float> bad = p.fm;
  bad[3 * kC + 1] = NAN;
  coselect_matrix B{bad.data(), kRows, kC, 0};
  try {
    check(coselect_select(&cfg, &B, nullptr, nullptr, 0, 1, picks.data(), 5, &n, nullptr, 0, &np,
                          nullptr));
    TRUE(false);
  } catch (const std::runtime_error& e) {
    TRUE(std::string(e.what()).find("row 3, col 1") != std::string::npos);
  }

  // Every status, as C++ sees them.
  EXPECT(coselect_config_init(nullptr, 2, 1), COSELECT_NULL_POINTER);
  coselect_matrix short_stride{p.fm.data(), kRows, kC, 1};
  EXPECT(coselect_select(&cfg, &short_stride, nullptr, nullptr, 0, 1, picks.data(), 5, &n, nullptr,
                         0, &np, nullptr),
         COSELECT_INVALID_ARGUMENT);
  EXPECT(coselect_select(&cfg, &B, nullptr, nullptr, 0, 1, picks.data(), 5, &n, nullptr, 0, &np,
                         nullptr),
         COSELECT_NON_FINITE);
  EXPECT(coselect_select(&cfg, &F, &F, p.labels.data(), kRows, 1, picks.data(), 5, &n, nullptr, 0,
                         &np, nullptr),
         COSELECT_NOT_NORMALIZED);
  coselect_matrix short_sm{p.sm.data(), kRows - 2, kC, 0};
  EXPECT(coselect_select(&cfg, &F, &short_sm, nullptr, 0, 1, picks.data(), 5, &n, nullptr, 0, &np,
                         nullptr),
         COSELECT_SHAPE_MISMATCH);
  std::vector<int64_t> out_of_range = p.labels;
  out_of_range[1] = int64_t(kC);
  EXPECT(coselect_select(&cfg, &F, &S, out_of_range.data(), kRows, 1, picks.data(), 5, &n, nullptr,
                         0, &np, nullptr),
         COSELECT_LABEL_OUT_OF_RANGE);
  coselect_selector* empty_raw = nullptr;
  std::vector<float> uniform(kC, -std::log(float(kC)));
  check(coselect_selector_new(&cfg, counts.data(), kC, &cal, uniform.data(), &empty_raw));
  Selector empty(empty_raw);
  EXPECT(coselect_selector_finish(empty.get(), sp.data(), 5, &sn, nullptr, 0, &snp),
         COSELECT_EMPTY_POOL);
  coselect_config big{};
  check(coselect_config_init(&big, kC, kRows + 1));
  EXPECT(coselect_select(&big, &F, nullptr, nullptr, 0, 1, picks.data(), 5, &n, nullptr, 0, &np,
                         nullptr),
         COSELECT_BUDGET_EXCEEDS_POOL);
  EXPECT(coselect_select(&cfg, &F, nullptr, nullptr, 0, 1, picks.data(), 1, &n, nullptr, 0, &np,
                         nullptr),
         COSELECT_BUFFER_TOO_SMALL);
  coselect_config old = cfg;
  old.version = 0;
  EXPECT(coselect_select(&old, &F, nullptr, nullptr, 0, 1, picks.data(), 5, &n, nullptr, 0, &np,
                         nullptr),
         COSELECT_UNSUPPORTED_VERSION);
  const uint8_t junk[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  coselect_selector* none = nullptr;
  EXPECT(coselect_selector_from_bytes(junk, sizeof junk, &none), COSELECT_CORRUPT);
  TRUE(none == nullptr);
  coselect_calibration plain{1.0f, 0, 0.0f, 0.0f};
  std::vector<uint32_t> zeros(kC, 0);
  coselect_selector* other_raw = nullptr;
  check(coselect_selector_new(&cfg, zeros.data(), kC, &plain, uniform.data(), &other_raw));
  Selector other(other_raw);
  EXPECT(coselect_selector_merge(empty.get(), other.get()), COSELECT_STATE_MISMATCH);
  EXPECT(coselect_select(&cfg, &F, nullptr, p.labels.data(), kRows, 1, picks.data(), 5, &n, nullptr,
                         0, &np, nullptr),
         COSELECT_MISSING_SMALL_MODEL);
  coselect_config huge{};
  check(coselect_config_init(&huge, 5000, 1));
  std::vector<uint32_t> hc(5000, 0);
  std::vector<float> hp(5000, 0.0f);
  coselect_selector* h = nullptr;
  EXPECT(coselect_selector_new(&huge, hc.data(), 5000, &plain, hp.data(), &h), COSELECT_TOO_LARGE);
  EXPECT(coselect_selector_push(sel.get(), &F, &S, nullptr, 0), COSELECT_FINISHED);
  TRUE(std::string(coselect_status_name(COSELECT_INTERNAL)) == "COSELECT_INTERNAL");

  if (failures) {
    std::fprintf(stderr, "%d failures\n", failures);
    return 1;
  }
  std::printf("C++ ABI test: all checks passed\n");
  return 0;
}
