#include "plan/sweep_dir.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace memext {

namespace fs = std::filesystem;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SweepError("cannot read '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The first difference between two specs, in words.
std::string spec_difference(const nlohmann::json& old_spec, const nlohmann::json& new_spec) {
  for (const char* key : {"trace", "base_args", "axes", "cells"}) {
    if (old_spec.value(key, nlohmann::json()) != new_spec.value(key, nlohmann::json())) {
      return std::string(key) + " was " + old_spec.value(key, nlohmann::json()).dump() + ", now " +
             new_spec.value(key, nlohmann::json()).dump();
    }
  }
  return "schema differs";
}

}  // namespace

std::string sweep_spec_path(const std::string& dir) {
  return dir + "/sweep_spec.json";
}
std::string cell_dir(const std::string& dir, const SweepCell& cell) {
  return dir + "/cells/" + cell.id;
}
std::string cell_report_path(const std::string& dir, const SweepCell& cell) {
  return cell_dir(dir, cell) + "/report.json";
}
std::string cell_report_temp_path(const std::string& dir, const SweepCell& cell) {
  return cell_dir(dir, cell) + "/report.json.tmp";
}
std::string cell_log_path(const std::string& dir, const SweepCell& cell) {
  return cell_dir(dir, cell) + "/replay.log";
}

void write_file_atomically(const std::string& path, const std::string& text) {
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) throw SweepError("cannot write '" + temp + "'");
  }
  std::error_code ec;
  fs::rename(temp, path, ec);
  if (ec) throw SweepError("cannot rename '" + temp + "' to '" + path + "': " + ec.message());
}

void prepare_sweep_dir(const std::string& dir, const SweepSpec& spec) {
  const nlohmann::json json = sweep_spec_to_json(spec);
  std::error_code ec;
  if (fs::exists(sweep_spec_path(dir), ec)) {
    nlohmann::json old_spec;
    try {
      old_spec = nlohmann::json::parse(read_file(sweep_spec_path(dir)));
    } catch (const nlohmann::json::exception& e) {
      throw SweepError("'" + sweep_spec_path(dir) + "' is not JSON (" + e.what() +
                       "); use another --out or delete it");
    }
    if (old_spec != json) {
      throw SweepError("'" + dir + "' holds a different sweep (" + spec_difference(old_spec, json) +
                       "); a rerun resumes only the same sweep: use another --out, or delete '" +
                       dir + "' to start over");
    }
  } else {
    if (fs::exists(dir, ec) && !fs::is_empty(dir, ec)) {
      throw SweepError("'" + dir +
                       "' exists and is not a sweep directory (no sweep_spec.json); "
                       "give --out a new or empty directory");
    }
    fs::create_directories(dir, ec);
    if (ec) throw SweepError("cannot create '" + dir + "': " + ec.message());
    write_file_atomically(sweep_spec_path(dir), json.dump(1) + "\n");
  }
  for (const SweepCell& cell : spec.cells) {
    fs::create_directories(cell_dir(dir, cell), ec);
    if (ec) throw SweepError("cannot create '" + cell_dir(dir, cell) + "': " + ec.message());
  }
}

SweepSpec load_sweep_spec(const std::string& dir) {
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(read_file(sweep_spec_path(dir)));
  } catch (const nlohmann::json::exception& e) {
    throw SweepError("'" + sweep_spec_path(dir) + "' is not JSON: " + e.what());
  }
  SweepSpec spec;
  if (const std::string error = sweep_spec_from_json(json, &spec); !error.empty()) {
    throw SweepError("'" + sweep_spec_path(dir) + "': " + error);
  }
  return spec;
}

bool cell_finished(const std::string& dir, const SweepCell& cell) {
  std::error_code ec;
  return fs::is_regular_file(cell_report_path(dir, cell), ec);
}

}  // namespace memext
