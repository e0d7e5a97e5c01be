#include "traces/trace_csv.h"

#include <cctype>

namespace memext {

std::vector<std::string> split_header(std::string_view line) {
  std::vector<std::string> names;
  size_t start = 0;
  for (;;) {
    size_t comma = line.find(',', start);
    std::string name(trim_spaces(line.substr(start, comma - start)));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    names.push_back(std::move(name));
    if (comma == std::string_view::npos) return names;
    start = comma + 1;
  }
}

}  // namespace memext
