#include "plan/calibrate_fio.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace memext {

namespace {

using nlohmann::json;

constexpr uint64_t kDefaultSpan = 1ull << 30;

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The job's options over the global ones; fio writes every value as text.
std::string option(const json& job, const json& global, const char* name, std::string fallback) {
  for (const json* options : {&job, &global}) {
    if (options->is_object()) {
      auto it = options->find(name);
      if (it != options->end() && it->is_string()) return it->get<std::string>();
    }
  }
  return fallback;
}

uint64_t option_uint(const json& job, const json& global, const char* name, uint64_t fallback,
                     const std::string& where) {
  const std::string text = option(job, global, name, "");
  if (text.empty()) return fallback;
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    throw std::invalid_argument(where + ": " + name + "='" + text + "' is not an integer");
  }
  return value;
}

uint32_t block_size(std::string_view text, const std::string& where) {
  uint64_t bytes = 0;
  if (!parse_fio_size(text, &bytes) || bytes == 0 || bytes > (1u << 30)) {
    throw std::invalid_argument(where + ": block size '" + std::string(text) +
                                "' is not a size between 1 byte and 1 GiB");
  }
  return static_cast<uint32_t>(bytes);
}

FioSide side(const json& figures) {
  FioSide out;
  if (!figures.is_object()) return out;
  out.ios = figures.value("total_ios", uint64_t{0});
  if (out.ios == 0) return out;
  out.iops = figures.value("iops", 0.0);
  out.bytes_per_s = figures.value("bw_bytes", figures.value("bw", 0.0) * 1024.0);
  const json* lat = nullptr;
  for (const char* key : {"lat_ns", "clat_ns"}) {
    auto it = figures.find(key);
    if (it != figures.end() && it->is_object() && it->contains("mean")) {
      lat = &*it;
      break;
    }
  }
  out.lat_mean_ns = lat != nullptr ? (*lat)["mean"].get<double>() : 0.0;
  return out;
}

bool synchronous_engine(std::string_view engine) {
  return engine == "sync" || engine == "psync" || engine == "vsync" || engine == "pvsync" ||
         engine == "pvsync2";
}

FioJob parse_job(const json& job, const json& global, const std::string& source) {
  FioJob out;
  out.name = job.value("jobname", std::string("?"));
  out.source = source;
  const std::string where = source + ": job '" + out.name + "'";
  if (job.value("error", 0) != 0) {
    throw std::invalid_argument(where + ": fio reports error " +
                                std::to_string(job.value("error", 0)) + " for this job");
  }
  const json empty = json::object();
  const json& options = job.contains("job options") ? job["job options"] : empty;

  std::string rw =
      lower(option(options, global, "rw", option(options, global, "readwrite", "read")));
  rw = rw.substr(0, rw.find(':'));
  if (rw == "read" || rw == "randread") {
    out.read_fraction = 1;
  } else if (rw == "write" || rw == "randwrite") {
    out.read_fraction = 0;
  } else if (rw == "rw" || rw == "readwrite" || rw == "randrw") {
    uint64_t mix = option_uint(options, global, "rwmixread", 50, where);
    if (option(options, global, "rwmixread", "").empty()) {
      mix = 100 - std::min<uint64_t>(100, option_uint(options, global, "rwmixwrite", 50, where));
    }
    out.read_fraction = static_cast<double>(std::min<uint64_t>(mix, 100)) / 100.0;
  } else {
    throw std::invalid_argument(where + ": rw=" + rw +
                                " is not modelled (allowed: read, write, randread, randwrite, "
                                "rw, readwrite, randrw)");
  }
  out.random = rw.starts_with("rand");

  // The model answers a closed loop (a new IO the moment one completes);
  // paced or idle jobs measure something else.
  for (const char* paced : {"rate", "rate_iops", "rate_min", "thinktime"}) {
    const std::string value = option(options, global, paced, "");
    if (!value.empty() && value != "0") {
      throw std::invalid_argument(where + ": " + paced + "=" + value +
                                  " is not modelled (calibrate needs jobs that keep iodepth "
                                  "IOs in flight)");
    }
  }
  for (const char* unsupported : {"bssplit", "bsrange", "blocksize_range"}) {
    if (!option(options, global, unsupported, "").empty()) {
      throw std::invalid_argument(where + ": " + unsupported +
                                  " is not modelled (use one bs, or bs=READ,WRITE)");
    }
  }
  const std::string bs = option(options, global, "bs", option(options, global, "blocksize", "4k"));
  const auto comma = bs.find(',');
  out.read_bs = block_size(std::string_view(bs).substr(0, comma), where);
  out.write_bs = out.read_bs;
  if (comma != std::string::npos) {
    std::string_view rest = std::string_view(bs).substr(comma + 1);
    rest = rest.substr(0, rest.find(','));
    if (!rest.empty()) out.write_bs = block_size(rest, where);
  }

  const std::string engine = lower(option(options, global, "ioengine", "psync"));
  const uint64_t iodepth =
      synchronous_engine(engine) ? 1 : option_uint(options, global, "iodepth", 1, where);
  const uint64_t numjobs = option_uint(options, global, "numjobs", 1, where);
  if (iodepth == 0 || numjobs == 0 || iodepth * numjobs > 65536) {
    throw std::invalid_argument(where + ": iodepth x numjobs must be 1..65536");
  }
  out.depth = static_cast<uint32_t>(iodepth * numjobs);

  uint64_t span = 0;
  const std::string size = option(options, global, "size", "");
  if (size.empty() || !parse_fio_size(size, &span) || span == 0) span = kDefaultSpan;
  out.span_bytes = span;

  out.read = side(job.value("read", json()));
  out.write = side(job.value("write", json()));
  if (out.read.ios == 0 && out.write.ios == 0) {
    throw std::invalid_argument(where + ": the job completed no reads or writes");
  }
  return out;
}

}  // namespace

bool parse_fio_size(std::string_view text, uint64_t* bytes) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end == text.data()) return false;
  std::string suffix = lower(std::string_view(end, text.data() + text.size() - end));
  if (suffix.ends_with("ib")) suffix.erase(suffix.size() - 2);
  if (suffix.ends_with("b")) suffix.pop_back();
  uint64_t scale = 1;
  if (suffix == "k") {
    scale = 1ull << 10;
  } else if (suffix == "m") {
    scale = 1ull << 20;
  } else if (suffix == "g") {
    scale = 1ull << 30;
  } else if (suffix == "t") {
    scale = 1ull << 40;
  } else if (!suffix.empty()) {
    return false;
  }
  if (value > UINT64_MAX / scale) return false;
  *bytes = value * scale;
  return true;
}

std::vector<FioJob> parse_fio_json(std::string_view text, const std::string& source) {
  // fio may print notes before the document.
  size_t start = 0;
  while (start < text.size() && text[start] != '{') {
    const size_t eol = text.find('\n', start);
    if (eol == std::string_view::npos) {
      start = text.size();
      break;
    }
    start = eol + 1;
  }
  json doc;
  try {
    doc = json::parse(text.substr(start));
  } catch (const json::exception& e) {
    throw std::invalid_argument(source + ": not fio JSON output (" + e.what() +
                                "); run fio with --output-format=json");
  }
  if (!doc.is_object() || !doc.contains("jobs") || !doc["jobs"].is_array()) {
    throw std::invalid_argument(source +
                                ": no \"jobs\" array; not the output of fio --output-format=json");
  }
  const json global = doc.value("global options", json::object());
  std::vector<FioJob> jobs;
  std::map<std::string, int> entries_per_name;
  for (const json& job : doc["jobs"]) {
    jobs.push_back(parse_job(job, global, source));
    ++entries_per_name[jobs.back().name];
  }
  // numjobs clones without group_reporting come as one entry each, and each
  // entry's figures are then a share of what the clones did together.
  for (const json& job : doc["jobs"]) {
    const json empty = json::object();
    const json& options = job.contains("job options") ? job["job options"] : empty;
    const std::string name = job.value("jobname", std::string("?"));
    if (option_uint(options, global, "numjobs", 1, source) > 1 && entries_per_name[name] > 1) {
      throw std::invalid_argument(source + ": job '" + name +
                                  "' has numjobs > 1 reported one clone at a time; rerun fio "
                                  "with group_reporting");
    }
  }
  if (jobs.empty()) throw std::invalid_argument(source + ": fio output has no jobs");
  return jobs;
}

std::vector<FioJob> read_fio_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("cannot open fio output '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_fio_json(text.str(), path);
}

}  // namespace memext
