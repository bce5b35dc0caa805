#pragma once
/// Reference data for `external` sets, tables and pairs (DATA.md §3): CSV
/// files without a header (a set has one column, a table two (key, value),
/// pairs two (first_code, second_code)), or values handed over in memory.
/// Malformed data is a load error naming the object and the CSV line.

#include <string>
#include <utility>
#include <vector>

#include "sanad/core/exec/plan.h"
#include "sanad/core/status.h"

namespace sanad::compiler {

/// Binds external object `name` of `plan` from CSV text (`origin` names the file in errors).
Status BindReferenceCsv(Plan& plan, const std::string& name, std::string_view csv, const std::string& origin);
/// Reads `path` and binds it.
Status BindReferenceFile(Plan& plan, const std::string& name, const std::string& path);

/// In-memory binding (Python): every value as text, parsed by the object's types.
Status BindReferenceRows(Plan& plan, const std::string& name, const std::vector<std::vector<std::string>>& rows,
                         const std::string& origin);


}  // namespace sanad::compiler
