#include "sanad/core/exec/line_order.h"

#include <algorithm>

namespace sanad {

BigVector<RowIndex> ComputeLineOrder(const ClaimBatch& batch) {
  const RowIndex n = batch.size();
  BigVector<RowIndex> order(n);
  if (n == 0) return order;
  const int32_t* day = batch.column(kServiceDate).codes.data();
  const int64_t* seq = batch.column(kSeq).ints.data();
  const auto [lo_it, hi_it] = std::minmax_element(day, day + n);
  const int64_t lo = *lo_it, range = static_cast<int64_t>(*hi_it) - lo + 1;
  if (range <= static_cast<int64_t>(n) * 4 + 4096) {
    std::vector<RowIndex> start(static_cast<size_t>(range) + 1, 0);
    for (RowIndex r = 0; r < n; ++r) ++start[static_cast<size_t>(day[r] - lo) + 1];
    for (size_t i = 1; i < start.size(); ++i) start[i] += start[i - 1];
    std::vector<RowIndex> pos(start.begin(), start.end() - 1);
    for (RowIndex r = 0; r < n; ++r) order[pos[static_cast<size_t>(day[r] - lo)]++] = r;
    for (size_t d = 0; d + 1 < start.size(); ++d) {
      RowIndex* b = order.data() + start[d];
      RowIndex* e = order.data() + start[d + 1];
      bool sorted = true;
      for (RowIndex* p = b; p + 1 < e && sorted; ++p) sorted = seq[p[0]] <= seq[p[1]];
      if (!sorted) std::stable_sort(b, e, [&](RowIndex x, RowIndex y) { return seq[x] < seq[y]; });
    }
  } else {
    for (RowIndex r = 0; r < n; ++r) order[r] = r;
    std::stable_sort(order.begin(), order.end(), [&](RowIndex x, RowIndex y) {
      return day[x] != day[y] ? day[x] < day[y] : seq[x] < seq[y];
    });
  }
  return order;
}

}  // namespace sanad
