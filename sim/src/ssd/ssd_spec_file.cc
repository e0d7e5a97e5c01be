#include "ssd/ssd_spec_file.h"

#include <fstream>
#include <sstream>

namespace memext {

namespace {

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

}  // namespace

std::string read_ssd_spec_file(const std::string& path, std::string* spec) {
  std::ifstream in(path);
  if (!in) return "cannot open SSD spec file '" + path + "'";
  spec->clear();
  std::string line;
  while (std::getline(in, line)) {
    std::string_view text = line;
    if (const auto hash = text.find('#'); hash != std::string_view::npos) {
      text = text.substr(0, hash);
    }
    text = trim(text);
    while (!text.empty() && text.back() == ',') text = trim(text.substr(0, text.size() - 1));
    if (text.empty()) continue;
    if (!spec->empty()) *spec += ',';
    *spec += text;
  }
  if (in.bad()) return "cannot read SSD spec file '" + path + "'";
  if (spec->empty()) return "SSD spec file '" + path + "' holds no spec (only comments or blank)";
  return "";
}

std::string load_ssd_spec_file(const std::string& path, SsdModelParams* params) {
  std::string spec;
  if (std::string error = read_ssd_spec_file(path, &spec); !error.empty()) return error;
  if (std::string error = parse_ssd_model_spec(spec, params); !error.empty()) {
    return "SSD spec file '" + path + "': " + error;
  }
  return "";
}

std::string expand_ssd_spec_file(std::string_view spec, std::string* expanded) {
  constexpr std::string_view kPrefix = "model:";
  std::string_view rest = spec;
  if (rest.starts_with(kPrefix)) rest.remove_prefix(kPrefix.size());
  if (!rest.starts_with('@')) {
    *expanded = std::string(spec);
    return "";
  }
  rest.remove_prefix(1);
  const auto comma = rest.find(',');
  const std::string path(rest.substr(0, comma));
  if (path.empty()) return "'@' needs a file path (model:@DRIVE.spec[,key=value...])";
  std::string text;
  if (std::string error = read_ssd_spec_file(path, &text); !error.empty()) return error;
  if (!text.starts_with(kPrefix)) text = std::string(kPrefix) + text;
  if (comma != std::string_view::npos) text += rest.substr(comma);
  *expanded = std::move(text);
  return "";
}

}  // namespace memext
