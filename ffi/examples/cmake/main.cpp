// Round 0 of a small pool from C++: with no labels yet, the FM prior alone
// picks one seed per class.
#include <cstdio>
#include <vector>

#include "coselect.h"

int main() {
  if (coselect_abi_version() != COSELECT_ABI_VERSION) {
    std::fprintf(stderr, "coselect ABI %u, built against %u\n", coselect_abi_version(),
                 COSELECT_ABI_VERSION);
    return 1;
  }
  const size_t rows = 6, classes = 3;
  std::vector<float> fm = {4.0f, 0.0f, 0.0f, 0.0f, 4.0f, 0.0f, 3.5f, 0.5f, 0.0f,
                           0.0f, 0.0f, 4.0f, 3.0f, 1.0f, 0.0f, 0.2f, 3.0f, 0.1f};
  coselect_config cfg;
  coselect_config_init(&cfg, classes, 3);
  coselect_matrix m{fm.data(), rows, classes, 0};
  std::vector<coselect_pick> picks(3);
  size_t n = 0, np = 0;
  coselect_status s = coselect_select(&cfg, &m, nullptr, nullptr, 0, 1, picks.data(), picks.size(),
                                      &n, nullptr, 0, &np, nullptr);
  if (s != COSELECT_OK) {
    std::fprintf(stderr, "%s: %s\n", coselect_status_name(s), coselect_last_error());
    return 1;
  }
  std::printf("coselect %s picked:", coselect_version());
  for (size_t i = 0; i < n; i++) std::printf(" row %llu (class %u)", (unsigned long long)picks[i].index, picks[i].class_id);
  std::printf("\n");
  return 0;
}
