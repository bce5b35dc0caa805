#pragma once
/// ReadFileToString: a whole file (or pipe, FIFO, device) as bytes, for rules,
/// reference data, claims and snapshots. I/O errors name the path.

#include <string>

#include "sanad/core/status.h"

namespace sanad {

Result<std::string> ReadFileToString(const std::string& path);

}  // namespace sanad
