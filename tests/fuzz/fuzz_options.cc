// Fuzzes the command-line parsers: memext-server's (memcached's flags and
// `-o` sub-options, server/src/config.*), memext-sim replay's (sim_options.*)
// and the engine's -o parser underneath both (memext/options.h). The input
// is split at NUL and newline bytes into argv words; the word after each
// "-o" also goes through apply_memcached_suboptions on its own.
//
// Checked beyond the sanitizers: a parser either accepts or answers with its
// own error (ConfigError, an error string; memext-sim's main also catches
// Boost's po::error) and never lets anything else escape; an accepted
// configuration builds its slab class table (what -vv prints and the engine
// constructs first) and passes validate_config or names why not.
#include <boost/program_options/errors.hpp>
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "config.h"
#include "fuzz_util.h"
#include "memext/options.h"
#include "memext/slabs.h"
#include "replay/sim_options.h"

using namespace memext;

namespace {

std::vector<std::string> split_words(std::string_view input) {
  std::vector<std::string> words;
  size_t start = 0;
  for (size_t i = 0; i <= input.size(); ++i) {
    if (i == input.size() || input[i] == '\0' || input[i] == '\n') {
      words.emplace_back(input.substr(start, i - start));
      start = i + 1;
    }
  }
  return words;
}

void check_accepted(const EngineConfig& engine) {
  if (!validate_config(engine).empty()) return;
  SlabClassTable table(engine);
  fuzz_check(table.largest() >= 1, "an accepted config has no slab class");
  for (uint32_t id = 1; id <= table.largest(); ++id) {
    fuzz_check(table[id].size > 0 && table[id].perslab > 0, "an empty slab class");
  }
}

void fuzz_server(const std::vector<std::string>& words) {
  std::vector<const char*> argv{"memext-server"};
  for (const std::string& w : words) argv.push_back(w.c_str());
  server::ServerConfig config;
  std::ostringstream out;
  try {
    if (server::parse_command_line(static_cast<int>(argv.size()), argv.data(), config, out) ==
        server::CommandLineAction::kRun) {
      check_accepted(config.engine);
      server::slab_class_table_text(config.engine);
    }
  } catch (const server::ConfigError& e) {
    fuzz_check(std::string_view(e.what()).size() > 0, "an empty ConfigError");
  }
}

void fuzz_sim(const std::vector<std::string>& words) {
  std::vector<const char*> argv{"replay"};
  for (const std::string& w : words) argv.push_back(w.c_str());
  SimOptions options;
  try {
    if (parse_sim_options(static_cast<int>(argv.size()), argv.data(), &options).empty() &&
        !options.help) {
      check_accepted(options.engine);
    }
  } catch (const boost::program_options::error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::vector<std::string> words = split_words(input);
  fuzz_server(words);
  fuzz_sim(words);
  for (size_t i = 0; i + 1 < words.size(); ++i) {
    if (words[i] != "-o") continue;
    EngineConfig engine;
    const OptionResult r = apply_memcached_suboptions(engine, words[i + 1]);
    if (r.ok()) {
      check_accepted(engine);
    } else {
      fuzz_check(!r.error.empty(), "a refused -o without a message");
    }
  }
  return 0;
}
