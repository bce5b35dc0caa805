#include "sanad/core/ingest/chunking.h"

#include <algorithm>
#include <cstring>
#include <thread>

#include <tbb/parallel_for.h>

namespace sanad::internal {

int ResolveThreads(int threads) {
  if (threads > 0) return threads;
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

int ArenaThreads(int threads) {
  unsigned hw = std::thread::hardware_concurrency();
  int cap = hw == 0 ? 1 : static_cast<int>(hw);
  int t = ResolveThreads(threads);
  return t < cap ? t : cap;
}

size_t ChunkCount(size_t bytes, int threads, size_t min_chunk_bytes) {
  size_t by_size = std::max<size_t>(1, bytes / std::max<size_t>(1, min_chunk_bytes));
  return std::min<size_t>(by_size, static_cast<size_t>(ResolveThreads(threads)) * 2);
}

std::vector<size_t> SplitAtNewlines(std::string_view data, size_t begin, size_t parts, bool csv_quotes) {
  const size_t end = data.size();
  std::vector<size_t> b{begin};
  if (parts <= 1 || end - begin < 2) {
    b.push_back(end);
    return b;
  }
  const size_t step = (end - begin) / parts;
  std::vector<size_t> quotes_before(parts + 1, 0);  // quotes in [begin, begin + k*step)
  if (csv_quotes) {
    std::vector<size_t> per(parts, 0);
    tbb::parallel_for(size_t{0}, parts, [&](size_t k) {
      const char* p = data.data() + begin + k * step;
      const char* e = (k + 1 == parts) ? data.data() + end : p + step;
      per[k] = static_cast<size_t>(std::count(p, e, '"'));
    });
    for (size_t k = 0; k < parts; ++k) quotes_before[k + 1] = quotes_before[k] + per[k];
  }
  for (size_t k = 1; k < parts; ++k) {
    size_t pos = begin + k * step;
    if (pos <= b.back()) pos = b.back();
    size_t quotes = quotes_before[k];
    // Quotes between the nominal split point and pos (pos may have moved forward).
    if (csv_quotes && pos > begin + k * step)
      quotes += static_cast<size_t>(std::count(data.data() + begin + k * step, data.data() + pos, '"'));
    while (pos < end) {
      char c = data[pos];
      if (c == '"') ++quotes;
      if (c == '\n' && (!csv_quotes || quotes % 2 == 0)) break;
      ++pos;
    }
    if (pos >= end) break;
    if (pos + 1 > b.back()) b.push_back(pos + 1);
  }
  if (b.back() != end) b.push_back(end);
  return b;
}

}  // namespace sanad::internal
