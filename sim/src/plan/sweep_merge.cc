#include "plan/sweep_merge.h"

#include "plan/curves.h"

#include <fstream>
#include <sstream>

#include "plan/cell_summary.h"
#include "plan/sweep_dir.h"

namespace memext {

namespace {

void flatten(const std::string& prefix, const nlohmann::json& value,
             std::vector<std::pair<std::string, nlohmann::json>>* out) {
  if (value.is_object()) {
    for (const auto& [key, item] : value.items()) {
      flatten(prefix.empty() ? key : prefix + "." + key, item, out);
    }
    return;
  }
  out->emplace_back(prefix, value);
}

std::string csv_field(const nlohmann::json& value) {
  if (value.is_null()) return "";
  std::string text = value.is_string() ? value.get<std::string>() : value.dump();
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

// A row's columns in CSV order.
std::vector<std::pair<std::string, nlohmann::json>> row_columns(const nlohmann::json& axes,
                                                                const nlohmann::json& row) {
  std::vector<std::pair<std::string, nlohmann::json>> columns;
  for (const auto& axis : axes) {
    const std::string name = axis.at("name").get<std::string>();
    columns.emplace_back("flag." + name, row.at("flags").at(name));
  }
  columns.emplace_back("id", row.at("id"));
  for (const auto& [key, value] : row.items()) {
    if (key != "id" && key != "flags") flatten(key, value, &columns);
  }
  return columns;
}

}  // namespace

SweepTable build_sweep_table(const std::string& dir, const SweepSpec& spec) {
  SweepTable table;
  nlohmann::json axes = sweep_spec_to_json(spec).at("axes");
  nlohmann::json rows = nlohmann::json::array();
  for (const SweepCell& cell : spec.cells) {
    if (!cell_finished(dir, cell)) {
      table.missing.push_back(cell.id);
      continue;
    }
    const std::string path = cell_report_path(dir, cell);
    std::ifstream in(path, std::ios::binary);
    nlohmann::json report;
    try {
      report = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
      throw SweepError("cell " + cell.id + ": '" + path + "' is not a report: " + e.what());
    }
    nlohmann::json row = summarize_report(report);
    row["id"] = cell.id;
    nlohmann::json flags = nlohmann::json::object();
    for (const auto& [name, value] : cell.flags) flags[name] = value;
    row["flags"] = flags;
    rows.push_back(std::move(row));
  }
  table.json = {
      {"schema", kSweepTableSchema}, {"trace", spec.trace}, {"axes", axes}, {"rows", rows}};
  if (!table.missing.empty()) table.json["missing"] = table.missing;
  table.json["curves"] = curves_from_rows(table.json["rows"]);
  return table;
}

std::string sweep_table_csv(const nlohmann::json& table) {
  const nlohmann::json& axes = table.at("axes");
  const nlohmann::json& rows = table.at("rows");
  std::ostringstream out;
  std::vector<std::string> header;
  if (rows.empty()) {
    for (const auto& axis : axes) header.push_back("flag." + axis.at("name").get<std::string>());
    header.push_back("id");
  } else {
    for (const auto& [name, value] : row_columns(axes, rows.front())) header.push_back(name);
  }
  for (size_t i = 0; i < header.size(); ++i) out << (i ? "," : "") << header[i];
  out << "\n";
  for (const auto& row : rows) {
    const auto columns = row_columns(axes, row);
    for (size_t i = 0; i < columns.size(); ++i)
      out << (i ? "," : "") << csv_field(columns[i].second);
    out << "\n";
  }
  return out.str();
}

SweepTable merge_sweep(const std::string& dir, const SweepSpec& spec) {
  SweepTable table = build_sweep_table(dir, spec);
  write_file_atomically(dir + "/sweep.json", table.json.dump(1) + "\n");
  write_file_atomically(dir + "/sweep.csv", sweep_table_csv(table.json));
  return table;
}

}  // namespace memext
