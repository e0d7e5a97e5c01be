#include "report/html.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "report/report.h"

namespace memext {

namespace {

constexpr const char* kUsage =
    "usage: memext-sim report FILE.json... [--html OUT.html] [--title TEXT]\n"
    "\n"
    "Reads replay reports (memext-sim-report/1), sweeps (memext-sim-sweep/1, or a\n"
    "sweep DIR holding sweep.json) and plans (plan.json) and writes one\n"
    "self-contained HTML page (no network: the data is embedded and drawn as SVG):\n"
    "  - a sweep: hit and byte-hit ratio against RAM size (-m), flash size\n"
    "    (ext_path_size) and every other axis, with the ceiling no cache size can\n"
    "    pass when the reports carry it, and a table of every cell;\n"
    "  - a report: its figures, warnings, and time series (hit ratios, RAM held,\n"
    "    fragmentation, flash writes and DWPD, pages per bucket);\n"
    "  - a plan: its recommendation (the command line to paste, its figures\n"
    "    against the targets, which target binds, the drive's endurance), every\n"
    "    candidate's cost against hit ratio, the runners-up and the search;\n"
    "  - two or more reports: a side-by-side table of their figures, with the\n"
    "    difference when there are two.\n"
    "Without --html the summary of each report is printed.\n"
    "\n"
    "options:\n"
    "  --html OUT.html   write the page\n"
    "  --title TEXT      the page's title (default: memext-sim report)\n"
    "  -h, --help        this help\n";

nlohmann::json read_json_file(const std::string& given) {
  std::string path = given;
  if (std::filesystem::is_directory(path)) path = (std::filesystem::path(path) / "sweep.json");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  try {
    return nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::parse_error& e) {
    throw std::runtime_error("'" + path + "' is not JSON: " + e.what());
  }
}

const char* kind_name(HtmlDocKind kind) {
  switch (kind) {
    case HtmlDocKind::kReport:
      return "report";
    case HtmlDocKind::kSweep:
      return "sweep";
    case HtmlDocKind::kPlan:
      return "plan";
  }
  return "report";
}

// JSON inside <script>: "</" would end the element; "<\/" is the same JSON.
std::string script_safe(const std::string& json) {
  std::string out;
  out.reserve(json.size());
  for (size_t i = 0; i < json.size(); ++i) {
    out += json[i];
    if (json[i] == '<' && i + 1 < json.size() && json[i + 1] == '/') out += '\\';
  }
  return out;
}

std::string html_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

HtmlDocKind classify_doc(const std::string& name, const nlohmann::json& doc) {
  const std::string schema = doc.is_object() && doc.contains("schema") && doc["schema"].is_string()
                                 ? doc["schema"].get<std::string>()
                                 : std::string();
  if (schema == "memext-sim-report/1") return HtmlDocKind::kReport;
  if (schema == "memext-sim-sweep/1") return HtmlDocKind::kSweep;
  if (schema.starts_with("memext-sim-plan")) return HtmlDocKind::kPlan;
  throw std::invalid_argument(
      "'" + name + "' has schema '" + schema +
      "', which report cannot draw (allowed: memext-sim-report/1, memext-sim-sweep/1, "
      "memext-sim-plan/*)");
}

std::string render_html(const std::vector<HtmlDoc>& docs, const std::string& title) {
  nlohmann::json data = nlohmann::json::array();
  for (const HtmlDoc& d : docs) {
    data.push_back({{"name", d.name}, {"kind", kind_name(d.kind)}, {"doc", d.doc}});
  }
  std::string page = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  page += "<title>" + html_escape(title) + "</title>\n";
  page += html_page_head();
  page += "</head>\n<body>\n<h1>" + html_escape(title) + "</h1>\n<main id=\"page\"></main>\n";
  page += "<script type=\"application/json\" id=\"memext-data\">";
  page += script_safe(data.dump());
  page += "</script>\n<script>\n";
  page += html_page_script();
  page += html_plan_script();
  page += "</script>\n</body>\n</html>\n";
  return page;
}

int report_main(int argc, char** argv) {
  std::vector<std::string> files;
  std::string html_path;
  std::string title = "memext-sim report";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (arg == "--html" || arg == "--title") {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "memext-sim report: %s needs a value\n", arg.c_str());
        return 2;
      }
      (arg == "--html" ? html_path : title) = argv[++i];
    } else if (arg.starts_with("--html=")) {
      html_path = arg.substr(7);
    } else if (arg.starts_with("--title=")) {
      title = arg.substr(8);
    } else if (arg.starts_with("-") && arg != "-") {
      std::fprintf(stderr, "memext-sim report: unknown option %s (see --help)\n", arg.c_str());
      return 2;
    } else {
      files.push_back(arg);
    }
  }
  if (files.empty()) {
    std::fprintf(stderr,
                 "memext-sim report: no input (usage: memext-sim report FILE.json... "
                 "[--html OUT.html])\n");
    return 2;
  }
  std::vector<HtmlDoc> docs;
  try {
    for (const std::string& f : files) {
      HtmlDoc d;
      d.name = f;
      d.doc = read_json_file(f);
      d.kind = classify_doc(f, d.doc);
      docs.push_back(std::move(d));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "memext-sim report: %s\n", e.what());
    return 1;
  }
  if (html_path.empty()) {
    for (const HtmlDoc& d : docs) {
      std::printf("== %s (%s)\n", d.name.c_str(), kind_name(d.kind));
      if (d.kind == HtmlDocKind::kReport) {
        try {
          print_summary(d.doc, stdout);
        } catch (const nlohmann::json::exception& e) {
          std::fprintf(stderr, "memext-sim report: '%s' lacks a figure: %s\n", d.name.c_str(),
                       e.what());
          return 1;
        }
      } else {
        std::printf("(use --html OUT.html to draw it)\n");
      }
    }
    return 0;
  }
  const std::string tmp = html_path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << render_html(docs, title);
    out.close();
    if (!out) {
      std::fprintf(stderr, "memext-sim report: cannot write '%s'\n", html_path.c_str());
      std::filesystem::remove(tmp);
      return 1;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, html_path, ec);
  if (ec) {
    std::fprintf(stderr, "memext-sim report: cannot write '%s': %s\n", html_path.c_str(),
                 ec.message().c_str());
    return 1;
  }
  std::fprintf(stderr, "memext-sim report: wrote %s (%zu document%s)\n", html_path.c_str(),
               docs.size(), docs.size() == 1 ? "" : "s");
  return 0;
}

}  // namespace memext
