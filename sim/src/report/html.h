// report/html.h — `memext-sim report FILE... --html OUT.html`: one
// self-contained page (no network) drawn from replay reports, sweep.json
// files and plan.json files alone: sweep curves with the ceiling, a report's
// time series, the plan's recommendation, and a side-by-side diff of two
// reports. The documents are embedded as JSON and drawn into inline SVG by
// the page's own script (html_page.cc); every figure carries its values as
// data-* attributes so a test can compare them with the JSON.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace memext {

enum class HtmlDocKind { kReport, kSweep, kPlan };

struct HtmlDoc {
  std::string name;  // the path as given, shown as the document's title
  HtmlDocKind kind = HtmlDocKind::kReport;
  nlohmann::json doc;
};

// What a document is, from its "schema" (memext-sim-report/1,
// memext-sim-sweep/1, any memext-sim-plan schema). Throws
// std::invalid_argument naming the file and the schemas allowed.
HtmlDocKind classify_doc(const std::string& name, const nlohmann::json& doc);

// The whole page. Deterministic: the same documents give the same bytes.
std::string render_html(const std::vector<HtmlDoc>& docs, const std::string& title);

// The page's template: style and script, with the data's place marked; the
// plan section's script (html_plan.cc) is appended to the page's.
const char* html_page_head();
const char* html_page_script();
const char* html_plan_script();

// argv[0] is "report". 0 success, 1 unreadable input or output, 2 bad
// command line.
int report_main(int argc, char** argv);

}  // namespace memext
