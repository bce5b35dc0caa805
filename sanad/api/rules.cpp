#include "sanad/api/rules.h"

#include "sanad/compiler/compiler.h"
#include "sanad/compiler/reference_data.h"
#include "sanad/core/exec/bound_plan.h"
#include "sanad/core/read_file.h"

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

Result<std::unique_ptr<Rules>> Rules::Load(const std::string& path, const std::map<std::string, std::string>& refs) {
  Result<std::unique_ptr<Rules>> r = FromFile(path);
  if (!r.ok()) return r.status();
  std::unique_ptr<Rules> rules = std::move(r).value();
  if (!rules->ok()) return Status::Invalid(path + ": the rules did not compile:\n" + rules->RenderDiagnostics());
  SANAD_RETURN_IF_ERROR(rules->BindReferenceFiles(refs));
  return rules;
}

const Schema& Rules::schema() const {
  static const Schema kStandard = Schema::Standard();
  return plan_ ? plan_->schema : kStandard;
}

std::vector<std::string> Rules::RuleNames() const {
  std::vector<std::string> names;
  if (plan_)
    for (const RulePlan& r : plan_->rules) names.push_back(r.name);
  return names;
}

std::string Rules::RenderDiagnostics() const { return dsl::RenderAll(diags_, *source_); }

Status Rules::BindReferenceFiles(const std::map<std::string, std::string>& refs) {
  if (!plan_) return Status::Invalid("the rule set did not compile");
  for (const auto& [name, path] : refs) SANAD_RETURN_IF_ERROR(compiler::BindReferenceFile(*plan_, name, path));
  return CheckReferencesBound(*plan_);
}

Status Rules::BindReferenceRows(const std::string& name, const std::vector<std::vector<std::string>>& rows) {
  if (!plan_) return Status::Invalid("the rule set did not compile");
  return compiler::BindReferenceRows(*plan_, name, rows, name);
}

}  // namespace sanad
