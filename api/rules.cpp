#include "api/rules.h"

#include "compiler/compiler.h"
#include "compiler/reference_data.h"
#include "core/read_file.h"

namespace sanad {

std::unique_ptr<Rules> Rules::FromText(std::string name, std::string text) {
  auto r = std::unique_ptr<Rules>(new Rules());
  r->source_ = std::make_unique<dsl::SourceFile>(std::move(name), std::move(text));
  compiler::CompileResult c = compiler::CompileSource(*r->source_);
  r->diags_ = std::move(c.diagnostics);
  r->plan_ = std::move(c.plan);
  return r;
}

Result<std::unique_ptr<Rules>> Rules::FromFile(const std::string& path) {
  Result<std::string> text = ReadFileToString(path);
  if (!text.ok()) return text.status();
  return FromText(path, std::move(text).value());
}

std::string Rules::RenderDiagnostics() const { return dsl::RenderAll(diags_, *source_); }

Status Rules::BindReferenceFiles(const std::map<std::string, std::string>& refs) {
  if (!plan_) return Status::Invalid("the rule set did not compile");
  for (const auto& [name, path] : refs) SANAD_RETURN_IF_ERROR(compiler::BindReferenceFile(*plan_, name, path));
  return compiler::CheckReferencesBound(*plan_);
}

Status Rules::BindReferenceRows(const std::string& name, const std::vector<std::vector<std::string>>& rows) {
  if (!plan_) return Status::Invalid("the rule set did not compile");
  return compiler::BindReferenceRows(*plan_, name, rows, name);
}

}  // namespace sanad
